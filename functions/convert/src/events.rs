//! `POST /`: the convert function as a CloudEvents sink (contract §3), as a Knative Trigger
//! delivers `mp3convert.video.uploaded` (binary or structured mode).
//!
//! Delivery is at-least-once, also concurrently: the job is claimed under a lease, so one
//! delivery converts while a duplicate waits for its outcome, and every delivery gets the
//! same reply event (same id). 5xx only when trying again can help.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use cloudevents::AttributesReader;
use platform::event_bus::{parse_data, signature};
use platform::http::{AppError, metrics};
use platform::job_store::{Claim, JobStoreError};
use platform::model::{Job, NewJob, VideoUploaded, event_types};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ConvertState;
use crate::run::{Outcome, finished_outcome, outcome_event, run_job};

/// How long a duplicate delivery waits for the delivery that holds the job.
const WAIT_FOR_HOLDER: Duration = Duration::from_secs(280);

pub fn router(state: ConvertState) -> Router {
    Router::new().route("/", post(receive)).with_state(state)
}

/// A CloudEvent (binary or structured mode) from a body within axum's default body limit;
/// anything else is a JSON error (the SDK's own extractor reads a body of any size and
/// answers plain text).
struct CloudEvent(cloudevents::Event);

impl<S: Send + Sync> FromRequest<S> for CloudEvent {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", rejection.body_text()),
            _ => AppError::bad_request("invalid_body", rejection.body_text()),
        })?;
        cloudevents::binding::http::to_event(&headers, body.to_vec())
            .map(CloudEvent)
            .map_err(|e| AppError::bad_request("invalid_event", format!("the request is not a CloudEvent: {e}")))
    }
}

async fn receive(State(state): State<ConvertState>, CloudEvent(event): CloudEvent) -> Result<cloudevents::Event, AppError> {
    metrics::add(&metrics::EVENTS_RECEIVED, 1);
    let reply = handle(&state, event).await?;
    metrics::add(&metrics::EVENTS_ANSWERED, 1);
    Ok(reply)
}

async fn handle(state: &ConvertState, event: cloudevents::Event) -> Result<cloudevents::Event, AppError> {
    if event.ty() != event_types::VIDEO_UPLOADED {
        return Err(AppError::bad_request(
            "unexpected_event_type",
            format!("this function takes {}, not {}", event_types::VIDEO_UPLOADED, event.ty()),
        ));
    }
    // Another system's event is unsigned (the owner check guards it); a signed one must be ours.
    if event.extension(signature::EXTENSION).is_some() {
        signature::check(state.event_key.as_ref(), &event)?;
    }
    let data: VideoUploaded = parse_data(event.data())
        .map_err(|e| AppError::bad_request("invalid_event_data", format!("the event data is not video.uploaded data: {e}")))?;
    let job_id = data.job_id_or_derived(event.source().as_str(), event.id());
    tracing::info!(ce_id = event.id(), ce_source = %event.source(), job_id, "video.uploaded received");
    ensure_job(state, &job_id, &data).await?;
    let outcome = convert_once(state, &job_id).await?;
    let mut reply =
        outcome_event(&state.event_source, &outcome).ok_or_else(|| AppError::internal(anyhow::anyhow!("no reply for a retry")))?;
    reply.signature = state.event_key.as_ref().map(|key| key.sign(&reply));
    reply.into_cloudevent([]).map_err(|e| AppError::internal(anyhow::anyhow!(e)))
}

async fn ensure_job(state: &ConvertState, job_id: &str, data: &VideoUploaded) -> Result<(), AppError> {
    let existing = match state.jobs.get(job_id).await.map_err(AppError::unavailable)? {
        Some(job) => job,
        None => {
            let new_job = NewJob {
                job_id: job_id.to_owned(),
                video_id: data.video_id.clone(),
                owner_id: data.owner_id.clone(),
                filename: data.filename.clone(),
                preset: data.preset.clone(),
                idempotency_key: None,
            };
            match state.jobs.create(&new_job).await {
                Ok(job) => job,
                Err(JobStoreError::Duplicate) => {
                    state.jobs.get(job_id).await.map_err(AppError::unavailable)?.ok_or_else(|| AppError::not_found("job"))?
                }
                Err(e) => return Err(AppError::unavailable(e)),
            }
        }
    };
    if existing.video_id != data.video_id || existing.owner_id != data.owner_id {
        return Err(AppError::bad_request("job_mismatch", "the event's video or owner differs from its job's"));
    }
    Ok(())
}

/// Claims and converts the job, or waits for whoever holds it; finished jobs replay their outcome.
async fn convert_once(state: &ConvertState, job_id: &str) -> Result<Outcome, AppError> {
    let deadline = Instant::now() + WAIT_FOR_HOLDER;
    loop {
        match state.jobs.claim(job_id, state.lease).await.map_err(AppError::unavailable)? {
            Claim::Claimed(job) => {
                return match run_attached(state, job).await? {
                    Outcome::Retry(reason) => Err(AppError::unavailable(anyhow::anyhow!("conversion interrupted: {reason}"))),
                    // Another delivery holds the job now: answer as a duplicate would, with the
                    // recorded outcome if there is one.
                    Outcome::Superseded => match state.jobs.get(job_id).await.map_err(AppError::unavailable)? {
                        Some(job) => finished_outcome(&job).ok_or_else(in_progress),
                        None => Err(AppError::not_found("job")),
                    },
                    outcome => Ok(outcome),
                };
            }
            Claim::Finished(job) => {
                return finished_outcome(&job).ok_or_else(|| AppError::internal(anyhow::anyhow!("finished job without outcome")));
            }
            Claim::NotFound => return Err(AppError::not_found("job")),
            Claim::Busy(_) if Instant::now() >= deadline => return Err(in_progress()),
            Claim::Busy(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Runs the claimed job for as long as its delivery waits: if the request goes away (the
/// Broker's timeout, a dropped connection) the conversion is cancelled and the job re-queued
/// for the redelivery, so that nothing converts detached from any request.
async fn run_attached(state: &ConvertState, job: Job) -> Result<Outcome, AppError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let _cancel_when_dropped = CancelOnDrop(cancel.clone());
    let state = state.clone();
    let run = tokio::spawn(async move {
        let outcome = run_job(&state, &job, cancel).await;
        if let Outcome::Retry(reason) = &outcome {
            tracing::info!(job_id = %job.job_id, reason, "conversion cut short; the job is re-queued");
            let _ = state.jobs.requeue(&job.job_id, job.claim).await;
        }
        outcome
    });
    run.await.map_err(|e| AppError::internal(anyhow::anyhow!("the conversion task failed: {e}")))
}

/// Sets its flag when dropped: when the handler's future is dropped with its request.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn in_progress() -> AppError {
    AppError::new(StatusCode::SERVICE_UNAVAILABLE, "in_progress", "another delivery is converting this job; retry later")
}
