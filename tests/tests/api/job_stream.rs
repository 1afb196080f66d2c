//! `GET /api/v1/jobs/{job_id}/events`: a job's changes as server-sent events, on the
//! all-in-one platform (the distributed form's test is in `distributed/job_stream.rs`).

use std::time::Duration;

use serde_json::Value;
use tests::app::TestApp;
use tests::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_events_follow_it_to_the_end() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    // Long enough that the conversion takes a second or more: progress is written at most
    // every 100 ms, so about ten values show along the way (the old 500 ms gave three).
    let video = fixtures::video(dir.path(), "talk.mp4", 300.0);
    let job: Value = app.upload(&user, &video).await.json().await.unwrap();
    let job_id = job["job_id"].as_str().unwrap();

    let events = app.client.get(app.at(&format!("/api/v1/jobs/{job_id}/events"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(events.headers()["x-accel-buffering"], "no");
    let messages = tests::event_stream(events, Duration::from_secs(120)).await;
    let progress = tests::check_job_events(&messages, job_id);
    assert!(progress.iter().filter(|p| **p > 0.0 && **p < 1.0).count() >= 6, "progress along the way: {progress:?}");
    assert_eq!(messages.last().unwrap(), &app.job(&user, job_id).await, "the last message is the job as GET answers it");

    // A finished job's stream is that one message.
    let again = app.client.get(app.at(&format!("/api/v1/jobs/{job_id}/events"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(tests::event_stream(again, Duration::from_secs(10)).await, [messages.last().unwrap().clone()]);
}

#[tokio::test]
async fn only_the_owner_sees_a_jobs_events() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user().await, app.user().await);
    let dir = tempfile::tempdir().unwrap();
    let job: Value = app.upload(&alice, &fixtures::video(dir.path(), "mine.mp4", 0.5)).await.json().await.unwrap();
    let path = format!("/api/v1/jobs/{}/events", job["job_id"].as_str().unwrap());

    let theirs = app.client.get(app.at(&path)).bearer_auth(&bob.token).send().await.unwrap();
    assert_eq!(theirs.status(), 404, "another user's job");
    let body: Value = theirs.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let unknown = app.client.get(app.at("/api/v1/jobs/no-such-job/events")).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let anonymous = app.client.get(app.at(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}
