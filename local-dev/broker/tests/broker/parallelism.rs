//! The parallelism annotation bounds the deliveries in flight per Trigger.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::support::*;

/// Each delivery takes this long at the subscriber, so that deliveries allowed to overlap do.
const WORK: Duration = Duration::from_millis(400);

async fn run(parallelism: u16, events: usize) -> (Vec<Received>, usize) {
    let sub = Stub::start(WORK, |_, _| StatusCode::OK.into_response()).await;
    let annotation = format!("rabbitmq.eventing.knative.dev/parallelism: '{parallelism}'");
    let manifests = broker_yaml("") + &trigger_yaml("p", "{type: t.par}", "{ref: {kind: Service, name: sub}}", &annotation);
    let broker = start_broker(&manifests, &[("sub", &sub)]).await;

    for i in 0..events {
        assert_eq!(broker.post(&format!("p{i}"), "t.par", &[], "{}").await, StatusCode::ACCEPTED);
    }
    let received = sub.wait_for(events).await;
    broker.finish().await;
    (received, sub.max_in_flight())
}

#[tokio::test]
async fn parallelism_n_allows_up_to_n_deliveries_in_flight() {
    let (received, max_in_flight) = run(3, 7).await;
    assert_eq!(received.len(), 7);
    assert_eq!(max_in_flight, 3);
}

#[tokio::test]
async fn parallelism_1_delivers_one_at_a_time_in_order() {
    let (received, max_in_flight) = run(1, 4).await;
    assert_eq!(max_in_flight, 1);
    let ids: Vec<_> = received.iter().map(|r| r.header("ce-id").unwrap_or_default().to_owned()).collect();
    assert_eq!(ids, ["p0", "p1", "p2", "p3"]);
}
