//! The Broker's HTTP ingress: `POST /` takes a CloudEvent (binary or structured mode) and
//! answers 202 once RabbitMQ confirmed it onto the exchange; 400 for anything that is not a
//! CloudEvent, 503 when RabbitMQ cannot take it. Plus the health probes.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cloudevents::AttributesReader as _;
use serde_json::json;

use crate::link::Link;
use crate::message;

#[derive(Clone)]
pub struct IngressState {
    pub link: Link,
    pub exchange: String,
    /// How long a request waits for a lost link before answering 503.
    pub patience: Duration,
}

pub fn router(state: IngressState) -> Router {
    Router::new()
        .route("/", post(publish))
        .route("/health/liveness", get(|| async { StatusCode::OK }))
        .route("/health/readiness", get(readiness))
        .with_state(state)
}

/// A JSON error in the shape of the platform's API (contract §2).
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message.into()}}))).into_response()
}

async fn publish(State(state): State<IngressState>, headers: HeaderMap, body: Bytes) -> Response {
    let event = match cloudevents::binding::http::to_event(&headers, body.to_vec()) {
        Ok(event) => event,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_cloudevent", format!("the request is not a CloudEvent: {e}")),
    };
    let span = tracing::info_span!("ingress", ce_id = event.id(), ce_type = event.ty(), ce_source = %event.source());
    match state.link.publish(&state.exchange, &message::from_event(&event), state.patience).await {
        Ok(()) => {
            tracing::debug!(parent: &span, "event published");
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => {
            tracing::warn!(parent: &span, error = %e, "event not published");
            error(StatusCode::SERVICE_UNAVAILABLE, "broker_unavailable", format!("the event could not be put on RabbitMQ: {e}"))
        }
    }
}

async fn readiness(State(state): State<IngressState>) -> Response {
    match state.link.current() {
        Some(_) => StatusCode::OK.into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "broker_unavailable", "not connected to RabbitMQ"),
    }
}
