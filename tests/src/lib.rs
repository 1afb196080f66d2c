//! Helpers for the cross-function tests:
//! - [`fixtures`]: real media files made by ffmpeg, and checks of MP3s with ffprobe;
//! - [`app`]: the platform served in-process on a free loopback port, with request helpers;
//! - [`process`]: the real `mp3convert` binary as a child process.

pub mod app;
pub mod fixtures;
pub mod process;

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
