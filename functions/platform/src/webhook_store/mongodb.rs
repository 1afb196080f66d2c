//! Webhooks in the MongoDB collection `webhooks` and their deliveries in
//! `webhook_deliveries`, one document each with `_id` = the id.
//!
//! A claim is one `find_one_and_update` per delivery that moves `next_attempt_ms` past the
//! lease. On FerretDB that is not atomic between concurrent callers, so two deliverers may
//! now and then attempt the same delivery at once: the receiver sees the same `webhook-id`
//! twice, which at-least-once delivery allows.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, DateTime, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Attempt, Delivery, DeliveryState, NewDelivery, Outcome, Webhook, WebhookStore, WebhookStoreError};
use crate::mongo::{ensure_indexes, is_duplicate_key};
use crate::now_ms;

pub struct MongoWebhookStore {
    webhooks: Collection<WebhookDoc>,
    deliveries: Collection<DeliveryDoc>,
}

#[derive(Serialize, Deserialize)]
struct WebhookDoc {
    #[serde(rename = "_id")]
    id: String,
    owner_id: String,
    url: String,
    events: Vec<String>,
    secret: String,
    created_at: DateTime,
}

#[derive(Serialize, Deserialize)]
struct DeliveryDoc {
    #[serde(rename = "_id")]
    id: String,
    webhook_id: String,
    event_type: String,
    body: String,
    state: String,
    attempts: Vec<Attempt>,
    next_attempt_ms: i64,
    created_at: DateTime,
}

fn unavailable(e: impl Into<anyhow::Error>) -> WebhookStoreError {
    WebhookStoreError::Unavailable(e.into())
}

fn to_time(t: DateTime) -> OffsetDateTime {
    crate::mongo::to_time(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn from_time(t: OffsetDateTime) -> DateTime {
    DateTime::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

impl From<WebhookDoc> for Webhook {
    fn from(d: WebhookDoc) -> Self {
        Self { id: d.id, owner_id: d.owner_id, url: d.url, events: d.events, secret: d.secret, created_at: to_time(d.created_at) }
    }
}

impl TryFrom<DeliveryDoc> for Delivery {
    type Error = WebhookStoreError;

    fn try_from(d: DeliveryDoc) -> Result<Self, Self::Error> {
        Ok(Self {
            state: DeliveryState::parse(&d.state).ok_or_else(|| unavailable(anyhow::anyhow!("bad delivery state {:?}", d.state)))?,
            id: d.id,
            webhook_id: d.webhook_id,
            event_type: d.event_type,
            body: d.body,
            attempts: d.attempts,
            next_attempt_ms: d.next_attempt_ms,
            created_at: to_time(d.created_at),
        })
    }
}

impl MongoWebhookStore {
    pub async fn open(db: Database) -> Result<Self, WebhookStoreError> {
        let webhooks = db.collection::<WebhookDoc>("webhooks");
        let deliveries = db.collection::<DeliveryDoc>("webhook_deliveries");
        let index = |keys| IndexModel::builder().keys(keys).build();
        ensure_indexes(&webhooks, vec![index(doc! { "owner_id": 1, "created_at": 1 })]).await.map_err(unavailable)?;
        let by_due = index(doc! { "state": 1, "next_attempt_ms": 1 });
        let by_webhook = index(doc! { "webhook_id": 1, "created_at": -1 });
        ensure_indexes(&deliveries, vec![by_due, by_webhook]).await.map_err(unavailable)?;
        Ok(Self { webhooks, deliveries })
    }
}

#[async_trait]
impl WebhookStore for MongoWebhookStore {
    async fn create(&self, webhook: &Webhook) -> Result<(), WebhookStoreError> {
        let document = WebhookDoc {
            id: webhook.id.clone(),
            owner_id: webhook.owner_id.clone(),
            url: webhook.url.clone(),
            events: webhook.events.clone(),
            secret: webhook.secret.clone(),
            created_at: from_time(webhook.created_at),
        };
        self.webhooks.insert_one(document).await.map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Webhook>, WebhookStoreError> {
        Ok(self.webhooks.find_one(doc! { "_id": id }).await.map_err(unavailable)?.map(Webhook::from))
    }

    async fn list_for_owner(&self, owner_id: &str) -> Result<Vec<Webhook>, WebhookStoreError> {
        let cursor =
            self.webhooks.find(doc! { "owner_id": owner_id }).sort(doc! { "created_at": 1, "_id": 1 }).await.map_err(unavailable)?;
        let documents: Vec<WebhookDoc> = cursor.try_collect().await.map_err(unavailable)?;
        Ok(documents.into_iter().map(Webhook::from).collect())
    }

    async fn delete(&self, id: &str) -> Result<bool, WebhookStoreError> {
        Ok(self.webhooks.delete_one(doc! { "_id": id }).await.map_err(unavailable)?.deleted_count > 0)
    }

    async fn owners(&self) -> Result<Vec<String>, WebhookStoreError> {
        let values = self.webhooks.distinct("owner_id", doc! {}).await.map_err(unavailable)?;
        let mut owners: Vec<String> = values.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        owners.sort();
        Ok(owners)
    }

    async fn enqueue(&self, delivery: &NewDelivery) -> Result<bool, WebhookStoreError> {
        let document = DeliveryDoc {
            id: delivery.id.clone(),
            webhook_id: delivery.webhook_id.clone(),
            event_type: delivery.event_type.clone(),
            body: delivery.body.clone(),
            state: DeliveryState::Pending.as_str().into(),
            attempts: Vec::new(),
            next_attempt_ms: now_ms(),
            created_at: DateTime::now(),
        };
        match self.deliveries.insert_one(document).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn claim_due(&self, lease: Duration, limit: usize) -> Result<Vec<Delivery>, WebhookStoreError> {
        let now = now_ms();
        let mut claimed = Vec::new();
        while claimed.len() < limit {
            let filter = doc! { "state": DeliveryState::Pending.as_str(), "next_attempt_ms": { "$lte": now } };
            let update = doc! { "$set": { "next_attempt_ms": now + lease.as_millis() as i64 } };
            let found = self
                .deliveries
                .find_one_and_update(filter, update)
                .sort(doc! { "next_attempt_ms": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(unavailable)?;
            match found {
                Some(document) => claimed.push(Delivery::try_from(document)?),
                None => break,
            }
        }
        Ok(claimed)
    }

    async fn record(&self, id: &str, attempt: &Attempt, outcome: Outcome) -> Result<(), WebhookStoreError> {
        let (state, next) = match outcome {
            Outcome::Delivered => (DeliveryState::Delivered, 0),
            Outcome::RetryAt(at) => (DeliveryState::Pending, at),
            Outcome::GiveUp => (DeliveryState::Failed, 0),
        };
        let attempt = bson::to_bson(attempt).map_err(unavailable)?;
        let update = doc! { "$set": { "state": state.as_str(), "next_attempt_ms": next }, "$push": { "attempts": attempt } };
        self.deliveries.update_one(doc! { "_id": id, "state": DeliveryState::Pending.as_str() }, update).await.map_err(unavailable)?;
        Ok(())
    }

    async fn deliveries(&self, webhook_id: &str, limit: usize) -> Result<Vec<Delivery>, WebhookStoreError> {
        let cursor = self
            .deliveries
            .find(doc! { "webhook_id": webhook_id })
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(limit as i64)
            .await
            .map_err(unavailable)?;
        let documents: Vec<DeliveryDoc> = cursor.try_collect().await.map_err(unavailable)?;
        documents.into_iter().map(Delivery::try_from).collect()
    }
}
