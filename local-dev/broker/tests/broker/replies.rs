//! A subscriber's reply event goes back onto the Broker and reaches its own Trigger.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::support::*;

fn manifests() -> String {
    broker_yaml("")
        + &trigger_yaml("requests", "{type: t.request}", "{ref: {kind: Service, name: worker}}", "")
        + &trigger_yaml("replies", "{type: t.reply}", "{ref: {kind: Service, name: recorder}}", "")
}

#[tokio::test]
async fn a_binary_mode_reply_is_republished_and_delivered() {
    let worker = Stub::start(Duration::ZERO, |_, request| {
        let mut headers = HeaderMap::new();
        let request_id = request.header("ce-id").unwrap_or_default();
        for (name, value) in
            [("ce-specversion", "1.0"), ("ce-source", "/worker"), ("ce-type", "t.reply"), ("content-type", "application/json")]
        {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers.insert("ce-id", HeaderValue::try_from(format!("reply-to-{request_id}")).unwrap());
        (StatusCode::OK, headers, r#"{"done":true}"#).into_response()
    })
    .await;
    let recorder = Stub::answering(200).await;
    let broker = start_broker(&manifests(), &[("worker", &worker), ("recorder", &recorder)]).await;

    assert_eq!(broker.post("q1", "t.request", &[], "{}").await, StatusCode::ACCEPTED);

    let reply = &recorder.wait_for(1).await[0];
    assert_eq!(reply.header("ce-id"), Some("reply-to-q1"));
    assert_eq!(reply.header("ce-source"), Some("/worker"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, br#"{"done":true}"#);
    assert_eq!(worker.received().len(), 1, "the request was delivered once and acked");
    broker.finish().await;
}

#[tokio::test]
async fn a_structured_mode_reply_is_republished_and_delivered() {
    let worker = Stub::start(Duration::ZERO, |_, _| {
        let event = json!({"specversion": "1.0", "id": "r-structured", "source": "/worker", "type": "t.reply", "datacontenttype": "application/json", "data": {"n": 2}});
        (StatusCode::OK, [("content-type", "application/cloudevents+json")], event.to_string()).into_response()
    })
    .await;
    let recorder = Stub::answering(200).await;
    let broker = start_broker(&manifests(), &[("worker", &worker), ("recorder", &recorder)]).await;

    assert_eq!(broker.post("q2", "t.request", &[], "{}").await, StatusCode::ACCEPTED);

    let reply = &recorder.wait_for(1).await[0];
    assert_eq!(reply.header("ce-id"), Some("r-structured"));
    assert_eq!(serde_json::from_slice::<Value>(&reply.body).unwrap(), json!({"n": 2}));
    broker.finish().await;
}
