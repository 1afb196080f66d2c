//! The event bus port: where a function sends the CloudEvents it emits (contract §3).
//!
//! Adapters: [`memory`] (in-process, the embedded default), [`amqp`] (RabbitMQ in the
//! Knative RabbitMQ Broker's message format, contract §4) and [`http`] (CloudEvents binary
//! mode POSTed to a Broker or `K_SINK`). Delivery *into* a function is its own `POST /`
//! handler or, embedded, a subscriber of the memory bus.

pub mod amqp;
pub mod http;
pub mod memory;
pub mod signature;

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

/// A CloudEvent (spec 1.0, `datacontenttype: application/json`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub source: String,
    pub ty: String,
    pub subject: Option<String>,
    pub time: OffsetDateTime,
    pub data: serde_json::Value,
    /// The `mp3convertsig` extension ([`signature`]): set by a [`signature::SigningBus`].
    pub signature: Option<String>,
}

impl Event {
    /// A new event with a fresh id and the current time.
    pub fn new(source: &str, ty: &str, subject: &str, data: &impl Serialize) -> Self {
        Self {
            id: crate::new_id(),
            source: source.to_owned(),
            ty: ty.to_owned(),
            subject: Some(subject.to_owned()),
            time: OffsetDateTime::now_utc(),
            // Serializing our own plain data structs cannot fail.
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
            signature: None,
        }
    }

    /// As a CloudEvent (its signature, if any, as the `mp3convertsig` extension), with
    /// `extensions` added (a SinkBinding's `K_CE_OVERRIDES`). `Err` says what could not be built.
    pub fn into_cloudevent<'a>(
        self,
        extensions: impl IntoIterator<Item = (&'a String, &'a cloudevents::event::ExtensionValue)>,
    ) -> Result<cloudevents::Event, String> {
        use cloudevents::{EventBuilder, EventBuilderV10};
        let time = self.time.format(&time::format_description::well_known::Rfc3339).map_err(|e| format!("event time: {e}"))?;
        let mut builder = EventBuilderV10::new().id(self.id).source(self.source).ty(self.ty).time(time).data("application/json", self.data);
        if let Some(subject) = self.subject {
            builder = builder.subject(subject);
        }
        for (name, value) in extensions {
            builder = builder.extension(name, value.clone());
        }
        if let Some(signature) = self.signature {
            builder = builder.extension(signature::EXTENSION, signature);
        }
        builder.build().map_err(|e| format!("building the CloudEvent: {e}"))
    }
}

/// The JSON data of a received CloudEvent as `T`; `Err` says what is wrong with it.
pub fn parse_data<T: serde::de::DeserializeOwned>(data: Option<&cloudevents::Data>) -> Result<T, String> {
    let parsed = match data {
        Some(cloudevents::Data::Json(value)) => serde_json::from_value(value.clone()),
        Some(cloudevents::Data::Binary(bytes)) => serde_json::from_slice(bytes),
        Some(cloudevents::Data::String(text)) => serde_json::from_str(text),
        None => return Err("the event has no data".to_owned()),
    };
    parsed.map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum EventBusError {
    /// The bus could not take the event now; publishing again later may work.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes `event`. `Ok` means the bus has taken responsibility for it.
    ///
    /// Errors: [`EventBusError::Unavailable`] when the bus cannot accept it now.
    async fn publish(&self, event: Event) -> Result<(), EventBusError>;
}
