//! `mp3convert-upload`: the upload function on its own (Knative Service or AWS Lambda). It
//! sends `mp3convert.video.uploaded` to `K_SINK` (the Broker) or onto RabbitMQ, and takes
//! the Broker's job-status and dead-letter deliveries on `/events/*`, and the re-drive's and
//! the retention sweep's schedules.

use std::sync::Arc;

use platform::auth::{TokenVerifier, keys};
use platform::runtime::{Backends, Function};
use upload::redrive::Redrive;
use upload::retention::Sweeper;

const EVENT_SOURCE: &str = "/mp3convert/upload";

fn main() -> std::process::ExitCode {
    platform::runtime::main("mp3convert-upload", |config, stopping| async move {
        let backends = Backends::for_function(&config);
        let verifier = Arc::new(TokenVerifier::new(&keys::load_public(&config)?, &config.jwt_issuer)?);
        let event_key = backends.event_key()?;
        let events = backends.event_bus(event_key.clone())?;
        let blobs = backends.blob_store().await?;
        let jobs = backends.job_store().await?;
        let router = upload::router(upload::UploadState {
            blobs: blobs.clone(),
            jobs: jobs.clone(),
            events: events.clone(),
            verifier,
            max_upload_bytes: config.max_upload_bytes,
            quota_bytes: config.limits.quota_bytes,
            max_queued_jobs: config.limits.max_queued_jobs,
            default_preset: config.default_preset.to_string(),
            event_source: EVENT_SOURCE.into(),
            pending: Default::default(),
        })
        .merge(upload::job_events::router(jobs.clone(), event_key));
        // On Knative a PingSource posts /events/sweep (eventing/retention.yaml); no timer here.
        let sweeper = Sweeper::new(blobs, jobs.clone(), config.retention);
        let redrive = Redrive { jobs, events, event_source: EVENT_SOURCE.into(), after: config.redrive_after };
        // A Lambda function runs only while invoked: there a schedule posts /events/redrive.
        if !config.lambda {
            redrive.clone().spawn_timer(stopping);
        }
        let router = router.merge(upload::redrive::router(redrive)).merge(upload::retention::router(sweeper));
        Ok(Function { router, ready: backends.readiness() })
    })
}
