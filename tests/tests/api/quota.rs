//! Per-user upload limits: the storage quota (413 `quota_exceeded`) and the number of jobs
//! queued or converting (429 `too_many_jobs`). Neither stores anything when it refuses.
//!
//! The converter here never answers (it reads its input and says nothing), so jobs stay
//! `processing`/`queued` (until the stall timeout, 5 s here) and no MP3 is stored: what a
//! user keeps is exactly their uploads.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tests::app::{TestApp, TestUser};

/// An executable that stands in for the converter and never finishes a conversion (until
/// the test process closes its input).
fn silent_converter(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("silent-converter");
    // Written by a child process: a write descriptor open in this (threaded) process could be
    // inherited by a concurrent fork elsewhere and make running the file fail with ETXTBSY.
    // `cat` echoes what it is sent to stderr and holds stdout open (as fd 3), so the parent
    // waits for an answer; it ends when its input closes.
    let script = r#"printf '#!/bin/sh\nexec /bin/cat 3>&1 >&2\n' > "$1" && chmod 755 "$1""#;
    let status = std::process::Command::new("sh").args(["-c", script, "sh"]).arg(&path).status().unwrap();
    assert!(status.success());
    path
}

/// Media-looking bytes (an MP4 header) of `len`.
fn video(len: usize) -> Vec<u8> {
    let mut bytes = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    bytes.resize(len, 7);
    bytes
}

async fn upload_raw(app: &TestApp, user: &TestUser, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.at("/api/v1/videos?filename=clip.mp4"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn spawn(dir: &tempfile::TempDir, vars: &[(&str, &str)]) -> TestApp {
    let converter = silent_converter(dir);
    // A stalled conversion is cut off after this: the end of a test waits for it.
    let mut all = vec![("MP3CONVERT_CONVERTER_EXE", converter.to_str().unwrap()), ("MP3CONVERT_CONVERSION_TIMEOUT_SECS", "5")];
    all.extend_from_slice(vars);
    TestApp::spawn_with(&all).await
}

/// Bytes in the store's unfinished writes. (The silent conversion's MP3 has one, empty.)
fn temp_bytes(app: &TestApp) -> u64 {
    let entries = std::fs::read_dir(app.data_dir.join("blobs/tmp")).unwrap();
    entries.map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_upload_past_what_the_quota_leaves_is_413_quota_exceeded_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(&dir, &[("MP3CONVERT_QUOTA_BYTES", "150000")]).await;
    let user = app.user().await;
    assert_eq!(upload_raw(&app, &user, video(100_000)).await.status(), 202);

    // 50,000 bytes are left: the stream is cut off there (no Content-Length to go by).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = video(100_000).chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let response = upload_raw(&app, &user, reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "quota_exceeded");
    assert_eq!(app.stored_files("videos"), 1, "the refused upload was kept");
    assert_eq!(temp_bytes(&app), 0, "the refused upload was left in tmp/");

    // What is left can still be used, to the byte.
    assert_eq!(upload_raw(&app, &user, video(50_000)).await.status(), 202);
    // Another user has a quota of their own.
    let other = app.user().await;
    assert_eq!(upload_raw(&app, &other, video(100_000)).await.status(), 202);
}

#[tokio::test]
async fn at_the_quota_an_upload_is_refused_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(&dir, &[("MP3CONVERT_QUOTA_BYTES", "100000")]).await;
    let user = app.user().await;
    assert_eq!(upload_raw(&app, &user, video(100_000)).await.status(), 202);

    // A body that sends its head and then never ends: only an answer that does not wait
    // for the body can come.
    let head: Result<Vec<u8>, std::io::Error> = Ok(video(4096));
    let endless = futures_util::StreamExt::chain(futures_util::stream::iter([head]), futures_util::stream::pending());
    let response = tokio::time::timeout(Duration::from_secs(20), upload_raw(&app, &user, reqwest::Body::wrap_stream(endless)))
        .await
        .expect("no answer while the body was still coming");
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "quota_exceeded");
    assert_eq!(app.stored_files("videos"), 1);
}

#[tokio::test]
async fn the_size_limit_is_still_too_large_within_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(&dir, &[("MP3CONVERT_QUOTA_BYTES", "1000000"), ("MP3CONVERT_MAX_UPLOAD_BYTES", "50000")]).await;
    let user = app.user().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = video(100_000).chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let response = upload_raw(&app, &user, reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "too_large");
}

#[tokio::test]
async fn past_the_jobs_a_user_may_have_queued_an_upload_is_429_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn(&dir, &[("MP3CONVERT_MAX_QUEUED_JOBS", "2")]).await;
    let user = app.user().await;
    for i in 0..2 {
        assert_eq!(upload_raw(&app, &user, video(10_000)).await.status(), 202, "upload {i}");
    }
    for response in [
        upload_raw(&app, &user, video(10_000)).await,
        app.client
            .post(app.at("/upload"))
            .bearer_auth(&user.token)
            .multipart(reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(video(10_000)).file_name("a.mp4")))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 429);
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry_after >= 1);
        assert_eq!(error_code(response).await, "too_many_jobs");
    }
    assert_eq!(app.stored_files("videos"), 2);
    let jobs: Value = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&user.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(2), "{jobs}");
    // Another user's jobs are their own.
    let other = app.user().await;
    assert_eq!(upload_raw(&app, &other, video(10_000)).await.status(), 202);
}
