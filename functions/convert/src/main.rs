//! `mp3convert-convert`: the converter on its own, a CloudEvents sink (`POST /`) that a
//! Knative Trigger feeds with `mp3convert.video.uploaded` (Knative Service or AWS Lambda).

use std::sync::Arc;

use convert::ConvertState;
use platform::event_bus::memory::MemoryEventBus;
use platform::runtime::{Backends, Function};

fn main() -> std::process::ExitCode {
    platform::runtime::main("mp3convert-convert", |config| async move {
        let backends = Backends::for_function(&config);
        let state = ConvertState {
            blobs: backends.blob_store().await?,
            jobs: backends.job_store().await?,
            // The outcome event is the HTTP reply (the Broker re-publishes it); nothing else
            // is sent from here.
            events: Arc::new(MemoryEventBus::new()),
            event_source: "/mp3convert/convert".into(),
            lease: config.job_lease,
        };
        Ok(Function { router: convert::router(state), ready: backends.readiness() })
    })
}
