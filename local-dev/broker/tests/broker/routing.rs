//! Events reach exactly the Triggers whose filters match, in binary mode.

use axum::http::StatusCode;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};

use crate::support::*;

fn service(name: &str) -> String {
    format!("{{ref: {{kind: Service, name: {name}}}}}")
}

#[tokio::test]
async fn events_reach_only_matching_triggers_as_binary_mode_requests() {
    let a = Stub::answering(200).await;
    let b = Stub::answering(200).await;
    let manifests = broker_yaml("")
        + &trigger_yaml("a", "{type: t.a}", &service("a"), "")
        + &trigger_yaml("b", "{type: t.b, subject: only}", &service("b"), "");
    let broker = start_broker(&manifests, &[("a", &a), ("b", &b)]).await;

    let extra = [("ce-subject", "s-1"), ("ce-myext", "v1"), ("ce-time", "2024-05-01T12:00:00Z")];
    assert_eq!(broker.post("e1", "t.a", &extra, r#"{"n":1}"#).await, StatusCode::ACCEPTED);
    assert_eq!(broker.post("e2", "t.b", &[("ce-subject", "other")], "{}").await, StatusCode::ACCEPTED);
    assert_eq!(broker.post("e3", "t.b", &[("ce-subject", "only")], "{}").await, StatusCode::ACCEPTED);
    // Markers: each queue is FIFO with parallelism 1, so anything routed before them
    // would arrive before them.
    assert_eq!(broker.post("e4", "t.a", &[], "{}").await, StatusCode::ACCEPTED);

    let at_a = a.wait_for(2).await;
    let first = &at_a[0];
    assert_eq!(first.header("ce-id"), Some("e1"));
    assert_eq!(first.header("ce-specversion"), Some("1.0"));
    assert_eq!(first.header("ce-type"), Some("t.a"));
    assert_eq!(first.header("ce-source"), Some("/tests/broker"));
    assert_eq!(first.header("ce-subject"), Some("s-1"));
    assert_eq!(first.header("ce-myext"), Some("v1"));
    assert!(first.header("ce-time").is_some_and(|t| t.starts_with("2024-05-01T12:00:00")), "{:?}", first.header("ce-time"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.body, br#"{"n":1}"#);
    let ids = |all: &[Received]| all.iter().map(|r| r.header("ce-id").unwrap_or_default().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&at_a), ["e1", "e4"]);

    let at_b = b.wait_for(1).await;
    assert_eq!(ids(&at_b), ["e3"], "filters match on every attribute");
    broker.finish().await;
}

#[tokio::test]
async fn an_event_published_on_the_exchange_by_another_client_is_delivered() {
    let a = Stub::answering(200).await;
    let broker = start_broker(&(broker_yaml("") + &trigger_yaml("a", "{type: t.direct}", &service("a"), "")), &[("a", &a)]).await;

    let mut headers = FieldTable::default();
    let mut text = |name: &str, value: &str| {
        headers.insert(name.into(), AMQPValue::LongString(LongString::from(value)));
    };
    text("specversion", "1.0");
    text("id", "direct-1");
    text("source", "/another/system");
    text("type", "t.direct");
    text("ce-subject", "prefixed");
    text("x-trace", "not an attribute");
    headers.insert("retries".into(), AMQPValue::LongLongInt(3));
    let properties = BasicProperties::default().with_content_type("application/json".into()).with_delivery_mode(2).with_headers(headers);
    let channel = channel().await;
    let confirm =
        channel.basic_publish(&broker.exchange(), "", BasicPublishOptions::default(), br#"{"video_id":"v"}"#, properties).await.unwrap();
    confirm.await.unwrap();

    let got = &a.wait_for(1).await[0];
    assert_eq!(got.header("ce-id"), Some("direct-1"));
    assert_eq!(got.header("ce-source"), Some("/another/system"));
    assert_eq!(got.header("ce-type"), Some("t.direct"));
    assert_eq!(got.header("ce-subject"), Some("prefixed"));
    assert_eq!(got.header("ce-retries"), Some("3"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert!(got.headers.keys().all(|k| !k.as_str().contains("trace")), "x-* headers stay out: {:?}", got.headers);
    assert_eq!(got.body, br#"{"video_id":"v"}"#);
    broker.finish().await;
}
