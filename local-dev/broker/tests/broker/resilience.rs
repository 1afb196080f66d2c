//! Losing RabbitMQ: ingress answers 503 and readiness fails meanwhile; the broker
//! reconnects, re-declares and resumes consuming by itself.

use std::collections::BTreeSet;

use axum::http::StatusCode;

use crate::support::*;

#[tokio::test]
async fn the_broker_reconnects_after_losing_rabbitmq_and_resumes_consuming() {
    let proxy = Proxy::start().await;
    let sub = Stub::answering(200).await;
    let manifests = broker_yaml("") + &trigger_yaml("a", "{type: t.res}", "{ref: {kind: Service, name: sub}}", "");
    let broker = start_broker_with(&manifests, &[("sub", &sub)], proxy.url.clone(), true).await;
    assert_eq!(broker.post("before", "t.res", &[], "{}").await, StatusCode::ACCEPTED);
    sub.wait_for(1).await;

    proxy.cut();
    eventually("the broker to notice the lost connection", DEADLINE, || async { (!broker.broker.is_ready()).then_some(()) }).await;
    let readiness = broker.client.get(format!("{}/health/readiness", broker.broker.url())).send().await.unwrap();
    assert_eq!(readiness.status(), 503);
    assert_eq!(broker.post("during", "t.res", &[], "{}").await, StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore();
    assert!(broker.broker.wait_ready(DEADLINE).await, "reconnected");
    assert_eq!(broker.post("after", "t.res", &[], "{}").await, StatusCode::ACCEPTED);

    // Delivery is at-least-once: if the cut came before RabbitMQ had "before"'s ack, it is
    // delivered again after the reconnect. "during" was refused, so it never arrives.
    let ids = eventually("\"after\" to be delivered", DEADLINE, || async {
        let ids: Vec<String> = sub.received().iter().map(|r| r.header("ce-id").unwrap_or_default().to_owned()).collect();
        ids.iter().any(|id| id == "after").then_some(ids)
    })
    .await;
    let distinct: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(distinct, BTreeSet::from(["after", "before"]), "delivered: {ids:?}");
    broker.finish().await;
}
