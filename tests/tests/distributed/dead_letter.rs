//! A subscriber that always fails: the broker retries as the Broker's delivery spec says,
//! then dead-letters the event to the upload function's `/events/dead-letter` with the
//! `knativeerrordest`/`knativeerrorcode` extensions, and the job is marked failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use tests::cluster::{Cluster, Options, eventing_dir};
use tests::fixtures;

/// The retries of eventing/broker.yaml's delivery spec (`retry: 5`): 1 + 5 attempts.
const ATTEMPTS: u32 = 6;

/// The repo's manifests with the backoff shortened (1 s → 50 ms) so that the test runs in
/// a second; everything else (filters, subscribers, retries, dead-letter sink) unchanged.
fn fast_eventing(dir: &std::path::Path) -> std::path::PathBuf {
    let out = dir.join("eventing");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(eventing_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(out.join(path.file_name().unwrap()), text.replace("backoffDelay: PT1S", "backoffDelay: PT0.05S")).unwrap();
        }
    }
    let broker = std::fs::read_to_string(out.join("broker.yaml")).unwrap();
    assert!(broker.contains("backoffDelay: PT0.05S") && broker.contains("retry: 5"), "broker.yaml's delivery changed: update this test");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_failing_converter_dead_letters_the_event_and_the_job_fails() {
    let dir = tempfile::tempdir().unwrap();
    // The stand-in for the convert Service: always 503.
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let stand_in = axum::Router::new().route(
        "/",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                (StatusCode::SERVICE_UNAVAILABLE, "always down")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stand_in_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stand_in).await });

    let options = Options { eventing: fast_eventing(dir.path()), convert_stand_in: Some(stand_in_url.clone()), ..Options::default() };
    let cluster = Cluster::start_with(options).await;
    let video = fixtures::video(dir.path(), "doomed.mp4", 1.0);
    let user = cluster.user().await;
    let uploaded: serde_json::Value = cluster.upload(&user, &video).await.json().await.unwrap();
    let job_id = uploaded["job_id"].as_str().expect("job_id");

    let job = cluster.finished_job(&user, job_id, Duration::from_secs(60)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "delivery_failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    // The dead letter carried the subscriber that failed and its last status.
    assert!(message.contains(&stand_in_url) && message.contains("503"), "{message}");
    assert_eq!(attempts.load(Ordering::SeqCst), ATTEMPTS);
    assert_eq!(cluster.gridfs_files("mp3s").await, 0);
    cluster.stop().await;
}
