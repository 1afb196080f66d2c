//! `GET /api/v1/jobs/{job_id}/events` on the upload function while the converter function
//! works: progress recorded in MongoDB reaches the stream.

use std::time::Duration;

use serde_json::Value;
use tests::cluster::Cluster;
use tests::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_events_follow_the_converter_function() {
    let cluster = Cluster::start().await;
    let user = cluster.user().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "talk.mp4", 300.0);
    let job: Value = cluster.upload(&user, &video).await.json().await.unwrap();
    let job_id = job["job_id"].as_str().unwrap();

    let url = format!("{}/api/v1/jobs/{job_id}/events", cluster.upload.url);
    let events = cluster.client.get(&url).bearer_auth(&user.token).send().await.unwrap();
    let messages = tests::event_stream(events, Duration::from_secs(180)).await;
    let progress = tests::check_job_events(&messages, job_id);
    assert!(progress.iter().filter(|p| **p > 0.0 && **p < 1.0).count() >= 6, "progress along the way: {progress:?}");
    assert_eq!(messages.last().unwrap(), &cluster.job(&user, job_id).await);

    let stranger = cluster.user().await;
    assert_eq!(cluster.client.get(&url).bearer_auth(&stranger.token).send().await.unwrap().status(), 404);
    cluster.stop().await;
}
