//! Jobs whose input crashes the converter or breaks a limit end `failed` with a precise code
//! in one attempt, and the jobs after them still convert.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::app::{TestApp, TestUser};
use tests::crafted::wav;
use tests::fixtures;
use tests::process::fake_converter;

/// Uploads `file` and waits for its job to finish; returns the job and how long it took.
async fn convert(app: &TestApp, user: &TestUser, file: &Path) -> (Value, Duration) {
    let started = Instant::now();
    let response = app.upload(user, file).await;
    assert_eq!(response.status(), 202, "upload: {}", response.text().await.unwrap_or_default());
    let body: Value = response.json().await.unwrap();
    let job = app.finished_job(user, body["job_id"].as_str().unwrap()).await;
    (job, started.elapsed())
}

fn assert_failed_with(job: &Value, code: &str) {
    assert_eq!((job["status"].as_str(), job["error"]["code"].as_str()), (Some("failed"), Some(code)), "{job}");
    assert!(job["mp3_id"].is_null(), "no MP3 for a failed job: {job}");
}

#[tokio::test]
async fn a_wav_declaring_4_ghz_fails_at_once_instead_of_staying_processing() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("4ghz.wav");
    std::fs::write(&file, wav(4_294_967_291, 1, 16, &[0; 6])).unwrap();
    let (job, took) = convert(&app, &user, &file).await;
    assert_failed_with(&job, "unsupported_sample_rate");
    assert!(took < Duration::from_secs(10), "failed after {took:?}");
    assert_eq!(app.stored_files("mp3s"), 0);
}

#[tokio::test]
async fn a_job_past_the_memory_limit_fails_and_the_next_one_converts() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    let (job, _) = convert(&app, &user, &fixtures::ogg_with_a_big_cover(dir.path())).await;
    assert_failed_with(&job, "memory_limit");
    let (next, _) = convert(&app, &user, &fixtures::video(dir.path(), "next.mp4", 1.0)).await;
    assert_eq!(next["status"], "succeeded", "{next}");
}

#[tokio::test]
async fn a_crashing_converter_fails_the_job_in_one_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let fake = fake_converter(dir.path(), &format!("echo run >> {}; kill -ABRT $$", runs.display()));
    let app = TestApp::spawn_with(&[("MP3CONVERT_CONVERTER_EXE", fake.to_str().unwrap())]).await;
    let user = app.user().await;
    let (job, _) = convert(&app, &user, &fixtures::video(dir.path(), "in.mp4", 1.0)).await;
    assert_failed_with(&job, "converter_crashed");
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 1, "the converter ran once, not once per retry");
}

#[tokio::test]
async fn a_hanging_converter_is_killed_at_its_time_budget_and_the_job_fails() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let fake = fake_converter(dir.path(), &format!("echo run >> {}; exec sleep 600", runs.display()));
    let app =
        TestApp::spawn_with(&[("MP3CONVERT_CONVERTER_EXE", fake.to_str().unwrap()), ("MP3CONVERT_CONVERSION_TIMEOUT_SECS", "1")]).await;
    let user = app.user().await;
    let (job, took) = convert(&app, &user, &fixtures::video(dir.path(), "in.mp4", 1.0)).await;
    assert_failed_with(&job, "conversion_timeout");
    assert!(took < Duration::from_secs(15), "failed after {took:?}");
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 1, "the converter ran once");
}
