//! Upload and job routes.

use axum::extract::multipart::Field;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use futures_util::TryStreamExt;
use platform::auth::AuthUser;
use platform::blob_store::{BlobError, BlobMeta, Bucket, IncomingStream};
use platform::http::api_doc::{ErrorBody, TokenChecked};
use platform::http::{AppError, Json, Path, Query, metrics};
use platform::job_store::{JobStoreError, PageRequest};
use platform::model::{Job, JobError, JobStatus, NewJob};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::incoming::{clean_filename, field_stream, multipart_error, sniffed, store_error};
use crate::multipart::{self, MAX_FIELD_BYTES};
use crate::{UploadState, quota};

/// Multipart framing around the file; a `Content-Length` beyond limit + this is refused at once.
const MULTIPART_SLACK: u64 = 64 * 1024;

/// A multipart body: one part with a file name is the video; other parts are skipped.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

/// The seed's answer to an upload.
#[derive(Serialize, ToSchema)]
pub struct SeedAccepted {
    /// The stored video's id.
    video_fid: String,
    job_id: String,
}

/// `POST /upload`: the seed's multipart upload; answers `{"video_fid", "job_id"}`.
#[utoipa::path(post, path = "/upload", tag = "seed", security(("bearer" = [])),
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The video is stored and its job queued.", body = SeedAccepted),
        UploadRefusals,
        TokenChecked,
    ))]
pub async fn seed_upload(State(state): State<UploadState>, user: AuthUser, request: Request) -> Result<impl IntoResponse, AppError> {
    refuse_oversized(request.headers(), state.max_upload_bytes + MULTIPART_SLACK, state.max_upload_bytes)?;
    let preset = state.default_preset.clone();
    let job = accept_multipart(&state, &user, request, preset, None).await?;
    Ok(Json(SeedAccepted { video_fid: job.video_id, job_id: job.job_id }))
}

/// What an upload may be refused with, besides a bad token.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum UploadRefusals {
    /// `missing_file`, `too_many_files`, `invalid_multipart`, `field_too_large`,
    /// `invalid_body` (the body broke off) or `invalid_idempotency_key`.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// `too_large` (over `MP3CONVERT_MAX_UPLOAD_BYTES`) or `quota_exceeded`.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: not multipart or a raw media type, or clearly not audio or video.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// `too_many_jobs`: as many jobs queued or converting as allowed; see `Retry-After`.
    #[response(status = 429)]
    TooManyJobs(ErrorBody),
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VideoQuery {
    /// The video's name, for a raw body (a multipart part carries its own).
    filename: Option<String>,
    /// `v0`..`v9` (VBR quality) or `cbr32`..`cbr320`; the server's default otherwise.
    preset: Option<String>,
}

/// An accepted upload.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    job_id: String,
    video_id: String,
    status: JobStatus,
}

/// `POST /api/v1/videos`: multipart or raw body; answers `202 {"job_id", "video_id", "status"}`.
#[utoipa::path(post, path = "/api/v1/videos", tag = "videos", security(("bearer" = [])),
    params(
        VideoQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key answers the first upload's job."),
    ),
    request_body(description = "multipart/form-data with one file part, or the raw file.", content(
        (inline(UploadForm) = "multipart/form-data"),
        ("video/*"),
        ("audio/*"),
        ("application/octet-stream"),
    )),
    responses(
        (status = 202, description = "The video is stored and its job queued (or the job of an earlier request with this `Idempotency-Key`).", body = Accepted),
        (status = 422, description = "`invalid_preset`.", body = ErrorBody),
        UploadRefusals,
        TokenChecked,
    ))]
pub async fn create_video(
    State(state): State<UploadState>,
    user: AuthUser,
    Query(query): Query<VideoQuery>,
    request: Request,
) -> Result<impl IntoResponse, AppError> {
    let headers = request.headers().clone();
    let preset = match query.preset {
        Some(p) => p
            .parse::<media::Preset>()
            .map_err(|_| {
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_preset", format!("{p:?} is not a preset (v0..v9, cbr32..cbr320)"))
            })?
            .to_string(),
        None => state.default_preset.clone(),
    };
    let key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| AppError::bad_request("invalid_idempotency_key", "the Idempotency-Key must be ASCII"))
        })
        .transpose()?;
    if let Some(key) = &key
        && let Some(job) = state.jobs.find_by_idempotency_key(&user.id, key).await.map_err(AppError::unavailable)?
    {
        return Ok(accepted(&job));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let job = if content_type.starts_with("multipart/form-data") {
        refuse_oversized(&headers, state.max_upload_bytes + MULTIPART_SLACK, state.max_upload_bytes)?;
        accept_multipart(&state, &user, request, preset, key).await?
    } else if is_raw_media_type(&content_type) {
        refuse_oversized(&headers, state.max_upload_bytes, state.max_upload_bytes)?;
        let filename = clean_filename(query.filename.as_deref());
        let stream: IncomingStream<'static> = Box::pin(request.into_body().into_data_stream().map_err(std::io::Error::other));
        let file = Upload { filename, content_type, stream: sniffed(stream).await? };
        accept(&state, &user, file, preset, key).await?
    } else {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send multipart/form-data with one file, or the raw file as video/*, audio/* or application/octet-stream",
        ));
    };
    Ok(accepted(&job))
}

fn accepted(job: &Job) -> (StatusCode, Json<Accepted>) {
    (StatusCode::ACCEPTED, Json(Accepted { job_id: job.job_id.clone(), video_id: job.video_id.clone(), status: job.status }))
}

fn is_raw_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence.starts_with("video/") || essence.starts_with("audio/") || essence == "application/octet-stream"
}

/// 413 before reading anything when the declared length is already over the limit.
fn refuse_oversized(headers: &HeaderMap, max_declared: u64, limit: u64) -> Result<(), AppError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > max_declared => Err(store_error(BlobError::TooLarge { limit })),
        _ => Ok(()),
    }
}

struct Upload<'a> {
    filename: String,
    content_type: String,
    stream: IncomingStream<'a>,
}

/// Stores the one file part of a multipart body (bounded by [`multipart`]); a second file
/// part, too many parts or an oversized field is a 400 and undoes the upload.
async fn accept_multipart(
    state: &UploadState,
    user: &AuthUser,
    request: Request,
    preset: String,
    key: Option<String>,
) -> Result<Job, AppError> {
    let (mut multipart, verdict) = multipart::open(request).await?;
    // When the scanner stopped the body, its refusal is the answer, not the read error it
    // caused further down.
    let refused = |e: AppError| verdict.get().map(AppError::from).unwrap_or(e);
    let job = loop {
        let Some(mut field) = multipart.next_field().await.map_err(multipart_error).map_err(refused)? else {
            return Err(AppError::bad_request("missing_file", "the multipart body has no file part"));
        };
        if field.file_name().is_none() {
            skip_field(&mut field).await.map_err(refused)?;
            continue;
        }
        let filename = clean_filename(field.file_name());
        let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
        let file = Upload { filename, content_type, stream: sniffed(field_stream(field)).await.map_err(refused)? };
        break accept(state, user, file, preset, key).await.map_err(refused)?;
    };
    let rest = async {
        while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
            if field.file_name().is_some() {
                return Err(AppError::bad_request("too_many_files", "send exactly one file part"));
            }
            skip_field(&mut field).await?;
        }
        Ok(())
    };
    if let Err(e) = rest.await.map_err(refused) {
        // Undo: the job never runs and its video is gone.
        let _ = state.blobs.delete(Bucket::Videos, &job.video_id).await;
        let _ = state.jobs.fail(&job.job_id, None, &JobError { code: e.code.into(), message: e.message.clone() }).await;
        return Err(e);
    }
    Ok(job)
}

/// Reads past a part that is not the file, refusing one larger than [`MAX_FIELD_BYTES`].
async fn skip_field(field: &mut Field<'_>) -> Result<(), AppError> {
    let mut size = 0;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len();
        if size > MAX_FIELD_BYTES {
            return Err(AppError::bad_request(
                "field_too_large",
                format!("a form field other than the file is over {MAX_FIELD_BYTES} bytes"),
            ));
        }
    }
    Ok(())
}

/// Stores the video, records the job and announces it (or leaves that to the re-drive).
async fn accept(state: &UploadState, user: &AuthUser, file: Upload<'_>, preset: String, key: Option<String>) -> Result<Job, AppError> {
    let video_id = platform::new_id();
    let meta = BlobMeta {
        owner_id: user.id.clone(),
        content_type: file.content_type,
        filename: file.filename.clone(),
        video_id: None,
        job_id: None,
    };
    let admitted = quota::admit(state, &user.id).await?;
    let stored =
        state.blobs.put(Bucket::Videos, &video_id, meta, file.stream, admitted.max_bytes).await.map_err(|e| admitted.store_error(e))?;
    let new_job = NewJob {
        job_id: platform::new_id(),
        video_id: video_id.clone(),
        owner_id: user.id.clone(),
        filename: file.filename,
        preset,
        idempotency_key: key.clone(),
    };
    let job = match state.jobs.create(&new_job).await {
        Ok(job) => job,
        Err(JobStoreError::Duplicate) => {
            // A concurrent request with the same Idempotency-Key won: keep only its video.
            let _ = state.blobs.delete(Bucket::Videos, &video_id).await;
            let key = key.unwrap_or_default();
            return state
                .jobs
                .find_by_idempotency_key(&user.id, &key)
                .await
                .map_err(AppError::unavailable)?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate job without a match")));
        }
        Err(e) => {
            let _ = state.blobs.delete(Bucket::Videos, &video_id).await;
            return Err(AppError::unavailable(e));
        }
    };
    // The job now counts itself.
    drop(admitted);
    fault_point_after_job_create().await;
    // The job is the outbox: if it cannot be announced now, the re-drive announces it later.
    if let Err(e) = crate::redrive::announce(state.events.as_ref(), &state.event_source, &job).await {
        tracing::warn!(job_id = %job.job_id, error = %e, "the job is accepted but not announced yet; the re-drive will announce it");
        metrics::add(&metrics::UPLOADS_UNANNOUNCED, 1);
    }
    metrics::add(&metrics::UPLOADS, 1);
    metrics::add(&metrics::UPLOADED_BYTES, stored.size);
    tracing::info!(job_id = %job.job_id, video_id = %job.video_id, bytes = stored.size, "video accepted");
    Ok(job)
}

/// With the `fault-injection` feature and `MP3CONVERT_FAULT_POINT=after_job_create`, an upload
/// stops here, between recording its job and announcing it, until the process is killed: a
/// test's way to kill -9 it at exactly that point.
async fn fault_point_after_job_create() {
    #[cfg(feature = "fault-injection")]
    if std::env::var("MP3CONVERT_FAULT_POINT").as_deref() == Ok("after_job_create") {
        tracing::warn!("fault point after_job_create reached: waiting to be killed");
        std::future::pending::<()>().await;
    }
}

/// A page of jobs.
#[derive(Serialize, ToSchema)]
pub struct JobPage {
    /// Newest first.
    jobs: Vec<Job>,
    /// The `cursor` of the next page; `null` on the last.
    next: Option<String>,
}

/// `GET /api/v1/jobs?limit=N&cursor=C`: a page of the caller's jobs, newest first, and the `next` page's cursor.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])), params(JobsQuery), responses(
    (status = 200, description = "A page of the caller's jobs.", body = JobPage),
    (status = 400, description = "`invalid_limit` or `invalid_cursor`.", body = ErrorBody),
    TokenChecked,
))]
pub async fn list_jobs(
    State(state): State<UploadState>,
    user: AuthUser,
    Query(query): Query<JobsQuery>,
) -> Result<impl IntoResponse, AppError> {
    let page = query.page()?;
    let found = state.jobs.list_for_owner(&user.id, page).await.map_err(AppError::unavailable)?;
    Ok(Json(JobPage { jobs: found.jobs, next: found.next.map(|seq| seq.to_string()) }))
}

/// A page of jobs unless told otherwise.
pub const DEFAULT_PAGE: usize = 50;
/// The longest page a client may ask for.
pub const MAX_PAGE: usize = 200;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// Jobs per page, 1 to 200 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// The `next` of the page before; opaque.
    cursor: Option<String>,
}

impl JobsQuery {
    fn page(&self) -> Result<PageRequest, AppError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => text.parse().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(|| {
                AppError::bad_request("invalid_limit", format!("limit must be a whole number from 1 to {MAX_PAGE}, not {text:?}"))
            })?,
        };
        // A cursor is the `next` of an earlier page; clients treat it as opaque.
        let before = match self.cursor.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<i64>().ok().filter(|seq| *seq > 0).ok_or_else(|| {
                AppError::bad_request("invalid_cursor", "cursor must be the `next` of an earlier page of GET /api/v1/jobs")
            })?),
        };
        Ok(PageRequest { before, limit })
    }
}

/// `GET /api/v1/jobs/{id}`.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id.")),
    responses(
        (status = 200, description = "The job.", body = Job),
        (status = 404, description = "`not_found`: no such job of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
pub async fn get_job(State(state): State<UploadState>, user: AuthUser, Path(id): Path<String>) -> Result<impl IntoResponse, AppError> {
    match state.jobs.get(&id).await.map_err(AppError::unavailable)? {
        Some(job) if job.owner_id == user.id => Ok(Json(job)),
        _ => Err(AppError::not_found("job")),
    }
}

/// `DELETE /api/v1/videos/{id}`.
#[utoipa::path(delete, path = "/api/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = String, Path, description = "The video's id.")),
    responses(
        (status = 204, description = "The video is deleted."),
        (status = 404, description = "`not_found`: no such video of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
pub async fn delete_video(State(state): State<UploadState>, user: AuthUser, Path(id): Path<String>) -> Result<impl IntoResponse, AppError> {
    match state.blobs.stat(Bucket::Videos, &id).await {
        Ok(info) if info.meta.owner_id == user.id => {}
        Ok(_) | Err(BlobError::NotFound) => return Err(AppError::not_found("video")),
        Err(e) => return Err(AppError::unavailable(e)),
    }
    match state.blobs.delete(Bucket::Videos, &id).await {
        Ok(()) | Err(BlobError::NotFound) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(AppError::unavailable(e)),
    }
}
