//! The Broker's objects on RabbitMQ, named after its exchange `NAME`:
//!
//! - `NAME`: durable headers exchange that ingress and replies publish to;
//! - `NAME.<trigger>`: a durable queue per Trigger, bound to `NAME` with `x-match: all` and
//!   the filter's attributes as long-string header values (exact match on all of them);
//! - `NAME.dlx` (durable fanout exchange) → `NAME.dead-letter` (durable queue): dead letters.
//!
//! Declaring is idempotent, so it runs on every (re)connection.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

use crate::manifests::BrokerSpec;

/// Object names derived from the exchange name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub exchange: String,
}

impl Names {
    pub fn new(exchange: impl Into<String>) -> Self {
        Self { exchange: exchange.into() }
    }

    pub fn trigger_queue(&self, trigger: &str) -> String {
        format!("{}.{trigger}", self.exchange)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.exchange)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }
}

/// Declares the exchanges, queues and bindings of `broker`.
pub async fn declare(channel: &Channel, names: &Names, broker: &BrokerSpec) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    let durable_queue = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel.exchange_declare(&names.exchange, ExchangeKind::Headers, durable, FieldTable::default()).await?;
    channel.exchange_declare(&names.dead_letter_exchange(), ExchangeKind::Fanout, durable, FieldTable::default()).await?;
    channel.queue_declare(&names.dead_letter_queue(), durable_queue, FieldTable::default()).await?;
    channel
        .queue_bind(&names.dead_letter_queue(), &names.dead_letter_exchange(), "", QueueBindOptions::default(), FieldTable::default())
        .await?;
    for trigger in &broker.triggers {
        let queue = names.trigger_queue(&trigger.name);
        channel.queue_declare(&queue, durable_queue, FieldTable::default()).await?;
        let mut arguments = FieldTable::default();
        arguments.insert("x-match".into(), AMQPValue::LongString(LongString::from("all")));
        for (attribute, value) in &trigger.filter {
            arguments.insert(attribute.as_str().into(), AMQPValue::LongString(LongString::from(value.as_str())));
        }
        channel.queue_bind(&queue, &names.exchange, "", QueueBindOptions::default(), arguments).await?;
    }
    Ok(())
}

/// Deletes everything [`declare`] creates for `triggers` (tests clean up with it).
pub async fn delete(channel: &Channel, names: &Names, triggers: &[&str]) -> Result<(), lapin::Error> {
    let mut queues: Vec<String> = triggers.iter().map(|t| names.trigger_queue(t)).collect();
    queues.push(names.dead_letter_queue());
    for queue in queues {
        channel.queue_delete(&queue, QueueDeleteOptions::default()).await?;
    }
    for exchange in [names.exchange.clone(), names.dead_letter_exchange()] {
        channel.exchange_delete(&exchange, lapin::options::ExchangeDeleteOptions::default()).await?;
    }
    Ok(())
}
