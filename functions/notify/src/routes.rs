//! `/api/v1/webhooks`: register, list, look at, delete an endpoint, and see its deliveries.

use axum::extract::State;
use axum::http::StatusCode;
use platform::auth::AuthUser;
use platform::http::api_doc::{ErrorBody, TokenChecked};
use platform::http::{AppError, Json, Path};
use platform::webhook_store::{Attempt, Delivery, DeliveryState, Webhook};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{NotifyState, signing, target};

/// The event types a webhook may ask for.
pub const EVENT_TYPES: [&str; 2] = ["job.succeeded", "job.failed"];
/// Webhooks one user may have.
pub const MAX_WEBHOOKS: usize = 20;
/// Deliveries `GET …/deliveries` shows.
const RECENT_DELIVERIES: usize = 50;

pub fn routes() -> OpenApiRouter<NotifyState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
}

#[derive(Deserialize, ToSchema)]
pub struct NewWebhook {
    /// An `http` or `https` URL on a public address.
    url: String,
    /// `job.succeeded` and/or `job.failed`.
    events: Vec<String>,
}

/// A webhook as listed: its secret is shown only when it is made.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    id: String,
    url: String,
    events: Vec<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

/// A new webhook, with the secret its deliveries are signed with.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    id: String,
    url: String,
    events: Vec<String>,
    /// `whsec_` + base64: verify `webhook-signature` with it (Standard Webhooks).
    secret: String,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    webhooks: Vec<WebhookView>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    #[schema(format = DateTime)]
    at: String,
    /// The status the endpoint answered; `null` when it did not (see `error`).
    status: Option<u16>,
    error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` of every attempt.
    id: String,
    /// `job.succeeded` or `job.failed`.
    #[serde(rename = "type")]
    event_type: String,
    /// `pending`, `delivered` or `failed` (attempts ran out).
    state: String,
    /// Oldest first.
    attempts: Vec<AttemptView>,
    /// When the next attempt is due, while `pending`.
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first; the latest 50.
    deliveries: Vec<DeliveryView>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self { id: w.id, url: w.url, events: w.events, created_at: rfc3339(w.created_at) }
    }
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        let next = (d.state == DeliveryState::Pending)
            .then(|| OffsetDateTime::from_unix_timestamp_nanos(i128::from(d.next_attempt_ms) * 1_000_000).ok())
            .flatten()
            .map(rfc3339);
        Self {
            id: d.id,
            event_type: d.event_type,
            state: d.state.as_str().into(),
            attempts: d.attempts.into_iter().map(AttemptView::from).collect(),
            next_attempt_at: next,
            created_at: rfc3339(d.created_at),
        }
    }
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self { at: rfc3339(a.at), status: a.status, error: a.error }
    }
}

/// `POST /api/v1/webhooks`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhook, responses(
    (status = 201, description = "The webhook; keep its `secret`, it is not shown again.", body = CreatedWebhook),
    (status = 400, description = "`invalid_json`.", body = ErrorBody),
    (status = 409, description = "`too_many_webhooks`: 20 already.", body = ErrorBody),
    (status = 422, description = "`invalid_url`, `url_not_allowed` (not a public address, checked after DNS resolution) or `invalid_events`.", body = ErrorBody),
    TokenChecked,
))]
async fn create_webhook(
    State(state): State<NotifyState>,
    user: AuthUser,
    Json(body): Json<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), AppError> {
    let invalid = |code, message: String| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    let url = target::parse(body.url.trim()).map_err(|refused| invalid("invalid_url", refused.0))?;
    target::resolve(&url, state.allow_loopback).await.map_err(|refused| invalid("url_not_allowed", refused.0))?;
    let mut events = Vec::new();
    for event in body.events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(invalid("invalid_events", format!("{event:?} is not an event type; use job.succeeded and/or job.failed")));
        }
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(invalid("invalid_events", "name at least one event: job.succeeded, job.failed".into()));
    }
    if state.webhooks.list_for_owner(&user.id).await.map_err(AppError::unavailable)?.len() >= MAX_WEBHOOKS {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "too_many_webhooks",
            format!("you have {MAX_WEBHOOKS} webhooks, the most allowed; delete one first"),
        ));
    }
    let webhook = Webhook {
        id: platform::new_id(),
        owner_id: user.id.clone(),
        url: url.to_string(),
        events,
        secret: signing::new_secret(),
        created_at: OffsetDateTime::now_utc(),
    };
    state.webhooks.create(&webhook).await.map_err(AppError::unavailable)?;
    tracing::info!(webhook = %webhook.id, url = %webhook.url, "webhook registered");
    let created = CreatedWebhook {
        id: webhook.id,
        url: webhook.url,
        events: webhook.events,
        secret: webhook.secret,
        created_at: rfc3339(webhook.created_at),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/webhooks`.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), responses(
    (status = 200, description = "The caller's webhooks.", body = WebhookList),
    TokenChecked,
))]
async fn list_webhooks(State(state): State<NotifyState>, user: AuthUser) -> Result<Json<WebhookList>, AppError> {
    let webhooks = state.webhooks.list_for_owner(&user.id).await.map_err(AppError::unavailable)?;
    Ok(Json(WebhookList { webhooks: webhooks.into_iter().map(WebhookView::from).collect() }))
}

/// The webhook `id` if it is the caller's; 404 otherwise, whichever it is.
async fn owned(state: &NotifyState, user: &AuthUser, id: &str) -> Result<Webhook, AppError> {
    match state.webhooks.get(id).await.map_err(AppError::unavailable)? {
        Some(webhook) if webhook.owner_id == user.id => Ok(webhook),
        _ => Err(AppError::not_found("webhook")),
    }
}

/// `GET /api/v1/webhooks/{id}`.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The webhook.", body = WebhookView),
        (status = 404, description = "`not_found`: no such webhook of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
async fn get_webhook(State(state): State<NotifyState>, user: AuthUser, Path(id): Path<String>) -> Result<Json<WebhookView>, AppError> {
    Ok(Json(owned(&state, &user, &id).await?.into()))
}

/// `DELETE /api/v1/webhooks/{id}`: no more deliveries to it, not even pending ones.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 204, description = "The webhook is deleted."),
        (status = 404, description = "`not_found`: no such webhook of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
async fn delete_webhook(State(state): State<NotifyState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    owned(&state, &user, &id).await?;
    state.webhooks.delete(&id).await.map_err(AppError::unavailable)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/webhooks/{id}/deliveries`.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "Its latest deliveries and their attempts.", body = DeliveryList),
        (status = 404, description = "`not_found`: no such webhook of the caller's.", body = ErrorBody),
        TokenChecked,
    ))]
async fn list_deliveries(State(state): State<NotifyState>, user: AuthUser, Path(id): Path<String>) -> Result<Json<DeliveryList>, AppError> {
    owned(&state, &user, &id).await?;
    let deliveries = state.webhooks.deliveries(&id, RECENT_DELIVERIES).await.map_err(AppError::unavailable)?;
    Ok(Json(DeliveryList { deliveries: deliveries.into_iter().map(DeliveryView::from).collect() }))
}
