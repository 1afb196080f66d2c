//! Webhooks: the endpoints users register, and the deliveries owed to them. A delivery is
//! stored before it is attempted and stays `pending` until its endpoint answers 2xx or its
//! attempts run out, so a crash or a restart loses none (at-least-once; the receiver
//! recognises a repeat by its id, which every attempt shares).
//!
//! Adapters: [`sqlite`] (embedded) and [`mongodb`] (MongoDB or FerretDB).

pub mod mongodb;
pub mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

/// An endpoint a user registered.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub owner_id: String,
    pub url: String,
    /// `job.succeeded`, `job.failed`.
    pub events: Vec<String>,
    /// `whsec_` + base64 of the signing key.
    pub secret: String,
    pub created_at: OffsetDateTime,
}

/// A delivery to store: `id` is the `webhook-id` every attempt sends.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub id: String,
    pub webhook_id: String,
    pub event_type: String,
    /// The exact body every attempt sends (and signs).
    pub body: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet; attempted when `next_attempt_at` comes.
    Pending,
    /// An attempt was answered 2xx.
    Delivered,
    /// Every attempt failed (or the webhook was deleted).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// One attempt: the status the endpoint answered, or why there was no answer.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Attempt {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub body: String,
    pub state: DeliveryState,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (unix milliseconds), while pending.
    pub next_attempt_ms: i64,
    pub created_at: OffsetDateTime,
}

/// What an attempt leads to.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    Delivered,
    /// Try again at this time (unix milliseconds).
    RetryAt(i64),
    GiveUp,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookStoreError {
    #[error("the webhook store is unavailable: {0}")]
    Unavailable(#[source] anyhow::Error),
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create(&self, webhook: &Webhook) -> Result<(), WebhookStoreError>;
    async fn get(&self, id: &str) -> Result<Option<Webhook>, WebhookStoreError>;
    /// The owner's webhooks, oldest first.
    async fn list_for_owner(&self, owner_id: &str) -> Result<Vec<Webhook>, WebhookStoreError>;
    /// Deletes the webhook; its pending deliveries fail when next attempted. `false`: none.
    async fn delete(&self, id: &str) -> Result<bool, WebhookStoreError>;
    /// Every user who has a webhook.
    async fn owners(&self) -> Result<Vec<String>, WebhookStoreError>;
    /// The owner's webhooks that asked for `event_type`.
    async fn subscribed(&self, owner_id: &str, event_type: &str) -> Result<Vec<Webhook>, WebhookStoreError> {
        Ok(self.list_for_owner(owner_id).await?.into_iter().filter(|w| w.events.iter().any(|e| e == event_type)).collect())
    }
    /// Stores a delivery, due now. `false`: one with this id exists (a repeated event).
    async fn enqueue(&self, delivery: &NewDelivery) -> Result<bool, WebhookStoreError>;
    /// Up to `limit` pending deliveries that are due, each held for `lease` (another caller
    /// does not get it before then, unless this one records nothing).
    async fn claim_due(&self, lease: Duration, limit: usize) -> Result<Vec<Delivery>, WebhookStoreError>;
    /// Appends `attempt` to the delivery and moves it on by `outcome`.
    async fn record(&self, id: &str, attempt: &Attempt, outcome: Outcome) -> Result<(), WebhookStoreError>;
    /// The webhook's latest deliveries, newest first.
    async fn deliveries(&self, webhook_id: &str, limit: usize) -> Result<Vec<Delivery>, WebhookStoreError>;
}
