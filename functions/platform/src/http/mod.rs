//! HTTP plumbing every function shares: the error type and extractors whose rejections are
//! JSON errors, health and metrics routes, and serving.
//!
//! Serving ([`serve`]) is an accept loop on hyper that bounds every connection (`conn`:
//! write stalls, the connection cap, lingering close); around the router sits the [`edge`]
//! (head size, the minimum body rate of [`rate`], the request time limit and its
//! exemptions in [`is_long_request`], JSON for every error answer).

pub mod api_doc;
mod client;
mod conn;
pub mod edge;
mod error;
pub mod metrics;
pub mod rate;
mod serve;

pub use client::{ClientAddr, client_ip};
pub use edge::is_long_request;
pub use error::{AppError, Json, Path, Query};
pub use serve::{serve, shutdown_signal};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Answers whether the function's dependencies respond.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// What every function serves beside its own routes: `GET /health/liveness`,
/// `GET /health/readiness` and `GET /metrics`.
pub fn ops_router(ready: ReadinessCheck) -> Router {
    ops_routes().split_for_parts().0.with_state(ready)
}

/// The description of [`ops_router`]'s routes.
pub fn ops_openapi() -> utoipa::openapi::OpenApi {
    ops_routes().into_openapi()
}

fn ops_routes() -> OpenApiRouter<ReadinessCheck> {
    OpenApiRouter::new().routes(routes!(liveness)).routes(routes!(readiness)).routes(routes!(metrics::handler))
}

/// Always 200 while the process serves.
#[utoipa::path(get, path = "/health/liveness", tag = "operations", responses(
    (status = 200, description = "`ok`", body = String, content_type = "text/plain"),
))]
async fn liveness() -> &'static str {
    "ok"
}

/// 200 only when the function's dependencies answer.
#[utoipa::path(get, path = "/health/readiness", tag = "operations", responses(
    (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
    (status = 503, description = "`not ready`: a store or the broker does not answer.", body = String, content_type = "text/plain"),
))]
async fn readiness(State(ready): State<ReadinessCheck>) -> (StatusCode, &'static str) {
    if ready().await { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready") }
}
