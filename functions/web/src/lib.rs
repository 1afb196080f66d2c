//! The web page at `/`: sign up or in, drop or pick a file, watch it upload and convert,
//! download the MP3, and see or delete earlier conversions. Plain HTML, CSS and JavaScript
//! in `assets/`, built into the binary: nothing to build or install to serve it. The page
//! talks only to the public JSON API (`/api/v1`), as any other client does.
//!
//! The all-in-one serves it; on Knative the auth function does (the ingress sends `/` and
//! `/assets/` there).

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

/// Scripts, styles and requests from this origin only; no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                                       form-action 'self'; frame-ancestors 'none'";

fn routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(index)).routes(routes!(script)).routes(routes!(style))
}

pub fn router() -> Router {
    routes().split_for_parts().0
}

/// The page's part of the OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The web page.
#[utoipa::path(get, path = "/", tag = "web", security(()), responses(
    (status = 200, description = "The web page.", body = String, content_type = "text/html"),
))]
async fn index() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX)
}

/// The page's script.
#[utoipa::path(get, path = "/assets/app.js", tag = "web", security(()), responses(
    (status = 200, description = "The page's script.", body = String, content_type = "text/javascript"),
))]
async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The page's style sheet.
#[utoipa::path(get, path = "/assets/style.css", tag = "web", security(()), responses(
    (status = 200, description = "The page's style sheet.", body = String, content_type = "text/css"),
))]
async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLE)
}

/// `body` with its type and the headers every asset carries. `no-cache`: a browser checks
/// again each time, so a new release is seen at once.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
        ],
        body,
    )
}
