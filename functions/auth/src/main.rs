//! `mp3convert-auth`: the auth function on its own (Knative Service or AWS Lambda), with the
//! web page.

use std::sync::Arc;

use platform::auth::{TokenSigner, keys};
use platform::runtime::{Backends, Function};

fn main() -> std::process::ExitCode {
    platform::runtime::main("mp3convert-auth", |config, _stopping| async move {
        let backends = Backends::for_function(&config);
        let keys = keys::load(&config)?;
        let signer = Arc::new(TokenSigner::new(&keys.private_pem, &config.jwt_issuer, config.token_ttl)?);
        let users = backends.user_store().await?;
        // The public host's front door also serves the web page.
        let router = auth::router(auth::AuthState::new(users, signer, config.signup_open, &config.limits)).merge(web::router());
        Ok(Function { router, ready: backends.readiness() })
    })
}
