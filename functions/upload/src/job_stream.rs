//! `GET /api/v1/jobs/{id}/events`: a job's changes as server-sent events. The first message
//! is the job as it is; then one per change of status or progress (the converter records
//! progress every 1%), and the stream ends after `succeeded` or `failed`. Each message's data
//! is the job JSON of `GET /api/v1/jobs/{id}`.
//!
//! The stream reads the job store, which both forms share (the all-in-one's SQLite, the
//! functions' MongoDB), every [`POLL`]; so it needs no link to the converter and works behind
//! any number of upload replicas. A client cut off (a proxy's time limit, a restart) opens it
//! again and gets the current state first: browsers' `EventSource` does that by itself.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use platform::auth::AuthUser;
use platform::http::api_doc::{ErrorBody, TokenChecked};
use platform::http::{AppError, Path};
use platform::job_store::JobStore;
use platform::model::{Job, JobStatus};

use crate::UploadState;

/// How often the job store is read for changes.
pub const POLL: Duration = Duration::from_millis(100);

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "Server-sent events: each `data:` is the job JSON of `GET /api/v1/jobs/{id}`; the stream ends after `succeeded` or `failed`.", body = String, content_type = "text/event-stream"),
        (status = 404, description = "`not_found`: no such job of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
pub async fn job_events(State(state): State<UploadState>, user: AuthUser, Path(id): Path<String>) -> Result<impl IntoResponse, AppError> {
    match state.jobs.get(&id).await.map_err(AppError::unavailable)? {
        Some(job) if job.owner_id == user.id => {
            let events = Sse::new(changes(state.jobs.clone(), job)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE));
            // nginx (the ingress) would otherwise buffer the stream.
            Ok(([(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"))], events))
        }
        _ => Err(AppError::not_found("job")),
    }
}

/// What the stream has sent so far.
struct Watch {
    jobs: std::sync::Arc<dyn JobStore>,
    job_id: String,
    /// The job to send next, if already read.
    next: Option<Job>,
    /// The status and progress last sent.
    sent: Option<(JobStatus, f32)>,
}

/// `first`, then every change of the job, up to and including its end. A store that stops
/// answering ends the stream (the client opens it again).
fn changes(jobs: std::sync::Arc<dyn JobStore>, first: Job) -> impl Stream<Item = Result<Event, Infallible>> {
    let watch = Watch { jobs, job_id: first.job_id.clone(), next: Some(first), sent: None };
    stream::unfold(watch, |mut watch| async move {
        if watch.sent.is_some_and(|(status, _)| status.is_finished()) {
            return None;
        }
        loop {
            let job = match watch.next.take() {
                Some(job) => job,
                None => {
                    tokio::time::sleep(POLL).await;
                    match watch.jobs.get(&watch.job_id).await {
                        Ok(Some(job)) => job,
                        Ok(None) => return None,
                        Err(e) => {
                            tracing::warn!(job_id = %watch.job_id, error = %e, "job events: the job store did not answer; ending the stream");
                            return None;
                        }
                    }
                }
            };
            let now = (job.status, job.progress);
            if watch.sent != Some(now) {
                watch.sent = Some(now);
                let event = Event::default().json_data(&job).unwrap_or_else(|_| Event::default().comment("unencodable job"));
                return Some((Ok(event), watch));
            }
        }
    })
}
