//! Webhooks and their deliveries in the embedded SQLite database.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Attempt, Delivery, DeliveryState, NewDelivery, Outcome, Webhook, WebhookStore, WebhookStoreError};
use crate::now_ms;

pub struct SqliteWebhookStore {
    pool: SqlitePool,
}

impl SqliteWebhookStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: impl Into<anyhow::Error>) -> WebhookStoreError {
    WebhookStoreError::Unavailable(e.into())
}

fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_time(s: &str) -> Result<OffsetDateTime, WebhookStoreError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(unavailable)
}

fn webhook_from_row(row: &SqliteRow) -> Result<Webhook, WebhookStoreError> {
    let events: String = row.get("events");
    Ok(Webhook {
        id: row.get("id"),
        owner_id: row.get("owner_id"),
        url: row.get("url"),
        events: events.split_whitespace().map(str::to_owned).collect(),
        secret: row.get("secret"),
        created_at: parse_time(row.get("created_at"))?,
    })
}

fn delivery_from_row(row: &SqliteRow) -> Result<Delivery, WebhookStoreError> {
    let state: String = row.get("state");
    let attempts: String = row.get("attempts");
    Ok(Delivery {
        id: row.get("id"),
        webhook_id: row.get("webhook_id"),
        event_type: row.get("event_type"),
        body: row.get("body"),
        state: DeliveryState::parse(&state).ok_or_else(|| unavailable(anyhow::anyhow!("bad delivery state {state:?}")))?,
        attempts: serde_json::from_str(&attempts).map_err(unavailable)?,
        next_attempt_ms: row.get("next_attempt_ms"),
        created_at: parse_time(row.get("created_at"))?,
    })
}

const WEBHOOK_COLUMNS: &str = "id, owner_id, url, events, secret, created_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event_type, body, state, attempts, next_attempt_ms, created_at";

#[async_trait]
impl WebhookStore for SqliteWebhookStore {
    async fn create(&self, webhook: &Webhook) -> Result<(), WebhookStoreError> {
        sqlx::query(
            "INSERT INTO webhooks (id, owner_id, url, events, secret, created_at, seq) \
             VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM webhooks))",
        )
        .bind(&webhook.id)
        .bind(&webhook.owner_id)
        .bind(&webhook.url)
        .bind(webhook.events.join(" "))
        .bind(&webhook.secret)
        .bind(format_time(webhook.created_at))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Webhook>, WebhookStoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(unavailable)?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn list_for_owner(&self, owner_id: &str) -> Result<Vec<Webhook>, WebhookStoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE owner_id = ? ORDER BY seq");
        let rows = sqlx::query(&sql).bind(owner_id).fetch_all(&self.pool).await.map_err(unavailable)?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn delete(&self, id: &str) -> Result<bool, WebhookStoreError> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ?").bind(id).execute(&self.pool).await.map_err(unavailable)?;
        Ok(done.rows_affected() > 0)
    }

    async fn owners(&self) -> Result<Vec<String>, WebhookStoreError> {
        let rows =
            sqlx::query("SELECT DISTINCT owner_id FROM webhooks ORDER BY owner_id").fetch_all(&self.pool).await.map_err(unavailable)?;
        Ok(rows.iter().map(|row| row.get("owner_id")).collect())
    }

    async fn enqueue(&self, delivery: &NewDelivery) -> Result<bool, WebhookStoreError> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_type, body, state, attempts, next_attempt_ms, created_at, seq) \
             VALUES (?, ?, ?, ?, 'pending', '[]', ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_deliveries)) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&delivery.id)
        .bind(&delivery.webhook_id)
        .bind(&delivery.event_type)
        .bind(&delivery.body)
        .bind(now_ms())
        .bind(format_time(OffsetDateTime::now_utc()))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() > 0)
    }

    async fn claim_due(&self, lease: Duration, limit: usize) -> Result<Vec<Delivery>, WebhookStoreError> {
        let now = now_ms();
        // One statement: SQLite serialises writers, so two callers never get the same row.
        let sql = format!(
            "UPDATE webhook_deliveries SET next_attempt_ms = ? WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_ms <= ? ORDER BY next_attempt_ms LIMIT ?) \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn record(&self, id: &str, attempt: &Attempt, outcome: Outcome) -> Result<(), WebhookStoreError> {
        let (state, next) = match outcome {
            Outcome::Delivered => (DeliveryState::Delivered, 0),
            Outcome::RetryAt(at) => (DeliveryState::Pending, at),
            Outcome::GiveUp => (DeliveryState::Failed, 0),
        };
        let attempt = serde_json::to_string(attempt).map_err(unavailable)?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_ms = ?, attempts = json_insert(attempts, '$[#]', json(?)) \
             WHERE id = ? AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(next)
        .bind(attempt)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn deliveries(&self, webhook_id: &str, limit: usize) -> Result<Vec<Delivery>, WebhookStoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?");
        let rows = sqlx::query(&sql).bind(webhook_id).bind(limit as i64).fetch_all(&self.pool).await.map_err(unavailable)?;
        rows.iter().map(delivery_from_row).collect()
    }
}
