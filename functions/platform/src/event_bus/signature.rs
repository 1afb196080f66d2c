//! Signed internal events: every event a function emits carries an HMAC-SHA256 in the
//! CloudEvents extension attribute `mp3convertsig`, keyed by the Secret
//! `MP3CONVERT_EVENT_KEY`, and the consumers of outcome events and dead letters refuse one
//! whose signature is missing or wrong. Events from other systems (a `video.uploaded`
//! through the RabbitmqSource) stay unsigned: the converter takes them, and the owner check
//! guards what they can ask for.
//!
//! What is signed: `mp3convert-event-v1`, then the id, source, type and subject (empty when
//! absent), each on a line of its own, then the data as compact JSON. The Broker's own
//! extensions (`knativeerrorcode`, …) are not covered, so a dead letter keeps the signature
//! of the event it carries.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudevents::AttributesReader;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use axum::http::StatusCode;

use super::{Event, EventBus, EventBusError};
use crate::config::{Config, Mode};
use crate::hmac_key::{HmacKey, MIN_KEY_BYTES};
use crate::http::{AppError, metrics};

/// The CloudEvents extension attribute that holds the signature.
pub const EXTENSION: &str = "mp3convertsig";

/// Why an event's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the event is not signed (no {EXTENSION} attribute)")]
    Missing,
    #[error("the event's {EXTENSION} signature does not match it")]
    Wrong,
}

/// The key events are signed and checked with.
#[derive(Clone, Debug)]
pub struct EventKey(HmacKey);

impl EventKey {
    /// A key from the Secret's value; `Err` says why it cannot be one.
    pub fn new(secret: &str) -> Result<Self, String> {
        HmacKey::new(secret, "an event key").map(Self)
    }

    fn mac(&self, id: &str, source: &str, ty: &str, subject: Option<&str>, data: &serde_json::Value) -> Hmac<Sha256> {
        let mut mac = self.0.mac();
        for part in ["mp3convert-event-v1", id, source, ty, subject.unwrap_or_default()] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        // A serde_json::Value always serializes.
        mac.update(&serde_json::to_vec(data).unwrap_or_default());
        mac
    }

    /// The signature of `event`.
    pub fn sign(&self, event: &Event) -> String {
        let mac = self.mac(&event.id, &event.source, &event.ty, event.subject.as_deref(), &event.data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Checks a received event's signature (in constant time).
    pub fn verify(&self, event: &cloudevents::Event) -> Result<(), SignatureError> {
        let signature = event.extension(EXTENSION).map(|value| value.to_string()).ok_or(SignatureError::Missing)?;
        let signature = URL_SAFE_NO_PAD.decode(signature.trim()).map_err(|_| SignatureError::Wrong)?;
        let data = super::parse_data::<serde_json::Value>(event.data()).unwrap_or(serde_json::Value::Null);
        let source = event.source().to_string();
        self.mac(event.id(), &source, event.ty(), event.subject(), &data).verify_slice(&signature).map_err(|_| SignatureError::Wrong)
    }
}

/// The event key of a function that emits or checks events: `MP3CONVERT_EVENT_KEY`(`_FILE`).
/// Without one, dev mode runs unsigned (with a warning); production refuses to start.
pub fn load(config: &Config) -> anyhow::Result<Option<EventKey>> {
    match &config.event_key {
        Some(secret) => Ok(Some(EventKey::new(secret.expose()).map_err(|e| anyhow::anyhow!("MP3CONVERT_EVENT_KEY: {e}"))?)),
        None if config.mode == Mode::Dev => {
            tracing::warn!("MP3CONVERT_EVENT_KEY is not set: events are neither signed nor checked (dev mode only)");
            Ok(None)
        }
        None => anyhow::bail!(
            "MP3CONVERT_EVENT_KEY(_FILE) is not set: production mode signs and checks the platform's events with it (a Secret of at \
             least {MIN_KEY_BYTES} characters, the same in every function)"
        ),
    }
}

/// Lets `event` through if `key` is `None` (dev mode) or its signature is right; otherwise
/// logs and counts the refusal and answers 401 `invalid_signature`.
pub fn check(key: Option<&EventKey>, event: &cloudevents::Event) -> Result<(), AppError> {
    let Some(key) = key else { return Ok(()) };
    key.verify(event).map_err(|e| {
        tracing::warn!(ce_id = event.id(), ce_source = %event.source(), ce_type = event.ty(), error = %e, "event refused");
        metrics::add(&metrics::EVENTS_REFUSED, 1);
        AppError::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
    })
}

/// A bus that signs every event before `inner` publishes it.
pub struct SigningBus {
    pub inner: Arc<dyn EventBus>,
    pub key: EventKey,
}

#[async_trait]
impl EventBus for SigningBus {
    async fn publish(&self, mut event: Event) -> Result<(), EventBusError> {
        event.signature = Some(self.key.sign(&event));
        self.inner.publish(event).await
    }
}

#[cfg(test)]
mod tests {
    use cloudevents::{EventBuilder, EventBuilderV10};
    use serde_json::json;

    use super::*;

    fn key(fill: char) -> EventKey {
        EventKey::new(&fill.to_string().repeat(40)).unwrap()
    }

    /// `event` as a consumer receives it, with `signature` as its extension.
    fn received(event: &Event, signature: Option<&str>) -> cloudevents::Event {
        let mut builder = EventBuilderV10::new()
            .id(event.id.clone())
            .source(event.source.clone())
            .ty(event.ty.clone())
            .subject(event.subject.clone().unwrap_or_default())
            .data("application/json", event.data.clone());
        if let Some(signature) = signature {
            builder = builder.extension(EXTENSION, signature);
        }
        builder.build().unwrap()
    }

    fn event() -> Event {
        Event::new("/mp3convert/convert", "mp3convert.mp3.converted", "v1", &json!({"job_id": "j", "bytes": 7}))
    }

    #[test]
    fn a_signed_event_verifies_with_the_same_key_only() {
        let event = event();
        let signature = key('a').sign(&event);
        assert_eq!(key('a').verify(&received(&event, Some(&signature))), Ok(()));
        assert_eq!(key('b').verify(&received(&event, Some(&signature))), Err(SignatureError::Wrong));
    }

    #[test]
    fn an_unsigned_or_altered_event_is_refused() {
        let event = event();
        let signature = key('a').sign(&event);
        assert_eq!(key('a').verify(&received(&event, None)), Err(SignatureError::Missing));
        assert_eq!(key('a').verify(&received(&event, Some("not base64!"))), Err(SignatureError::Wrong));
        let mut other_job = event.clone();
        other_job.data = json!({"job_id": "k", "bytes": 7});
        assert_eq!(key('a').verify(&received(&other_job, Some(&signature))), Err(SignatureError::Wrong));
        let mut other_type = event.clone();
        other_type.ty = "mp3convert.conversion.failed".into();
        assert_eq!(key('a').verify(&received(&other_type, Some(&signature))), Err(SignatureError::Wrong));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(EventKey::new("short").is_err());
        assert!(EventKey::new(&"x".repeat(32)).is_ok());
    }
}
