//! The notify function: webhooks (contract §1, `/api/v1/webhooks`). A user registers an
//! endpoint for `job.succeeded` and/or `job.failed`; when one of their jobs ends, each such
//! endpoint gets a POST of `{"type", "timestamp", "data": <the job JSON>}`, signed per
//! Standard Webhooks ([`signing`]) and retried until it answers 2xx ([`deliver`]). Endpoints
//! must be public addresses ([`target`]).
//!
//! A job's end reaches [`on_event`] as its `mp3convert.mp3.converted` or
//! `mp3convert.conversion.failed` event: in-process on the all-in-one, through a Trigger on
//! Knative ([`events`]). The delivery is stored first, under an id derived from the webhook, the job and
//! the type, so a repeated event queues nothing new.

pub mod deliver;
pub mod events;
mod routes;
pub mod signing;
pub mod target;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use platform::auth::TokenVerifier;
use platform::job_store::{JobStore, PageRequest};
use platform::model::{Job, JobStatus, event_types};
use platform::webhook_store::{NewDelivery, WebhookStore};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;

pub use deliver::Deliverer;

#[derive(Clone)]
pub struct NotifyState {
    pub webhooks: Arc<dyn WebhookStore>,
    pub jobs: Arc<dyn JobStore>,
    pub verifier: Arc<TokenVerifier>,
    pub deliverer: Deliverer,
    /// Dev mode: endpoints on loopback are allowed.
    pub allow_loopback: bool,
}

impl FromRef<NotifyState> for Arc<TokenVerifier> {
    fn from_ref(state: &NotifyState) -> Self {
        state.verifier.clone()
    }
}

fn routes() -> OpenApiRouter<NotifyState> {
    routes::routes()
}

pub fn router(state: NotifyState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// This function's part of the OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The webhook event type of a finished job.
pub fn event_type(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Succeeded => Some("job.succeeded"),
        JobStatus::Failed => Some("job.failed"),
        JobStatus::Queued | JobStatus::Processing => None,
    }
}

/// Queues the deliveries a platform event (type `ty`, id `id`) calls for (none for other
/// events); how many.
pub async fn on_event(state: &NotifyState, ty: &str, id: &str, data: &serde_json::Value) -> anyhow::Result<usize> {
    if ty != event_types::MP3_CONVERTED && ty != event_types::CONVERSION_FAILED {
        return Ok(0);
    }
    let job_id = data["job_id"].as_str().ok_or_else(|| anyhow::anyhow!("{ty} event {id} has no job_id"))?;
    let Some(job) = state.jobs.get(job_id).await? else {
        tracing::warn!(job_id, event = id, "an ended job's event names no job; nobody to notify");
        return Ok(0);
    };
    job_finished(state, &job).await
}

/// Queues a delivery of `job`'s end to each of its owner's webhooks that asked for it and
/// existed when it ended.
pub async fn job_finished(state: &NotifyState, job: &Job) -> anyhow::Result<usize> {
    let Some(ty) = event_type(job.status) else { return Ok(0) };
    let body = json!({ "type": ty, "timestamp": job.updated_at.format(&Rfc3339)?, "data": job }).to_string();
    let mut queued = 0;
    let webhooks = state.webhooks.subscribed(&job.owner_id, ty).await?;
    for webhook in webhooks.into_iter().filter(|w| w.created_at <= job.updated_at) {
        let key = format!("{}\n{}\n{ty}", webhook.id, job.job_id);
        let id = format!("msg_{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes()).simple());
        let delivery = NewDelivery { id, webhook_id: webhook.id.clone(), event_type: ty.into(), body: body.clone() };
        if state.webhooks.enqueue(&delivery).await? {
            queued += 1;
        }
    }
    if queued > 0 {
        state.deliverer.wake();
    }
    Ok(queued)
}

/// How many of each owner's latest jobs [`catch_up`] looks at.
const CATCH_UP_JOBS: usize = 50;

/// Queues what the events may have missed: for each user with a webhook, the deliveries of
/// their latest [`CATCH_UP_JOBS`] finished jobs that are not queued yet (an event lost in a
/// crash between a job's end and its delivery being stored, or one the Broker gave up on).
/// Deliveries already queued are recognised by their id, so this repeats nothing.
pub async fn catch_up(state: &NotifyState) -> anyhow::Result<usize> {
    let mut queued = 0;
    for owner in state.webhooks.owners().await? {
        let page = state.jobs.list_for_owner(&owner, PageRequest { before: None, limit: CATCH_UP_JOBS }).await?;
        for job in page.jobs.iter().filter(|job| job.status.is_finished()) {
            queued += job_finished(state, job).await?;
        }
    }
    if queued > 0 {
        tracing::info!(queued, "queued webhook deliveries that no event had queued");
    }
    Ok(queued)
}
