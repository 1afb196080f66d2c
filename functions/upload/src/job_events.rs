//! The Broker's deliveries to the function that owns the jobs (eventing/triggers.yaml and
//! the Broker's dead-letter sink in eventing/broker.yaml):
//!
//! - `POST /events/job-status`: `mp3convert.mp3.converted` / `mp3convert.conversion.failed`
//!   record a job's outcome if it is not recorded yet (the converter records it itself; this
//!   makes the events the source of truth for anything the converter could not write).
//! - `POST /events/dead-letter`: an event whose delivery failed for good, with the Broker's
//!   `knativeerrordest`/`knativeerrorcode` extensions. A `video.uploaded` there means its
//!   conversion will never run: the job is marked failed (`delivery_failed`), so the user
//!   sees an answer instead of a job queued forever.
//!
//! Both answer 200 for events they have nothing to do with (retrying would not help) and 503
//! when the job store is down (retrying will). Both take only events the platform signed
//! (`platform::event_bus::signature`): anything else is 401 `invalid_signature`, logged and
//! counted, and changes no job. (An unsigned dead letter, of another system's event, leaves
//! its job to the re-drive.)

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use cloudevents::{AttributesReader, Event};
use platform::event_bus::parse_data;
use platform::event_bus::signature::{self, EventKey};
use platform::http::{AppError, metrics};
use platform::job_store::JobStore;
use platform::model::{ConversionFailed, JobError, Mp3Converted, VideoUploaded, event_types};

#[derive(Clone)]
struct JobEvents {
    jobs: Arc<dyn JobStore>,
    /// `None` only in dev mode: nothing is checked.
    key: Option<EventKey>,
}

pub fn router(jobs: Arc<dyn JobStore>, key: Option<EventKey>) -> Router {
    Router::new()
        .route("/events/job-status", post(job_status))
        .route("/events/dead-letter", post(dead_letter))
        .with_state(JobEvents { jobs, key })
}

async fn job_status(State(JobEvents { jobs, key }): State<JobEvents>, event: Event) -> Result<StatusCode, AppError> {
    metrics::add(&metrics::EVENTS_RECEIVED, 1);
    signature::check(key.as_ref(), &event)?;
    let recorded = match event.ty() {
        event_types::MP3_CONVERTED => {
            let data: Mp3Converted = data(&event)?;
            jobs.succeed(&data.job_id, None, &data.mp3_id, data.duration_ms, data.bytes).await
        }
        event_types::CONVERSION_FAILED => {
            let data: ConversionFailed = data(&event)?;
            jobs.fail(&data.job_id, None, &JobError { code: data.code, message: data.message }).await
        }
        other => return Err(AppError::bad_request("unexpected_event_type", format!("/events/job-status does not take {other}"))),
    };
    let recorded = recorded.map_err(AppError::unavailable)?;
    tracing::info!(ce_id = event.id(), ce_type = event.ty(), recorded, "job status event");
    Ok(StatusCode::OK)
}

async fn dead_letter(State(JobEvents { jobs, key }): State<JobEvents>, event: Event) -> Result<StatusCode, AppError> {
    metrics::add(&metrics::EVENTS_RECEIVED, 1);
    signature::check(key.as_ref(), &event)?;
    let destination = extension(&event, "knativeerrordest").unwrap_or_else(|| "the subscriber".to_owned());
    let code = extension(&event, "knativeerrorcode").unwrap_or_else(|| "unknown".to_owned());
    if event.ty() != event_types::VIDEO_UPLOADED {
        tracing::warn!(ce_id = event.id(), ce_type = event.ty(), destination, code, "dead letter: nothing to do for this type");
        return Ok(StatusCode::OK);
    }
    let data: VideoUploaded = data(&event)?;
    let job_id = data.job_id_or_derived(event.source().as_str(), event.id());
    let error = JobError {
        code: "delivery_failed".into(),
        message: format!("the conversion could not be delivered: {destination} answered {code} until the retries ran out"),
    };
    let failed = jobs.fail(&job_id, None, &error).await.map_err(AppError::unavailable)?;
    tracing::warn!(ce_id = event.id(), job_id, destination, code, failed, "dead letter: video.uploaded");
    Ok(StatusCode::OK)
}

fn data<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, AppError> {
    parse_data(event.data()).map_err(|e| AppError::bad_request("invalid_event_data", format!("{} data: {e}", event.ty())))
}

fn extension(event: &Event, name: &str) -> Option<String> {
    event.extension(name).map(|value| value.to_string())
}
