//! HTTP plumbing every function shares: the error type and extractors whose rejections are
//! JSON errors, health and metrics routes, and serving.
//!
//! Serving ([`serve`]) is an accept loop on hyper that bounds every connection (`conn`:
//! write stalls, the connection cap, lingering close); around the router sits the [`edge`]
//! (head size, the minimum body rate of [`rate`], the request time limit and its
//! exemptions in [`is_long_request`], JSON for every error answer).

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
use axum::http::StatusCode;
use axum::routing::get;

/// Answers whether the function's dependencies respond.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// `GET /health/liveness` (always 200 while the process serves) and
/// `GET /health/readiness` (200 only when `ready` says the dependencies answer, else 503).
pub fn health_router(ready: ReadinessCheck) -> Router {
    Router::new().route("/health/liveness", get(|| async { "ok" })).route(
        "/health/readiness",
        get(move || {
            let ready = ready.clone();
            async move { if ready().await { (StatusCode::OK, "ready") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready") } }
        }),
    )
}
