//! Publishes events to RabbitMQ in the message format of Knative's RabbitMQ Broker
//! (contract §4): a durable headers exchange, routing key `""`, binary mode (body = JSON
//! data, `content_type` = `application/json`, every other attribute an unprefixed header),
//! persistent delivery, message id = event id. Publishes are `mandatory` and confirmed: an
//! event that no bound queue takes is an error, never silently dropped.
//!
//! One connection and one confirm-mode channel are kept behind a mutex. A publish that finds
//! them broken, or fails on them, drops them and opens new ones, a bounded number of times
//! with exponential backoff; so a RabbitMQ restart or a closed channel costs at most the
//! publishes made while it is down, never the process.

use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

use super::{Event, EventBus, EventBusError};

/// What the bus does with its exchange when it (re)connects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExchangeDeclare {
    /// Declare a durable headers exchange (created if missing).
    #[default]
    Durable,
    /// Only check that the exchange exists (a Knative Broker owns it).
    Passive,
}

/// Tuning of [`AmqpEventBus`]; `Default` suits production.
#[derive(Clone, Debug)]
pub struct AmqpOptions {
    pub declare: ExchangeDeclare,
    /// How long a publish waits for the broker's confirm (and a connect for the server).
    pub confirm_timeout: Duration,
    /// Attempts per publish, each on a working or freshly opened connection.
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Shown by RabbitMQ for the connection (`connection_name` client property).
    pub connection_name: String,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        Self {
            declare: ExchangeDeclare::Durable,
            confirm_timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(200),
            connection_name: "mp3convert".to_owned(),
        }
    }
}

struct Link {
    /// Which link this is, so a failed publish drops only the link it failed on.
    generation: u64,
    connection: Connection,
    channel: Channel,
}

impl Link {
    fn is_usable(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

pub struct AmqpEventBus {
    url: String,
    exchange: String,
    options: AmqpOptions,
    link: Mutex<Option<Link>>,
    generations: std::sync::atomic::AtomicU64,
}

/// Why one attempt failed: worth another attempt on a new link, or final.
enum AttemptError {
    Link(String),
    Final(String),
}

impl AmqpEventBus {
    /// Connects to `url` and declares (or checks) `exchange`, so that a wrong URL or a
    /// missing exchange shows at start-up.
    pub async fn connect(url: &str, exchange: &str, options: AmqpOptions) -> Result<Self, EventBusError> {
        let bus = Self::lazy(url, exchange, options);
        let link = bus.open_link().await.map_err(EventBusError::Unavailable)?;
        *bus.link.lock().await = Some(link);
        Ok(bus)
    }

    /// A bus that connects on its first publish.
    pub fn lazy(url: &str, exchange: &str, options: AmqpOptions) -> Self {
        Self {
            url: url.to_owned(),
            exchange: exchange.to_owned(),
            options,
            link: Mutex::new(None),
            generations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The exchange events are published to.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    async fn open_link(&self) -> Result<Link, String> {
        let timeout = self.options.confirm_timeout;
        let properties = ConnectionProperties::default().with_connection_name(LongString::from(self.options.connection_name.clone()));
        let connection = tokio::time::timeout(timeout, Connection::connect(&self.url, properties))
            .await
            .map_err(|_| format!("connecting to RabbitMQ timed out after {timeout:?}"))?
            .map_err(|e| format!("connecting to RabbitMQ: {e}"))?;
        let setup = async {
            let channel = connection.create_channel().await?;
            let declare = ExchangeDeclareOptions {
                passive: self.options.declare == ExchangeDeclare::Passive,
                durable: true,
                ..ExchangeDeclareOptions::default()
            };
            channel.exchange_declare(&self.exchange, ExchangeKind::Headers, declare, FieldTable::default()).await?;
            channel.confirm_select(ConfirmSelectOptions::default()).await?;
            Ok::<_, lapin::Error>(channel)
        };
        let channel = match tokio::time::timeout(timeout, setup).await {
            Ok(Ok(channel)) => channel,
            failed => {
                let _ = connection.close(200, "setup failed").await;
                return Err(match failed {
                    Ok(Err(e)) => format!("setting up exchange {:?}: {e}", self.exchange),
                    _ => format!("setting up exchange {:?} timed out after {timeout:?}", self.exchange),
                });
            }
        };
        let generation = self.generations.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Ok(Link { generation, connection, channel })
    }

    /// The current channel, opening a new link if there is none or it is broken.
    async fn channel(&self) -> Result<(u64, Channel), String> {
        let mut link = self.link.lock().await;
        if let Some(current) = link.as_ref()
            && current.is_usable()
        {
            return Ok((current.generation, current.channel.clone()));
        }
        if let Some(broken) = link.take() {
            tracing::info!(exchange = %self.exchange, "AMQP link broken; reconnecting");
            close_in_background(broken.connection);
        }
        let fresh = self.open_link().await?;
        let handle = (fresh.generation, fresh.channel.clone());
        *link = Some(fresh);
        Ok(handle)
    }

    /// Drops link `generation` if it is still the current one (another publish may have
    /// replaced it already).
    async fn discard(&self, generation: u64) {
        let mut link = self.link.lock().await;
        if link.as_ref().is_some_and(|l| l.generation == generation)
            && let Some(old) = link.take()
        {
            close_in_background(old.connection);
        }
    }

    async fn attempt(&self, body: &[u8], properties: &BasicProperties) -> Result<(), AttemptError> {
        let (generation, channel) = self.channel().await.map_err(AttemptError::Link)?;
        let timeout = self.options.confirm_timeout;
        // Mandatory: a message no queue takes (no Trigger matches it) comes back instead of
        // being dropped, so that "confirmed" means "some consumer will get it".
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        let publish = async { channel.basic_publish(&self.exchange, "", options, body, properties.clone()).await?.await };
        let result = match tokio::time::timeout(timeout, publish).await {
            Ok(Ok(Confirmation::Ack(Some(returned)))) => {
                return Err(AttemptError::Final(format!(
                    "RabbitMQ returned the event: no queue bound to exchange {:?} takes it ({} {})",
                    self.exchange, returned.reply_code, returned.reply_text
                )));
            }
            Ok(Ok(confirm)) if confirm.is_ack() => return Ok(()),
            Ok(Ok(_)) => return Err(AttemptError::Final("RabbitMQ rejected the event (nack)".to_owned())),
            Ok(Err(e)) => format!("publishing to {:?}: {e}", self.exchange),
            Err(_) => format!("no confirm from RabbitMQ within {timeout:?}"),
        };
        // The channel's state is unknown now (closed, or a confirm may still come): start over.
        self.discard(generation).await;
        Err(AttemptError::Link(result))
    }
}

fn close_in_background(connection: Connection) {
    tokio::spawn(async move {
        let _ = connection.close(200, "reconnecting").await;
    });
}

/// The AMQP message for `event`: its body and properties (contract §4).
pub fn message(event: &Event) -> (Vec<u8>, BasicProperties) {
    let mut headers = FieldTable::default();
    let mut header = |name: &str, value: &str| {
        headers.insert(name.into(), AMQPValue::LongString(LongString::from(value)));
    };
    header("specversion", "1.0");
    header("id", &event.id);
    header("source", &event.source);
    header("type", &event.ty);
    if let Some(subject) = &event.subject {
        header("subject", subject);
    }
    // Formatting a valid OffsetDateTime as RFC 3339 only fails for years outside 0..=9999.
    header("time", &event.time.format(&Rfc3339).unwrap_or_default());
    if let Some(signature) = &event.signature {
        header(super::signature::EXTENSION, signature);
    }
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(event.id.as_str().into())
        .with_headers(headers);
    // A serde_json::Value always serializes.
    let body = serde_json::to_vec(&event.data).unwrap_or_default();
    (body, properties)
}

#[async_trait]
impl EventBus for AmqpEventBus {
    async fn publish(&self, event: Event) -> Result<(), EventBusError> {
        let (body, properties) = message(&event);
        let mut backoff = self.options.backoff;
        let mut last_error = String::new();
        for attempt in 1..=self.options.attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            match self.attempt(&body, &properties).await {
                Ok(()) => return Ok(()),
                Err(AttemptError::Final(e)) => return Err(EventBusError::Unavailable(e)),
                Err(AttemptError::Link(e)) => {
                    tracing::warn!(ce_id = %event.id, ce_type = %event.ty, attempt, error = %e, "AMQP publish failed");
                    last_error = e;
                }
            }
        }
        Err(EventBusError::Unavailable(last_error))
    }
}
