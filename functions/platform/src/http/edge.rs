//! What every request passes through around its route ([`router`]): bounded request heads,
//! the minimum body rate, the total time limit, a JSON 404 for unknown routes, and JSON for
//! every error answer, whoever produced it (axum's rejections answer plain text or nothing).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

use super::AppError;
use super::rate::MinRate;
use crate::config::Limits;

/// The most of a plain-text error body that is kept as the JSON error's message.
const MAX_MESSAGE_BYTES: usize = 4096;

/// `router` with the edge around it, as [`serve`](super::serve) serves it.
pub fn router(router: Router, limits: &Limits) -> Router {
    router
        .fallback(no_route)
        .layer(from_fn_with_state(limits.request_timeout, time_limit))
        .layer(from_fn_with_state(limits.min_upload_bps, min_rate))
        .layer(from_fn_with_state(limits.max_header_bytes, bounded_head))
        .layer(from_fn(json_errors))
}

/// Only the JSON 404 and JSON errors: for AWS Lambda, where the API gateway buffers the
/// request and bounds its time.
pub fn lambda_router(router: Router) -> Router {
    router.fallback(no_route).layer(from_fn(json_errors))
}

/// The requests that `MP3CONVERT_REQUEST_TIMEOUT_SECS` does not bound: uploads
/// (`POST /upload`, `POST /api/v1/videos`) take as long as their body takes, which the
/// minimum upload rate bounds instead; the convert function's `POST /` is a conversion,
/// bounded by its own time budget. Every other request must be answered in time.
///
/// The limit is on producing the answer's head: a download then streams for as long as the
/// client keeps reading (the write-stall timeout cuts one that stops).
pub fn is_long_request(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path, "/upload" | "/api/v1/videos" | "/")
}

async fn no_route(method: Method, uri: Uri) -> AppError {
    let path: String = uri.path().chars().take(200).collect();
    AppError::new(StatusCode::NOT_FOUND, "not_found", format!("no route for {method} {path}"))
}

async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if is_long_request(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, path, limit_secs = limit.as_secs(), "request timed out");
            let message = format!("the request was not answered within {} s", limit.as_secs());
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "request_timeout", message).into_response()
        }
    }
}

/// Meters the body (see [`MinRate`]); a handler's error answer to a body cut off for
/// slowness becomes `408 upload_too_slow`, whatever the handler made of the read error.
async fn min_rate(State(min_bps): State<u64>, request: Request, next: Next) -> Response {
    if min_bps == 0 {
        return next.run(request).await;
    }
    let cut = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| Body::new(MinRate::new(body, min_bps, cut.clone())));
    let response = next.run(request).await;
    if !cut.load(Ordering::Acquire) || !is_error(response.status()) {
        return response;
    }
    let message = format!("the upload was slower than {min_bps} bytes/s over {} s and was cut off", super::rate::WINDOW.as_secs());
    closing(AppError::new(StatusCode::REQUEST_TIMEOUT, "upload_too_slow", message).into_response())
}

/// `431 headers_too_large` when the request line and headers exceed the limit. (Far larger
/// heads never get here: hyper's buffer limit refuses them with an empty 431.)
async fn bounded_head(State(max): State<usize>, request: Request, next: Next) -> Response {
    let size = head_size(&request);
    if size <= max {
        return next.run(request).await;
    }
    let message = format!("the request line and headers are {size} bytes; the limit is {max}");
    closing(AppError::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", message).into_response())
}

/// The size of the request head as sent: `METHOD target HTTP/1.1`, `name: value` lines, the
/// empty line.
fn head_size(request: &Request) -> usize {
    let target = request.uri().path_and_query().map_or(1, |p| p.as_str().len());
    let line = request.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    line + request.headers().iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum::<usize>() + 2
}

/// Asks hyper to close the connection after this answer (its request body may be unread).
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn is_error(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

fn is_json(response: &Response) -> bool {
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// Turns an error answer that is not JSON (axum's rejections, an empty 405) into the
/// contract's `{"error": {"code", "message"}}`, keeping its status and headers (`Allow`).
async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    if !is_error(response.status()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("this route does not take {method}")
    } else if status.is_client_error()
        && let Some(text) = short_text(body).await
    {
        text
    } else {
        // 5xx bodies stay opaque.
        status.canonical_reason().unwrap_or("error").to_lowercase()
    };
    let mut answer = AppError::new(status, code_for(status), message).into_response();
    let own: Vec<HeaderName> = answer.headers().keys().cloned().collect();
    for (name, value) in &parts.headers {
        if !own.contains(name) && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}

/// The body as text when it is small and known to be so.
async fn short_text(body: Body) -> Option<String> {
    if body.size_hint().upper().is_none_or(|n| n > MAX_MESSAGE_BYTES as u64) {
        return None;
    }
    let bytes = axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The error code for an answer that came without one.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::RANGE_NOT_SATISFIABLE => "range_not_satisfiable",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
        s if s.is_server_error() => "unavailable",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn limits() -> Limits {
        Limits { request_timeout: Duration::from_secs(1), max_header_bytes: 4096, ..Limits::default() }
    }

    fn app() -> Router {
        let routes = Router::new()
            .route("/text", get(|| async { (StatusCode::BAD_REQUEST, "Failed to deserialize query string") }))
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }))
            .route("/upload", axum::routing::post(|| async { tokio::time::sleep(Duration::from_secs(5)).await }));
        router(routes, &limits())
    }

    async fn call(request: Request) -> (StatusCode, Response, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, Response::from_parts(parts, Body::empty()), json)
    }

    fn get_(uri: &str) -> Request {
        Request::get(uri).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn unknown_routes_and_wrong_methods_answer_json_and_keep_allow() {
        let (status, _, json) = call(get_("/nowhere")).await;
        assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let (status, response, json) = call(Request::delete("/text").body(Body::empty()).unwrap()).await;
        assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
        assert!(response.headers()[header::ALLOW].to_str().unwrap().contains("GET"));
    }

    #[tokio::test]
    async fn plain_text_rejections_become_json_with_their_message() {
        let (status, response, json) = call(get_("/text")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(json["error"]["code"], "bad_request");
        assert_eq!(json["error"]["message"], "Failed to deserialize query string");
    }

    #[tokio::test]
    async fn oversized_heads_answer_431_json() {
        let request = Request::get("/text").header("x-big", "a".repeat(5000)).body(Body::empty()).unwrap();
        let (status, response, json) = call(request).await;
        assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, Some("headers_too_large")));
        assert_eq!(response.headers()[header::CONNECTION], "close");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_requests_time_out_but_uploads_do_not() {
        let (status, _, json) = call(get_("/slow")).await;
        assert_eq!((status, json["error"]["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("request_timeout")));
        let (status, _, _) = call(Request::post("/upload").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn the_long_requests_are_the_uploads_and_the_conversion() {
        assert!(is_long_request(&Method::POST, "/upload"));
        assert!(is_long_request(&Method::POST, "/api/v1/videos"));
        assert!(is_long_request(&Method::POST, "/"));
        assert!(!is_long_request(&Method::GET, "/api/v1/videos"));
        assert!(!is_long_request(&Method::POST, "/api/v1/tokens"));
    }
}
