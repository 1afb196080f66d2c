//! `mp3convert-notify`: the notify function on its own (Knative Service). It takes the
//! Broker's job-ended deliveries and the PingSource's ticks on `/events/*` ([`notify::events`])
//! and serves `/api/v1/webhooks`; deliveries run on a loop while it is up.

use std::sync::Arc;

use platform::auth::{TokenVerifier, keys};
use platform::runtime::{Backends, Function};

fn main() -> std::process::ExitCode {
    platform::runtime::main("mp3convert-notify", |config, stopping| async move {
        let backends = Backends::for_function(&config);
        let verifier = Arc::new(TokenVerifier::new(&keys::load_public(&config)?, &config.jwt_issuer)?);
        let event_key = backends.event_key()?;
        let webhooks = backends.webhook_store().await?;
        let deliverer = notify::Deliverer::new(webhooks.clone(), &config.webhooks);
        let state = notify::NotifyState {
            webhooks,
            jobs: backends.job_store().await?,
            verifier,
            deliverer: deliverer.clone(),
            allow_loopback: config.webhooks.allow_loopback,
        };
        // A Lambda function runs only while invoked: there a schedule posts /events/deliver.
        if !config.lambda {
            deliverer.spawn(stopping);
        }
        let router = notify::router(state.clone()).merge(notify::events::router(state, event_key));
        Ok(Function { router, ready: backends.readiness() })
    })
}
