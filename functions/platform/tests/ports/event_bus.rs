//! Event bus conformance: an event published through each adapter arrives with the same id,
//! source, type, subject and data; plus each adapter's failure and recovery behaviour.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use cloudevents::AttributesReader;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, Consumer, ExchangeKind};
use platform::event_bus::amqp::{AmqpEventBus, AmqpOptions, ExchangeDeclare};
use platform::event_bus::http::HttpEventBus;
use platform::event_bus::memory::MemoryEventBus;
use platform::event_bus::signature::{EXTENSION, EventKey, SigningBus};
use platform::event_bus::{Event, EventBus, EventBusError};
use tokio::sync::mpsc;

use crate::services;

const DEADLINE: Duration = Duration::from_secs(10);
const TYPE: &str = "mp3convert.video.uploaded";

fn event() -> Event {
    let video_id = platform::new_id();
    let data =
        serde_json::json!({"job_id": platform::new_id(), "video_id": video_id, "owner_id": "o", "filename": "a.mp4", "preset": "v2"});
    Event::new("/mp3convert/upload", TYPE, &video_id, &data)
}

/// The conformance check: what arrived is what was sent.
fn assert_same(received: &Event, sent: &Event) {
    assert_eq!(
        (&received.id, &received.source, &received.ty, &received.subject, &received.data),
        (&sent.id, &sent.source, &sent.ty, &sent.subject, &sent.data)
    );
    assert_eq!(received.time.unix_timestamp(), sent.time.unix_timestamp());
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future).await.unwrap_or_else(|_| panic!("{what} within {DEADLINE:?}"))
}

// ---- memory ------------------------------------------------------------------------------

#[tokio::test]
async fn memory_delivers_the_event() {
    let bus = MemoryEventBus::new();
    let mut subscriber = bus.subscribe();
    let sent = event();
    bus.publish(sent.clone()).await.unwrap();
    let received = within("memory delivery", subscriber.recv()).await.unwrap();
    assert_same(&received, &sent);
}

// ---- AMQP --------------------------------------------------------------------------------

/// The test's own connection to RabbitMQ, and a queue bound to `exchange` as a Knative
/// Trigger binds it (`x-match: all` on `type`).
struct Rabbit {
    channel: Channel,
    exchange: String,
    queue: String,
    consumer: Consumer,
    _connection: Connection,
}

impl Rabbit {
    async fn start(declare_exchange: bool) -> Self {
        let connection = Connection::connect(&services::url("MP3CONVERT_AMQP_URL"), ConnectionProperties::default()).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        let exchange = services::unique("mp3convert_test");
        if declare_exchange {
            declare(&channel, &exchange).await;
        }
        let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..QueueDeclareOptions::default() };
        let queue = channel.queue_declare("", options, FieldTable::default()).await.unwrap().name().to_string();
        let consumer = channel.basic_consume(&queue, "test", BasicConsumeOptions::default(), FieldTable::default()).await.unwrap();
        Self { channel, exchange, queue, consumer, _connection: connection }
    }

    async fn bind(&self) {
        let mut filter = FieldTable::default();
        filter.insert("x-match".into(), AMQPValue::LongString("all".into()));
        filter.insert("type".into(), AMQPValue::LongString(TYPE.into()));
        self.channel.queue_bind(&self.queue, &self.exchange, "", QueueBindOptions::default(), filter).await.unwrap();
    }

    /// The next message, checked against the Broker's format and read back as an event.
    async fn next_event(&mut self) -> Event {
        let delivery = within("AMQP delivery", self.consumer.next()).await.expect("consumer ended").unwrap();
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        let properties = &delivery.properties;
        assert_eq!(properties.content_type().as_ref().map(|t| t.as_str()), Some("application/json"));
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        let headers = properties.headers().clone().expect("headers");
        let header = |name: &str| match headers.inner().get(name) {
            Some(AMQPValue::LongString(value)) => Some(String::from_utf8(value.as_bytes().to_vec()).unwrap()),
            Some(other) => panic!("header {name} is {other:?}"),
            None => None,
        };
        assert_eq!(header("specversion").as_deref(), Some("1.0"));
        for name in headers.inner().keys() {
            assert!(!name.as_str().starts_with("ce"), "prefixed header {name}");
        }
        let id = header("id").expect("id header");
        assert_eq!(properties.message_id().as_ref().map(|m| m.as_str()), Some(id.as_str()));
        let time = header("time").expect("time header");
        Event {
            id,
            source: header("source").expect("source header"),
            ty: header("type").expect("type header"),
            subject: header("subject"),
            time: time::OffsetDateTime::parse(&time, &time::format_description::well_known::Rfc3339).unwrap(),
            data: serde_json::from_slice(&delivery.data).unwrap(),
            signature: header(EXTENSION),
        }
    }

    async fn delete_exchange(&self) {
        self.channel.exchange_delete(&self.exchange, ExchangeDeleteOptions::default()).await.unwrap();
    }
}

async fn declare(channel: &Channel, exchange: &str) {
    let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    channel.exchange_declare(exchange, ExchangeKind::Headers, options, FieldTable::default()).await.unwrap();
}

fn fast_retries(declare: ExchangeDeclare) -> AmqpOptions {
    AmqpOptions { declare, attempts: 2, backoff: Duration::from_millis(20), ..AmqpOptions::default() }
}

#[tokio::test]
async fn amqp_delivers_the_event_in_the_broker_format() {
    let mut rabbit = Rabbit::start(false).await;
    let url = services::url("MP3CONVERT_AMQP_URL");
    let bus = AmqpEventBus::connect(&url, &rabbit.exchange, AmqpOptions::default()).await.unwrap();
    rabbit.bind().await;
    let sent = event();
    bus.publish(sent.clone()).await.unwrap();
    assert_same(&rabbit.next_event().await, &sent);
    rabbit.delete_exchange().await;
}

/// The key both signing tests sign with.
fn key() -> EventKey {
    EventKey::new(&"s".repeat(40)).unwrap()
}

#[tokio::test]
async fn amqp_carries_the_signature_of_a_signing_bus() {
    let mut rabbit = Rabbit::start(false).await;
    let url = services::url("MP3CONVERT_AMQP_URL");
    let amqp = AmqpEventBus::connect(&url, &rabbit.exchange, AmqpOptions::default()).await.unwrap();
    let bus = SigningBus { inner: Arc::new(amqp), key: key() };
    rabbit.bind().await;
    let sent = event();
    bus.publish(sent.clone()).await.unwrap();
    let received = rabbit.next_event().await;
    assert_same(&received, &sent);
    assert_eq!(received.signature, Some(key().sign(&sent)), "the mp3convertsig header");
    rabbit.delete_exchange().await;
}

#[tokio::test]
async fn amqp_passive_declare_refuses_a_missing_exchange() {
    let rabbit = Rabbit::start(false).await;
    let url = services::url("MP3CONVERT_AMQP_URL");
    let result = AmqpEventBus::connect(&url, &rabbit.exchange, fast_retries(ExchangeDeclare::Passive)).await;
    assert!(matches!(result, Err(EventBusError::Unavailable(_))));
}

/// With no queue bound (no Trigger matches), RabbitMQ would drop the event and still confirm
/// it; the bus publishes `mandatory`, so the event comes back and the publish is an error.
#[tokio::test]
async fn amqp_an_event_no_queue_takes_is_an_error_not_dropped() {
    let mut rabbit = Rabbit::start(true).await;
    let url = services::url("MP3CONVERT_AMQP_URL");
    let bus = AmqpEventBus::connect(&url, &rabbit.exchange, fast_retries(ExchangeDeclare::Passive)).await.unwrap();
    let unroutable = bus.publish(event()).await;
    assert!(matches!(&unroutable, Err(EventBusError::Unavailable(e)) if e.contains("no queue")), "{unroutable:?}");

    rabbit.bind().await;
    let routed = event();
    bus.publish(routed.clone()).await.unwrap();
    assert_same(&rabbit.next_event().await, &routed);
    rabbit.delete_exchange().await;
}

/// The server closes the bus's channel (publishing to a deleted exchange is a channel error);
/// once the exchange is back, the next publish reopens the link and is delivered.
#[tokio::test]
async fn amqp_reconnects_after_the_channel_is_closed() {
    let mut rabbit = Rabbit::start(true).await;
    rabbit.bind().await;
    let url = services::url("MP3CONVERT_AMQP_URL");
    let bus = AmqpEventBus::connect(&url, &rabbit.exchange, fast_retries(ExchangeDeclare::Passive)).await.unwrap();
    let first = event();
    bus.publish(first.clone()).await.unwrap();
    assert_same(&rabbit.next_event().await, &first);

    rabbit.delete_exchange().await;
    let lost = bus.publish(event()).await;
    assert!(matches!(lost, Err(EventBusError::Unavailable(_))), "{lost:?}");

    declare(&rabbit.channel, &rabbit.exchange).await;
    rabbit.bind().await;
    let after = event();
    bus.publish(after.clone()).await.unwrap();
    assert_same(&rabbit.next_event().await, &after);
    rabbit.delete_exchange().await;
}

// ---- HTTP --------------------------------------------------------------------------------

/// A sink on 127.0.0.1:0 answering `status`; what it receives comes out of the channel.
async fn sink(status: StatusCode) -> (String, mpsc::UnboundedReceiver<cloudevents::Event>) {
    async fn receive(
        State((status, events)): State<(StatusCode, mpsc::UnboundedSender<cloudevents::Event>)>,
        event: cloudevents::Event,
    ) -> StatusCode {
        let _ = events.send(event);
        status
    }
    let (sender, receiver) = mpsc::unbounded_channel();
    let router = axum::Router::new().route("/", axum::routing::post(receive)).with_state((status, sender));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}/"), receiver)
}

fn from_cloudevent(event: &cloudevents::Event) -> Event {
    let data = match event.data() {
        Some(cloudevents::Data::Json(value)) => value.clone(),
        Some(cloudevents::Data::Binary(bytes)) => serde_json::from_slice(bytes).unwrap(),
        Some(cloudevents::Data::String(text)) => serde_json::from_str(text).unwrap(),
        None => serde_json::Value::Null,
    };
    let time = event.time().expect("time");
    Event {
        id: event.id().to_owned(),
        source: event.source().to_string(),
        ty: event.ty().to_owned(),
        subject: event.subject().map(str::to_owned),
        time: time::OffsetDateTime::from_unix_timestamp(time.timestamp()).unwrap(),
        data,
        signature: event.extension(EXTENSION).map(|v| v.to_string()),
    }
}

#[tokio::test]
async fn http_delivers_the_event_with_the_overrides() {
    let (url, mut received) = sink(StatusCode::ACCEPTED).await;
    let bus = HttpEventBus::new(&url, Some(r#"{"extensions": {"team": "audio"}}"#), DEADLINE).unwrap();
    let sent = event();
    bus.publish(sent.clone()).await.unwrap();
    let event = within("HTTP delivery", received.recv()).await.unwrap();
    assert_eq!(event.datacontenttype(), Some("application/json"));
    assert_eq!(event.extension("team").map(|v| v.to_string()).as_deref(), Some("audio"));
    assert_same(&from_cloudevent(&event), &sent);
}

#[tokio::test]
async fn http_carries_a_signature_the_consumer_verifies() {
    let (url, mut received) = sink(StatusCode::ACCEPTED).await;
    let bus = SigningBus { inner: Arc::new(HttpEventBus::new(&url, None, DEADLINE).unwrap()), key: key() };
    let sent = event();
    bus.publish(sent.clone()).await.unwrap();
    let event = within("HTTP delivery", received.recv()).await.unwrap();
    assert_same(&from_cloudevent(&event), &sent);
    assert_eq!(key().verify(&event), Ok(()));
    assert!(EventKey::new(&"t".repeat(40)).unwrap().verify(&event).is_err(), "verified with another key");
}

#[tokio::test]
async fn http_is_unavailable_when_the_sink_fails() {
    let (url, mut received) = sink(StatusCode::INTERNAL_SERVER_ERROR).await;
    let bus = HttpEventBus::new(&url, None, DEADLINE).unwrap();
    let result = bus.publish(event()).await;
    assert!(matches!(&result, Err(EventBusError::Unavailable(message)) if message.contains("500")), "{result:?}");
    within("HTTP delivery", received.recv()).await.unwrap();
}

#[tokio::test]
async fn http_is_unavailable_when_nothing_listens() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let bus = HttpEventBus::new(&url, None, DEADLINE).unwrap();
    assert!(matches!(bus.publish(event()).await, Err(EventBusError::Unavailable(_))));
}
