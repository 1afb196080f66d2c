//! Share links (`platform::auth::links`): `POST /api/v1/mp3s/{id}/links` `{"expires_in"}` →
//! `201 {"url", "expires_at"}` for the owner, and the URL, `GET /api/v1/mp3s/{id}/shared
//! ?expires=E&sig=S`, downloads the MP3 (as an attachment) with no token until `expires_at`:
//! a tampered link is 403 `invalid_link`, an expired one 410 `link_expired`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use platform::auth::AuthUser;
use platform::auth::links::LinkError;
use platform::http::api_doc::{ErrorBody, TokenChecked};
use platform::http::{AppError, Json};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::{DownloadState, Mp3Sent, mp3_info, owned_mp3, send_mp3};

/// The longest a link may live: 30 days.
const MAX_EXPIRES_IN: u64 = 30 * 24 * 3600;

#[derive(Deserialize, ToSchema)]
pub struct NewLink {
    /// Seconds the link works for, 1 to 2592000 (30 days).
    expires_in: u64,
}

/// A share link.
#[derive(Serialize, ToSchema)]
pub struct Link {
    /// Downloads the MP3 with no `Authorization` until `expires_at`.
    url: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// `POST /api/v1/mp3s/{id}/links`.
#[utoipa::path(post, path = "/api/v1/mp3s/{id}/links", tag = "mp3s", operation_id = "create_share_link", security(("bearer" = [])),
    params(("id" = String, Path, description = "The MP3's id.")),
    request_body = NewLink,
    responses(
        (status = 201, description = "The link.", body = Link),
        (status = 400, description = "`invalid_expires_in` or `invalid_json`.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such MP3 of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
pub async fn create(
    State(state): State<DownloadState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NewLink>,
) -> Result<(StatusCode, Json<Link>), AppError> {
    if !(1..=MAX_EXPIRES_IN).contains(&body.expires_in) {
        return Err(AppError::bad_request(
            "invalid_expires_in",
            format!("expires_in must be from 1 to {MAX_EXPIRES_IN} seconds (30 days)"),
        ));
    }
    owned_mp3(&state, &user, &id).await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let expires = now.saturating_add(body.expires_in as i64);
    let expires_at =
        OffsetDateTime::from_unix_timestamp(expires).map_err(AppError::internal)?.format(&Rfc3339).map_err(AppError::internal)?;
    let signature = state.links.sign(&id, expires);
    let base = state.public_url.clone().unwrap_or_else(|| request_base(&headers));
    let url = format!("{base}/api/v1/mp3s/{id}/shared?expires={expires}&sig={signature}");
    Ok((StatusCode::CREATED, Json(Link { url, expires_at })))
}

/// Where the request was sent: `X-Forwarded-Proto` (a proxy's, e.g. Knative's ingress) or
/// http, and `Host`.
fn request_base(headers: &HeaderMap) -> String {
    let value =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or_default().trim().to_owned());
    let scheme = value("x-forwarded-proto").filter(|s| s == "https" || s == "http").unwrap_or_else(|| "http".into());
    let host = value("host").filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into());
    format!("{scheme}://{host}")
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// From the link: when it expires (Unix seconds).
    #[param(value_type = Option<i64>)]
    expires: Option<String>,
    /// From the link: its signature.
    sig: Option<String>,
}

/// `GET`/`HEAD /api/v1/mp3s/{id}/shared?expires=&sig=`: no token, the link is the credential.
#[utoipa::path(get, path = "/api/v1/mp3s/{id}/shared", tag = "mp3s", operation_id = "download_shared", security(()),
    params(("id" = String, Path, description = "The MP3's id."), LinkQuery),
    responses(
        Mp3Sent,
        (status = 403, description = "`invalid_link`: the link was altered or is incomplete.", body = ErrorBody),
        (status = 404, description = "`not_found`: the MP3 is gone.", body = ErrorBody),
        (status = 410, description = "`link_expired`.", body = ErrorBody),
        (status = 503, description = "`unavailable`: the blob store failed.", body = ErrorBody),
    ))]
pub async fn download(
    State(state): State<DownloadState>,
    Path(id): Path<String>,
    Query(query): Query<LinkQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let invalid = || AppError::new(StatusCode::FORBIDDEN, "invalid_link", "this share link is not valid");
    let expires = query.expires.and_then(|e| e.parse::<i64>().ok()).ok_or_else(invalid)?;
    let signature = query.sig.ok_or_else(invalid)?;
    match state.links.verify(&id, expires, &signature, OffsetDateTime::now_utc().unix_timestamp()) {
        Ok(()) => {}
        Err(LinkError::Invalid) => return Err(invalid()),
        Err(LinkError::Expired) => return Err(AppError::new(StatusCode::GONE, "link_expired", "this share link has expired")),
    }
    let info = mp3_info(&state, &id).await?;
    send_mp3(&state, &info, &id, &method, &headers, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_the_proxys_scheme_and_the_host() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "mp3.example.com".parse().unwrap());
        assert_eq!(request_base(&headers), "http://mp3.example.com");
        headers.insert("x-forwarded-proto", "https, http".parse().unwrap());
        assert_eq!(request_base(&headers), "https://mp3.example.com");
        headers.insert("x-forwarded-proto", "javascript".parse().unwrap());
        assert_eq!(request_base(&headers), "http://mp3.example.com");
    }
}
