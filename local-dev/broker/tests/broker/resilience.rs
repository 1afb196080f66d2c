//! Losing RabbitMQ: ingress answers 503 and readiness fails meanwhile; the broker
//! reconnects, re-declares and resumes consuming by itself.

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

    let received = sub.wait_for(2).await;
    let ids: Vec<_> = received.iter().map(|r| r.header("ce-id").unwrap_or_default().to_owned()).collect();
    assert_eq!(ids, ["before", "after"]);
    broker.finish().await;
}
