//! The HTTP ingress: structured mode, bad requests, readiness, and 503 without RabbitMQ.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn a_structured_event_is_accepted_and_delivered_in_binary_mode() {
    let a = Stub::answering(200).await;
    let manifests = broker_yaml("") + &trigger_yaml("a", "{type: t.structured}", "{ref: {kind: Service, name: a}}", "");
    let broker = start_broker(&manifests, &[("a", &a)]).await;

    let event = json!({"specversion": "1.0", "id": "s1", "source": "/s", "type": "t.structured", "datacontenttype": "application/json", "data": {"k": "v"}});
    let response = broker
        .client
        .post(broker.broker.url())
        .header("content-type", "application/cloudevents+json")
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    let got = &a.wait_for(1).await[0];
    assert_eq!(got.header("ce-id"), Some("s1"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&got.body).unwrap(), json!({"k": "v"}));
    broker.finish().await;
}

#[tokio::test]
async fn a_request_that_is_not_a_cloudevent_is_a_400_and_probes_answer() {
    let broker = start_broker(&broker_yaml(""), &[]).await;

    let response = broker.client.post(broker.broker.url()).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "invalid_cloudevent");
    for probe in ["/health/liveness", "/health/readiness"] {
        assert_eq!(broker.client.get(format!("{}{probe}", broker.broker.url())).send().await.unwrap().status(), 200, "{probe}");
    }
    broker.finish().await;
}

#[tokio::test]
async fn without_rabbitmq_ingress_answers_503_and_is_not_ready() {
    // Nothing listens on a port we bound and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.yaml"), broker_yaml("")).unwrap();
    let config = local_broker::BrokerConfig {
        publish_patience: std::time::Duration::from_millis(100),
        ..local_broker::BrokerConfig::new(dir.path(), format!("amqp://u:p@127.0.0.1:{port}/%2f"))
    };
    let broker = local_broker::start(config).await.expect("starts without RabbitMQ");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let response = client
        .post(broker.url())
        .header("ce-specversion", "1.0")
        .header("ce-id", "x")
        .header("ce-source", "/s")
        .header("ce-type", "t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE.as_u16());
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "broker_unavailable");
    assert_eq!(client.get(format!("{}/health/readiness", broker.url())).send().await.unwrap().status(), 503);
    assert_eq!(client.get(format!("{}/health/liveness", broker.url())).send().await.unwrap().status(), 200);
    broker.shutdown().await.unwrap();
}
