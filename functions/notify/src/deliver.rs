//! The deliverer: takes due deliveries from the store, POSTs each to its endpoint, signed,
//! and records the answer. A 2xx ends the delivery; anything else (another status, no
//! answer within [`ATTEMPT_TIMEOUT`], a refused address) schedules the next attempt after
//! the next wait of `MP3CONVERT_WEBHOOK_BACKOFF_SECS`, until they run out. Every attempt
//! of a delivery sends the same `webhook-id` and body; the timestamp and signature are new.

use std::sync::Arc;
use std::time::Duration;

use platform::config::Webhooks;
use platform::now_ms;
use platform::webhook_store::{Attempt, Delivery, Outcome, WebhookStore};
use reqwest::header::CONTENT_TYPE;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{signing, target};

/// How long an endpoint has to answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is held before another pass may take it again.
const LEASE: Duration = Duration::from_secs(60);
/// Deliveries attempted at once.
const BATCH: usize = 16;
/// How often the store is checked for due retries when nothing wakes the loop.
const TICK: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn WebhookStore>,
    backoff: Vec<Duration>,
    allow_loopback: bool,
    wake: Arc<Notify>,
}

impl Deliverer {
    pub fn new(store: Arc<dyn WebhookStore>, config: &Webhooks) -> Self {
        Self { store, backoff: config.backoff.clone(), allow_loopback: config.allow_loopback, wake: Arc::new(Notify::new()) }
    }

    /// Makes the loop look at the store now (a delivery was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Attempts every due delivery once; how many it attempted.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let mut attempted = 0;
        loop {
            let due = self.store.claim_due(LEASE, BATCH).await?;
            if due.is_empty() {
                return Ok(attempted);
            }
            attempted += due.len();
            let attempts = due.into_iter().map(|delivery| self.attempt(delivery));
            for result in futures_util::future::join_all(attempts).await {
                result?;
            }
        }
    }

    /// Delivers in the background until `stop`.
    pub fn spawn(self, stop: CancellationToken) {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.run_once().await {
                    tracing::warn!(error = format!("{e:#}"), "delivering webhooks");
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(TICK) => {}
                }
            }
        });
    }

    async fn attempt(&self, delivery: Delivery) -> anyhow::Result<()> {
        let number = delivery.attempts.len() + 1;
        let Some(webhook) = self.store.get(&delivery.webhook_id).await? else {
            let attempt = Attempt { at: OffsetDateTime::now_utc(), status: None, error: Some("the webhook was deleted".into()) };
            return Ok(self.store.record(&delivery.id, &attempt, Outcome::GiveUp).await?);
        };
        let answer = self.send(&webhook.url, &webhook.secret, &delivery).await;
        let (status, error) = match &answer {
            Ok(status) => (Some(*status), None),
            Err(error) => (None, Some(error.clone())),
        };
        let attempt = Attempt { at: OffsetDateTime::now_utc(), status, error };
        let outcome = match answer {
            Ok(status) if (200..300).contains(&status) => Outcome::Delivered,
            _ => match self.backoff.get(number - 1) {
                Some(wait) => Outcome::RetryAt(now_ms() + wait.as_millis() as i64),
                None => Outcome::GiveUp,
            },
        };
        match outcome {
            Outcome::Delivered => tracing::info!(delivery = %delivery.id, webhook = %webhook.id, attempt = number, "webhook delivered"),
            Outcome::RetryAt(_) => {
                tracing::info!(delivery = %delivery.id, webhook = %webhook.id, attempt = number, status = ?attempt.status, error = ?attempt.error, "webhook attempt failed; retrying later")
            }
            Outcome::GiveUp => {
                tracing::warn!(delivery = %delivery.id, webhook = %webhook.id, attempt = number, status = ?attempt.status, error = ?attempt.error, "webhook not delivered; giving up")
            }
        }
        Ok(self.store.record(&delivery.id, &attempt, outcome).await?)
    }

    /// One POST; the status it was answered with, or why there was none.
    async fn send(&self, url: &str, secret: &str, delivery: &Delivery) -> Result<u16, String> {
        let url = target::parse(url).map_err(|refused| refused.0)?;
        let address = target::resolve(&url, self.allow_loopback).await.map_err(|refused| refused.0)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        // Connect to the address that was checked, never to a fresh resolution of the name;
        // and follow no redirect, which could point anywhere.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .resolve(&host, address)
            .build()
            .map_err(|e| format!("{e}"))?;
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = signing::sign(secret, &delivery.id, timestamp, &delivery.body).map_err(|e| format!("{e:#}"))?;
        let response = client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| if e.is_timeout() { format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()) } else { format!("{e}") })?;
        Ok(response.status().as_u16())
    }
}
