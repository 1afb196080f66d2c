//! The notify function's event routes on Knative:
//!
//! - `POST /events/job-ended`: the Broker's `mp3convert.mp3.converted` and
//!   `mp3convert.conversion.failed` deliveries (eventing/triggers.yaml). Answered 200 once the
//!   deliveries they call for are stored, 503 while the stores are down (the Broker retries).
//!   Only events the platform signed are taken (`platform::event_bus::signature`).
//! - `POST /events/deliver`: a PingSource's tick (eventing/webhooks.yaml): retries come due
//!   while the function is scaled to zero, and this wakes it to attempt them, after queuing
//!   what no event queued ([`crate::catch_up`]).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use cloudevents::AttributesReader;
use platform::event_bus::parse_data;
use platform::event_bus::signature::{self, EventKey};
use platform::http::{AppError, Json, metrics};
use serde_json::{Value, json};

use crate::NotifyState;

#[derive(Clone)]
struct Events {
    state: NotifyState,
    /// `None` only in dev mode: nothing is checked.
    key: Option<EventKey>,
}

pub fn router(state: NotifyState, key: Option<EventKey>) -> Router {
    Router::new().route("/events/job-ended", post(job_ended)).route("/events/deliver", post(deliver_now)).with_state(Events { state, key })
}

async fn job_ended(State(Events { state, key }): State<Events>, event: cloudevents::Event) -> Result<StatusCode, AppError> {
    metrics::add(&metrics::EVENTS_RECEIVED, 1);
    signature::check(key.as_ref(), &event)?;
    let data: Value =
        parse_data(event.data()).map_err(|e| AppError::bad_request("invalid_event_data", format!("{} data: {e}", event.ty())))?;
    let queued = crate::on_event(&state, event.ty(), event.id(), &data).await.map_err(AppError::unavailable)?;
    tracing::info!(ce_id = event.id(), ce_type = event.ty(), queued, "job ended");
    Ok(StatusCode::OK)
}

async fn deliver_now(State(Events { state, .. }): State<Events>) -> Result<Json<Value>, AppError> {
    let caught_up = crate::catch_up(&state).await.map_err(AppError::unavailable)?;
    let attempted = state.deliverer.run_once().await.map_err(AppError::unavailable)?;
    Ok(Json(json!({ "caught_up": caught_up, "attempted": attempted })))
}
