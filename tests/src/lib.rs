//! Helpers for the cross-function tests:
//! - [`fixtures`]: real media files made by ffmpeg, and checks of MP3s with ffprobe;
//! - [`crafted`]: hostile media files whose headers lie;
//! - [`app`]: the platform served in-process on a free loopback port, with request helpers;
//! - [`process`]: the real `mp3convert` binary as a child process;
//! - [`cluster`]: the distributed form: every function as its own process, the local broker
//!   and the real RabbitMQ, MariaDB and FerretDB;
//! - [`webhooks`]: a webhook receiver and the signature check of what it got.

pub mod app;
pub mod cluster;
pub mod crafted;
pub mod fixtures;
pub mod process;
pub mod webhooks;

use std::process::Command;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, failing the test with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Reads a `text/event-stream` answer until the server ends it (failing after `timeout`):
/// the JSON of each message's `data`, in order. Comment lines (keep-alives) are skipped.
pub async fn event_stream(response: reqwest::Response, timeout: Duration) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    assert_eq!(response.status(), 200, "event stream");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "content-type {content_type}");
    let read = async {
        let (mut body, mut text, mut messages) = (response.bytes_stream(), String::new(), Vec::new());
        while let Some(bytes) = body.next().await {
            text.push_str(std::str::from_utf8(&bytes.expect("event stream body")).expect("utf-8"));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let data: Vec<&str> = block.lines().filter_map(|line| line.strip_prefix("data:")).map(str::trim_start).collect();
                if !data.is_empty() {
                    messages.push(serde_json::from_str(&data.join("\n")).expect("a message's data is JSON"));
                }
            }
        }
        messages
    };
    tokio::time::timeout(timeout, read).await.unwrap_or_else(|_| panic!("the event stream did not end within {timeout:?}"))
}

/// The repository's root. Read at run time (cargo sets `CARGO_MANIFEST_DIR` for the tests it
/// runs): a target directory shared by clones at other paths may hold a test binary built in
/// another clone, whose compiled-in path would be that clone's.
pub fn repo_root() -> std::path::PathBuf {
    let tests = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), std::path::PathBuf::from);
    tests.parent().expect("tests/ has a parent").to_owned()
}

/// Checks the messages of `GET /api/v1/jobs/{job_id}/events` for a job that succeeded: each
/// is that job, each differs from the one before in status or progress, status only moves
/// forward (queued, processing, succeeded), progress never goes back, and the last is
/// `succeeded`. Returns the progress values sent while `processing`.
pub fn check_job_events(messages: &[serde_json::Value], job_id: &str) -> Vec<f64> {
    let rank = |status: &str| ["queued", "processing", "succeeded"].iter().position(|s| *s == status);
    let mut last: Option<(usize, f64)> = None;
    let mut processing = Vec::new();
    for message in messages {
        assert_eq!(message["job_id"], job_id, "{message}");
        let status = message["status"].as_str().unwrap_or_default();
        let now = (rank(status).unwrap_or_else(|| panic!("unexpected status in {message}")), message["progress"].as_f64().unwrap());
        if let Some(before) = last {
            assert!(now != before, "a message repeated the one before: {message}");
            assert!(now.0 >= before.0 && now.1 >= before.1, "went back: {before:?} then {message}");
        }
        if status == "processing" {
            processing.push(now.1);
        }
        last = Some(now);
    }
    let end = messages.last().expect("at least one message");
    assert_eq!((end["status"].as_str(), end["progress"].as_f64()), (Some("succeeded"), Some(1.0)), "{end}");
    assert!(end["mp3_id"].is_string(), "{end}");
    processing
}

/// Runs `curl -sS --fail-with-body ARGS` (as the seed's users do); its stdout.
pub fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .arg("-sS")
        .arg("--fail-with-body")
        .args(args)
        .output()
        .expect("curl (install it with local-dev/install-deps.sh)");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {} {}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}
