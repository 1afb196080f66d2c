//! The upload function: videos in, conversion jobs out.
//!
//! - `POST /upload` (seed-compatible multipart) and `POST /api/v1/videos` (multipart or raw
//!   body, presets, `Idempotency-Key`): stream the file to the blob store, create a job,
//!   emit `mp3convert.video.uploaded`.
//! - `GET /api/v1/jobs` (in pages), `GET /api/v1/jobs/{id}`: the caller's jobs;
//!   [`job_stream`]: `GET /api/v1/jobs/{id}/events`, one job's changes as server-sent events.
//! - `DELETE /api/v1/videos/{id}`.
//! - [`job_events`]: `POST /events/*`, the Broker's job-status and dead-letter deliveries.
//! - [`redrive`]: `POST /events/redrive` and a timer: queued jobs whose announcement was
//!   lost are announced again.
//! - [`retention`]: `POST /events/sweep` and a timer: files past `MP3CONVERT_VIDEO_TTL_SECS`
//!   or `MP3CONVERT_MP3_TTL_SECS` are deleted.
//!
//! [`incoming`] turns a request body into one checked file stream; [`multipart`] bounds
//! multipart framing (part headers, part count) before multer reads it; [`sniff`] rejects
//! what is clearly not audio or video; [`quota`] holds the per-user limits.

mod incoming;
pub mod job_events;
mod job_stream;
mod multipart;
mod quota;
pub mod redrive;
pub mod retention;
mod routes;
mod sniff;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use platform::auth::TokenVerifier;
use platform::blob_store::BlobStore;
use platform::event_bus::EventBus;
use platform::job_store::JobStore;
pub use quota::Pending;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct UploadState {
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<dyn JobStore>,
    pub events: Arc<dyn EventBus>,
    pub verifier: Arc<TokenVerifier>,
    pub max_upload_bytes: u64,
    /// Bytes of videos and MP3s one user may keep (0: no quota).
    pub quota_bytes: u64,
    /// Jobs one user may have queued or processing (0: no limit).
    pub max_queued_jobs: u64,
    pub default_preset: String,
    /// CloudEvents `source` of the events this function emits.
    pub event_source: String,
    /// Uploads being received, per user (they count towards `max_queued_jobs`).
    pub pending: quota::Pending,
}

impl FromRef<UploadState> for Arc<TokenVerifier> {
    fn from_ref(state: &UploadState) -> Self {
        state.verifier.clone()
    }
}

/// The public routes, each with its description (the `/events/*` sinks are the Broker's, not
/// the API's).
fn routes() -> OpenApiRouter<UploadState> {
    OpenApiRouter::new()
        .routes(routes!(routes::seed_upload))
        .routes(routes!(routes::create_video))
        .routes(routes!(routes::delete_video))
        .routes(routes!(routes::list_jobs))
        .routes(routes!(routes::get_job))
        .routes(routes!(job_stream::job_events))
}

pub fn router(state: UploadState) -> Router {
    routes()
        .split_for_parts()
        .0
        // The upload size limit is enforced while streaming, per file; see `incoming`.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// This function's part of the OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}
