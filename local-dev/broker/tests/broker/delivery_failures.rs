//! Retries, backoff, dead letters with the knativeerror* extensions, and dropping.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine as _;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use crate::support::*;

const SUBSCRIBER: &str = "{ref: {kind: Service, name: sub}, uri: /hook}";
const DELIVERY_WITH_SINK: &str = "  delivery: {retry: 2, backoffPolicy: exponential, backoffDelay: PT0.05S, deadLetterSink: {ref: {kind: Service, name: dls}, uri: /dead}}";

fn decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("knativeerrordata is base64")
}

#[tokio::test]
async fn retryable_failures_are_retried_with_backoff_then_dead_lettered() {
    let sub = Stub::answering(503).await;
    let dls = Stub::answering(200).await;
    let manifests = broker_yaml(DELIVERY_WITH_SINK) + &trigger_yaml("a", "{type: t.fail}", SUBSCRIBER, "");
    let broker = start_broker(&manifests, &[("sub", &sub), ("dls", &dls)]).await;

    assert_eq!(broker.post("f1", "t.fail", &[("ce-myext", "kept")], r#"{"job":1}"#).await, StatusCode::ACCEPTED);

    let dead = &dls.wait_for(1).await[0];
    let attempts = sub.received();
    assert_eq!(attempts.len(), 3, "1 attempt + retry: 2");
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(50) && gaps[1] >= Duration::from_millis(100), "exponential backoff: {gaps:?}");
    assert_eq!(dead.header("ce-id"), Some("f1"));
    assert_eq!(dead.header("ce-type"), Some("t.fail"));
    assert_eq!(dead.header("ce-myext"), Some("kept"));
    assert_eq!(dead.header("ce-knativeerrordest"), Some(format!("{}hook", sub.url).as_str()));
    assert_eq!(dead.header("ce-knativeerrorcode"), Some("503"));
    assert_eq!(decode(dead.header("ce-knativeerrordata").unwrap()), b"stub says no");
    assert_eq!(dead.header("content-type"), Some("application/json"));
    assert_eq!(dead.body, br#"{"job":1}"#);
    assert!(dead.headers.keys().all(|k| !k.as_str().contains("local-broker")), "internal headers stay internal");
    broker.finish().await;
}

#[tokio::test]
async fn a_400_is_dead_lettered_without_retries() {
    let sub = Stub::answering(400).await;
    let dls = Stub::answering(200).await;
    let manifests = broker_yaml(DELIVERY_WITH_SINK) + &trigger_yaml("a", "{type: t.bad}", SUBSCRIBER, "");
    let broker = start_broker(&manifests, &[("sub", &sub), ("dls", &dls)]).await;

    assert_eq!(broker.post("b1", "t.bad", &[], "{}").await, StatusCode::ACCEPTED);

    let dead = &dls.wait_for(1).await[0];
    assert_eq!(dead.header("ce-knativeerrorcode"), Some("400"));
    assert_eq!(sub.received().len(), 1, "a 400 is not retried");
    broker.finish().await;
}

#[tokio::test]
async fn a_subscriber_that_does_not_answer_is_dead_lettered_with_code_0() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = format!("{{uri: 'http://127.0.0.1:{port}/gone'}}");
    let dls = Stub::answering(200).await;
    let manifests = broker_yaml(DELIVERY_WITH_SINK) + &trigger_yaml("a", "{type: t.gone}", &nowhere, "");
    let broker = start_broker(&manifests, &[("dls", &dls)]).await;

    assert_eq!(broker.post("g1", "t.gone", &[], "{}").await, StatusCode::ACCEPTED);

    let dead = &dls.wait_for(1).await[0];
    assert_eq!(dead.header("ce-knativeerrorcode"), Some("0"));
    assert_eq!(dead.header("ce-knativeerrordest"), Some(format!("http://127.0.0.1:{port}/gone").as_str()));
    let data = String::from_utf8(decode(dead.header("ce-knativeerrordata").unwrap())).unwrap();
    assert!(data.starts_with("dispatch error:"), "{data}");
    broker.finish().await;
}

#[tokio::test]
async fn the_dead_letter_sink_is_retried_until_it_takes_the_event() {
    let sub = Stub::answering(400).await;
    let dls =
        Stub::start(Duration::ZERO, |call, _| if call < 4 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }.into_response())
            .await;
    let delivery = "  delivery: {retry: 1, backoffDelay: PT0.05S, deadLetterSink: {ref: {kind: Service, name: dls}}}";
    let manifests = broker_yaml(delivery) + &trigger_yaml("a", "{type: t.dls}", SUBSCRIBER, "");
    let broker = start_broker(&manifests, &[("sub", &sub), ("dls", &dls)]).await;

    assert_eq!(broker.post("d1", "t.dls", &[], "{}").await, StatusCode::ACCEPTED);

    // 2 attempts per round (retry: 1): the 5th call, in the third round, succeeds.
    let calls = dls.wait_for(5).await;
    assert!(calls.iter().all(|c| c.header("ce-id") == Some("d1") && c.header("ce-knativeerrorcode") == Some("400")));
    broker.finish().await;
}

#[tokio::test]
async fn without_a_dead_letter_sink_a_failed_event_is_dropped() {
    let sub = Stub::answering(415).await;
    let manifests = broker_yaml("  delivery: {retry: 3, backoffDelay: PT0.05S}") + &trigger_yaml("a", "{type: t.drop}", SUBSCRIBER, "");
    let broker = start_broker(&manifests, &[("sub", &sub)]).await;
    let queue = broker.broker.names().trigger_queue("trigger-a");

    assert_eq!(broker.post("x1", "t.drop", &[], "{}").await, StatusCode::ACCEPTED);
    sub.wait_for(1).await;
    let _topology = broker.stop().await;

    // Unacked, it would be back in the queue now that the broker's connection is closed.
    let channel = channel().await;
    let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
    let queue_state = channel.queue_declare(&queue, passive, FieldTable::default()).await.unwrap();
    assert_eq!(queue_state.message_count(), 0, "the failed event was acked (dropped)");
    assert_eq!(sub.received().len(), 1, "415 is not retried");
}
