use cloudevents::{EventBuilder, EventBuilderV10};
use lapin::types::{ShortString, ShortUInt};
use serde_json::json;

use super::*;

fn header(properties: &BasicProperties, name: &str) -> Option<String> {
    raw_header(properties, name)
}

fn event() -> Event {
    EventBuilderV10::new()
        .id("evt-1")
        .source("/tests/message")
        .ty("mp3convert.video.uploaded")
        .subject("video-9")
        .time("2024-05-01T12:00:00Z")
        .extension("traceparent", "00-abc-def-01")
        .extension("attempt", 3)
        .data("application/json", json!({"job_id": "j1"}))
        .build()
        .unwrap()
}

#[test]
fn an_event_becomes_a_broker_message_with_unprefixed_headers() {
    let message = from_event(&event());
    let p = &message.properties;

    assert_eq!(serde_json::from_slice::<serde_json::Value>(&message.body).unwrap(), json!({"job_id": "j1"}));
    assert_eq!(p.content_type().as_ref().map(ShortString::as_str), Some("application/json"));
    assert_eq!(p.delivery_mode(), &Some(2));
    assert_eq!(p.message_id().as_ref().map(ShortString::as_str), Some("evt-1"));
    for (name, value) in [
        ("specversion", "1.0"),
        ("id", "evt-1"),
        ("source", "/tests/message"),
        ("type", "mp3convert.video.uploaded"),
        ("subject", "video-9"),
        ("traceparent", "00-abc-def-01"),
        ("attempt", "3"),
    ] {
        assert_eq!(header(p, name).as_deref(), Some(value), "header {name}");
        assert!(matches!(p.headers().as_ref().unwrap().inner().get(name), Some(AMQPValue::LongString(_))), "{name} is a long string");
    }
    let time = header(p, "time").unwrap();
    assert_eq!(OffsetDateTime::parse(&time, &Rfc3339).unwrap().unix_timestamp(), 1_714_564_800);
    assert!(header(p, "datacontenttype").is_none(), "datacontenttype travels as content_type");
    assert!(p.headers().as_ref().unwrap().inner().keys().all(|k| !k.as_str().starts_with("ce")));
}

#[test]
fn unprefixed_headers_become_ce_headers() {
    let headers = http_headers(&from_event(&event()).properties);

    assert_eq!(headers["ce-id"], "evt-1");
    assert_eq!(headers["ce-specversion"], "1.0");
    assert_eq!(headers["ce-type"], "mp3convert.video.uploaded");
    assert_eq!(headers["ce-traceparent"], "00-abc-def-01");
    assert_eq!(headers["content-type"], "application/json");
    let round_trip = cloudevents::binding::http::to_event(&headers, from_event(&event()).body).unwrap();
    assert_eq!(round_trip.id(), "evt-1");
    assert_eq!(round_trip.subject(), Some("video-9"));
}

#[test]
fn ce_prefixed_and_typed_headers_are_read_and_x_headers_ignored() {
    let mut table = FieldTable::default();
    table.insert("ce-id".into(), AMQPValue::ShortString("a-1".into()));
    table.insert("CE-Type".into(), AMQPValue::LongString("t.x".into()));
    table.insert("source".into(), AMQPValue::LongString("/s".into()));
    table.insert("specversion".into(), AMQPValue::LongString("1.0".into()));
    table.insert("count".into(), AMQPValue::ShortUInt(ShortUInt::from(7u16)));
    table.insert("flag".into(), AMQPValue::Boolean(true));
    table.insert("time".into(), AMQPValue::Timestamp(1_714_564_800));
    table.insert("x-death".into(), AMQPValue::LongString("1".into()));
    table.insert("x-first-death-queue".into(), AMQPValue::LongString("q".into()));
    table.insert("nested".into(), AMQPValue::FieldTable(FieldTable::default()));
    let properties = BasicProperties::default().with_headers(table).with_content_type("text/plain".into());

    let headers = http_headers(&properties);

    assert_eq!(headers["ce-id"], "a-1");
    assert_eq!(headers["ce-type"], "t.x");
    assert_eq!(headers["ce-source"], "/s");
    assert_eq!(headers["ce-count"], "7");
    assert_eq!(headers["ce-flag"], "true");
    assert_eq!(headers["ce-time"], "2024-05-01T12:00:00Z");
    assert_eq!(headers["content-type"], "text/plain");
    assert!(headers.keys().all(|k| !k.as_str().contains("x-") && !k.as_str().contains("death")), "{headers:?}");
    assert!(!headers.contains_key("ce-nested"));
    assert_eq!(headers.len(), 8);
    assert_eq!(attribute(&properties, "type").as_deref(), Some("t.x"));
    assert_eq!(attribute(&properties, "id").as_deref(), Some("a-1"));
}

#[test]
fn a_dead_letter_keeps_the_message_and_adds_the_error() {
    let original = from_event(&event());
    let long_body = vec![b'e'; 3000];
    let error = DeliveryError { destination: "http://sub/x".into(), status: Some(500), data: long_body };

    let dead = dead_letter(&original, &error, "t1");

    assert_eq!(dead.body, original.body);
    assert_eq!(dead.properties.content_type(), original.properties.content_type());
    assert_eq!(header(&dead.properties, "id").as_deref(), Some("evt-1"));
    assert_eq!(header(&dead.properties, ERROR_DEST).as_deref(), Some("http://sub/x"));
    assert_eq!(header(&dead.properties, ERROR_CODE).as_deref(), Some("500"));
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.decode(header(&dead.properties, ERROR_DATA).unwrap()).unwrap();
    assert_eq!(data, vec![b'e'; ERROR_DATA_LIMIT]);
    assert_eq!(header(&dead.properties, TRIGGER_HEADER).as_deref(), Some("t1"));
    let http = http_headers(&dead.properties);
    assert_eq!(http["ce-knativeerrorcode"], "500");
    assert!(!http.contains_key("ce-x-local-broker-trigger") && !http.contains_key("x-local-broker-trigger"));

    let network = DeliveryError { destination: "http://sub/x".into(), status: None, data: Vec::new() };
    let dead = dead_letter(&original, &network, "t1");
    assert_eq!(header(&dead.properties, ERROR_CODE).as_deref(), Some("0"));
    assert!(header(&dead.properties, ERROR_DATA).is_none());
}

#[test]
fn replies_are_recognised_in_both_modes_and_only_then() {
    let mut binary = HeaderMap::new();
    for (name, value) in
        [("ce-id", "r1"), ("ce-source", "/r"), ("ce-type", "reply.t"), ("ce-specversion", "1.0"), ("content-type", "application/json")]
    {
        binary.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    let reply = reply_event(&binary, b"{\"a\":1}".to_vec()).unwrap().unwrap();
    assert_eq!((reply.id(), reply.ty()), ("r1", "reply.t"));

    let mut structured = HeaderMap::new();
    structured.insert(CONTENT_TYPE, HeaderValue::from_static("application/cloudevents+json; charset=utf-8"));
    let body = json!({"specversion": "1.0", "id": "r2", "source": "/r", "type": "reply.s", "data": {"b": 2}});
    let reply = reply_event(&structured, serde_json::to_vec(&body).unwrap()).unwrap().unwrap();
    assert_eq!((reply.id(), reply.ty()), ("r2", "reply.s"));

    let mut plain = HeaderMap::new();
    plain.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    assert!(reply_event(&plain, b"{}".to_vec()).is_none());
    assert!(reply_event(&HeaderMap::new(), Vec::new()).is_none());
}
