//! `mp3convert-convert`: the converter on its own, a CloudEvents sink (`POST /`) that a
//! Knative Trigger feeds with `mp3convert.video.uploaded` (Knative Service or AWS Lambda).

use std::sync::Arc;

use convert::ConvertState;
use platform::event_bus::memory::MemoryEventBus;
use platform::runtime::{Backends, Function};

fn main() -> std::process::ExitCode {
    // Each conversion runs in a worker process: this same binary, started with this argument.
    if std::env::args().nth(1).as_deref() == Some(media::isolate::WORKER_ARG) {
        return media::isolate::worker_main();
    }
    platform::runtime::main("mp3convert-convert", |config, stopping| async move {
        let backends = Backends::for_function(&config);
        let state = ConvertState {
            blobs: backends.blob_store().await?,
            jobs: backends.job_store().await?,
            // The outcome event is the HTTP reply (the Broker re-publishes it); nothing else
            // is sent from here.
            events: Arc::new(MemoryEventBus::new()),
            event_source: "/mp3convert/convert".into(),
            event_key: backends.event_key()?,
            lease: config.job_lease,
            sandbox: Some(config.limits.sandbox()?),
            max_duration: config.limits.max_duration,
            encode_threads: config.limits.encode_threads,
            stopping: stopping.clone(),
        };
        Ok(Function { router: convert::router(state), ready: backends.readiness() })
    })
}
