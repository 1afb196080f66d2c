//! Helpers for the cross-function tests:
//! - [`fixtures`]: real media files made by ffmpeg, and checks of MP3s with ffprobe;
//! - [`crafted`]: hostile media files whose headers lie;
//! - [`app`]: the platform served in-process on a free loopback port, with request helpers;
//! - [`process`]: the real `mp3convert` binary as a child process;
//! - [`cluster`]: the distributed form: every function as its own process, the local broker
//!   and the real RabbitMQ, MariaDB and FerretDB.

pub mod app;
pub mod cluster;
pub mod crafted;
pub mod fixtures;
pub mod process;

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
