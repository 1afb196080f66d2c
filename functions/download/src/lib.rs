//! The download function: the caller's MP3s out, streamed, with `Range`, `ETag` and `HEAD`.
//!
//! - `GET /download?fid=` (seed-compatible, as an attachment named after the video),
//! - `GET`/`HEAD /api/v1/mp3s/{id}`, `DELETE /api/v1/mp3s/{id}`,
//! - share links (see [`links`]): `POST /api/v1/mp3s/{id}/links` makes one, and
//!   `GET`/`HEAD /api/v1/mp3s/{id}/shared?expires=&sig=` downloads with it, no token needed.
//!
//! [`range`] parses `Range` headers.

mod links;
mod range;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::auth::links::LinkKey;
use platform::auth::{AuthUser, TokenVerifier};
use platform::blob_store::{BlobError, BlobInfo, BlobStore, Bucket};
use platform::http::api_doc::{ErrorBody, TokenChecked};
use platform::http::{AppError, metrics};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::range::ByteRange;

#[derive(Clone)]
pub struct DownloadState {
    pub blobs: Arc<dyn BlobStore>,
    pub verifier: Arc<TokenVerifier>,
    /// Signs and checks share links.
    pub links: LinkKey,
    /// The base of the links handed out (`MP3CONVERT_PUBLIC_URL`); `None`: the request's host.
    pub public_url: Option<String>,
}

impl FromRef<DownloadState> for Arc<TokenVerifier> {
    fn from_ref(state: &DownloadState) -> Self {
        state.verifier.clone()
    }
}

/// The routes, each with its description.
fn routes() -> OpenApiRouter<DownloadState> {
    OpenApiRouter::new()
        .routes(routes!(seed_download))
        .routes(routes!(get_mp3, delete_mp3))
        .routes(routes!(links::create))
        .routes(routes!(links::download))
}

pub fn router(state: DownloadState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// This function's part of the OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// An MP3's bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, content_media_type = "audio/mpeg")]
#[allow(dead_code)]
struct Mp3File(Vec<u8>);

/// How an MP3 is sent, whichever route sends it (`HEAD` answers the same, without the body).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum Mp3Sent {
    /// The MP3 (`audio/mpeg`; no body for `HEAD`), with `ETag` and `Accept-Ranges: bytes`.
    #[response(status = 200, content_type = "audio/mpeg")]
    Whole(#[to_schema] Mp3File),
    /// The bytes of the `Range` asked for, with `Content-Range`.
    #[response(status = 206, content_type = "audio/mpeg")]
    Partial(#[to_schema] Mp3File),
    /// `If-None-Match` names the MP3's `ETag`.
    #[response(status = 304)]
    NotModified,
    /// `range_not_satisfiable`, with `Content-Range: bytes */SIZE`.
    #[response(status = 416)]
    RangeNotSatisfiable(ErrorBody),
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DownloadQuery {
    /// The MP3's id (`mp3_id` of the job).
    fid: Option<String>,
}

/// `GET /download?fid=MP3_ID`: the seed's download, as an attachment.
#[utoipa::path(get, path = "/download", tag = "seed", security(("bearer" = [])), params(DownloadQuery), responses(
    Mp3Sent,
    (status = 400, description = "`missing_fid`.", body = ErrorBody),
    (status = 404, description = "`not_found`: no such MP3 of the caller's.", body = ErrorBody),
    TokenChecked,
))]
async fn seed_download(
    State(state): State<DownloadState>,
    user: AuthUser,
    Query(query): Query<DownloadQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let fid =
        query.fid.filter(|f| !f.is_empty()).ok_or_else(|| AppError::bad_request("missing_fid", "the fid query parameter is required"))?;
    let info = owned_mp3(&state, &user, &fid).await?;
    send_mp3(&state, &info, &fid, &method, &headers, true).await
}

/// `GET`/`HEAD /api/v1/mp3s/{id}`.
#[utoipa::path(get, path = "/api/v1/mp3s/{id}", tag = "mp3s", security(("bearer" = [])),
    params(("id" = String, Path, description = "The MP3's id (`mp3_id` of the job).")),
    responses(
        Mp3Sent,
        (status = 404, description = "`not_found`: no such MP3 of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
async fn get_mp3(
    State(state): State<DownloadState>,
    user: AuthUser,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let info = owned_mp3(&state, &user, &id).await?;
    send_mp3(&state, &info, &id, &method, &headers, false).await
}

/// `DELETE /api/v1/mp3s/{id}`.
#[utoipa::path(delete, path = "/api/v1/mp3s/{id}", tag = "mp3s", security(("bearer" = [])),
    params(("id" = String, Path, description = "The MP3's id.")),
    responses(
        (status = 204, description = "The MP3 is deleted."),
        (status = 404, description = "`not_found`: no such MP3 of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
async fn delete_mp3(State(state): State<DownloadState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    owned_mp3(&state, &user, &id).await?;
    match state.blobs.delete(Bucket::Mp3s, &id).await {
        Ok(()) | Err(BlobError::NotFound) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(AppError::unavailable(e)),
    }
}

/// The MP3's info if it exists and belongs to `user`; 404 otherwise, whichever it is.
async fn owned_mp3(state: &DownloadState, user: &AuthUser, id: &str) -> Result<BlobInfo, AppError> {
    match mp3_info(state, id).await? {
        info if info.meta.owner_id == user.id => Ok(info),
        _ => Err(AppError::not_found("mp3")),
    }
}

/// The MP3's info, whoever owns it; 404 if there is none.
async fn mp3_info(state: &DownloadState, id: &str) -> Result<BlobInfo, AppError> {
    match state.blobs.stat(Bucket::Mp3s, id).await {
        Ok(info) => Ok(info),
        Err(BlobError::NotFound) => Err(AppError::not_found("mp3")),
        Err(e) => Err(AppError::unavailable(e)),
    }
}

/// The MP3 `id` (described by `info`) as the answer to a GET or HEAD, honouring `Range` and
/// `If-None-Match`.
async fn send_mp3(
    state: &DownloadState,
    info: &BlobInfo,
    id: &str,
    method: &Method,
    headers: &HeaderMap,
    attachment: bool,
) -> Result<Response, AppError> {
    let etag = HeaderValue::from_str(&info.etag).map_err(AppError::internal)?;
    let mut response = Response::builder()
        .header(header::ETAG, etag.clone())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, "audio/mpeg");
    if attachment {
        response = response.header(header::CONTENT_DISPOSITION, content_disposition(&info.meta.filename));
    }
    if if_none_match(headers, &info.etag) {
        return response.status(StatusCode::NOT_MODIFIED).body(Body::empty()).map_err(AppError::internal);
    }
    let (status, range) = match range::parse(headers.get(header::RANGE), info.size) {
        ByteRange::Whole => (StatusCode::OK, 0..info.size),
        ByteRange::Partial(range) => {
            let content_range = format!("bytes {}-{}/{}", range.start, range.end - 1, info.size);
            response = response.header(header::CONTENT_RANGE, content_range);
            (StatusCode::PARTIAL_CONTENT, range)
        }
        ByteRange::Unsatisfiable => {
            let error = AppError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", "the range is outside the file");
            let mut error = error.into_response();
            let value = HeaderValue::from_str(&format!("bytes */{}", info.size)).map_err(AppError::internal)?;
            error.headers_mut().insert(header::CONTENT_RANGE, value);
            return Ok(error);
        }
    };
    response = response.status(status).header(header::CONTENT_LENGTH, range.end - range.start);
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        metrics::add(&metrics::DOWNLOADS, 1);
        let stream = state.blobs.read(Bucket::Mp3s, id, range).await.map_err(|e| match e {
            BlobError::NotFound => AppError::not_found("mp3"),
            e => AppError::unavailable(e),
        })?;
        Body::from_stream(stream)
    };
    response.body(body).map_err(AppError::internal)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// `attachment; filename="<stem>.mp3"` with a UTF-8 `filename*` for non-ASCII names.
fn content_disposition(filename: &str) -> HeaderValue {
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).filter(|c| *c != '"' && *c != '\\').collect();
    let encoded: String = filename
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_safe_for_any_name() {
        assert_eq!(content_disposition("clip.mp3"), "attachment; filename=\"clip.mp3\"; filename*=UTF-8''clip.mp3");
        let value = content_disposition("é \"x\".mp3");
        assert_eq!(value, "attachment; filename=\"_ x.mp3\"; filename*=UTF-8''%C3%A9%20%22x%22.mp3");
    }

    #[test]
    fn if_none_match_matches_lists_and_star() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, "\"a\", \"b\"".parse().unwrap());
        assert!(if_none_match(&headers, "\"b\""));
        assert!(!if_none_match(&headers, "\"c\""));
        headers.insert(header::IF_NONE_MATCH, "*".parse().unwrap());
        assert!(if_none_match(&headers, "\"c\""));
    }
}
