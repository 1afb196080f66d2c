//! `mp3convert-download`: the download function on its own (Knative Service or AWS Lambda).

use std::sync::Arc;

use platform::auth::{TokenVerifier, keys};
use platform::runtime::{Backends, Function};

fn main() -> std::process::ExitCode {
    platform::runtime::main("mp3convert-download", |config, _stopping| async move {
        let backends = Backends::for_function(&config);
        let verifier = Arc::new(TokenVerifier::new(&keys::load_public(&config)?, &config.jwt_issuer)?);
        let blobs = backends.blob_store().await?;
        let links = platform::auth::links::load(&config)?;
        let router = download::router(download::DownloadState { blobs, verifier, links, public_url: config.public_url.clone() });
        Ok(Function { router, ready: backends.readiness() })
    })
}
