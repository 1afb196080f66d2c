//! The minimum request-body rate (`MP3CONVERT_MIN_UPLOAD_BPS`): a body that delivers fewer
//! than `min_bps` × 30 bytes within a 30-second window is cut off, whether it trickles or
//! has stopped sending, so a slow client cannot hold a connection and a handler for ever.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The fixed window the rate is averaged over.
pub const WINDOW: Duration = Duration::from_secs(30);

/// Why a body ended early: it was slower than the minimum rate.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {min_bps} bytes/s over {} s", WINDOW.as_secs())]
pub struct BodyTooSlow {
    pub min_bps: u64,
}

/// A request body that fails with [`BodyTooSlow`] at the end of the first window it is too
/// slow in. Its own timer judges a window even while no data arrives. The clock starts
/// when the handler first reads the body (time spent before, e.g. checking the token, is
/// not the client's), and each window starts when the previous one is judged.
pub struct MinRate {
    inner: Body,
    min_bps: u64,
    /// Bytes received in the current window.
    bytes: u64,
    /// End of the current window; set on the first read.
    window_end: Option<Pin<Box<Sleep>>>,
    /// Set when the body was cut off, for the answer to say why (see `edge`).
    cut: Arc<AtomicBool>,
    failed: bool,
}

impl MinRate {
    pub fn new(inner: Body, min_bps: u64, cut: Arc<AtomicBool>) -> Self {
        Self { inner, min_bps, bytes: 0, window_end: None, cut, failed: false }
    }

    /// Judges the window that just ended and starts the next one.
    fn next_window(&mut self) -> Result<(), axum::Error> {
        if self.bytes < self.min_bps.saturating_mul(WINDOW.as_secs()) {
            self.failed = true;
            self.cut.store(true, Ordering::Release);
            return Err(axum::Error::new(BodyTooSlow { min_bps: self.min_bps }));
        }
        self.bytes = 0;
        if let Some(window_end) = self.window_end.as_mut() {
            window_end.as_mut().reset(Instant::now() + WINDOW);
        }
        Ok(())
    }
}

impl http_body::Body for MinRate {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        this.window_end.get_or_insert_with(|| Box::pin(tokio::time::sleep(WINDOW)));
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                }
                // A window that ended while data kept coming is judged on the next frame.
                if this.window_end.as_ref().is_some_and(|end| end.is_elapsed())
                    && let Err(e) = this.next_window()
                {
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                while let Some(end) = this.window_end.as_mut()
                    && end.as_mut().poll(cx).is_ready()
                {
                    if let Err(e) = this.next_window() {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Pending
            }
            done => done,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio::sync::mpsc;

    /// A body fed by the returned sender, metered at `min_bps`.
    fn metered(min_bps: u64) -> (mpsc::Sender<Bytes>, Body, Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        let chunks =
            futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx)) });
        let cut = Arc::new(AtomicBool::new(false));
        (tx, Body::new(MinRate::new(Body::from_stream(chunks), min_bps, cut.clone())), cut)
    }

    /// Reads `body` to its end; the bytes read and, if it failed, when and why.
    async fn drain(body: Body) -> (usize, Option<(Duration, String)>) {
        let start = Instant::now();
        let mut stream = body.into_data_stream();
        let mut read = 0;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => read += chunk.len(),
                Err(e) => return (read, Some((start.elapsed(), e.to_string()))),
            }
        }
        (read, None)
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_of_one_byte_every_two_seconds_is_cut_at_the_end_of_the_window() {
        let (tx, body, cut) = metered(1024);
        tokio::spawn(async move {
            while tx.send(Bytes::from_static(b"x")).await.is_ok() {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
        let (read, failure) = drain(body).await;
        let (at, why) = failure.expect("the trickle is cut off");
        assert_eq!(at, WINDOW, "cut at the end of the first window");
        assert!(why.contains("slower than 1024 bytes/s"), "{why}");
        assert!((15..=16).contains(&read), "{read} bytes before the cut");
        assert!(cut.load(Ordering::Acquire));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_sending_is_cut_without_any_more_data() {
        let (tx, body, _cut) = metered(1024);
        tx.send(Bytes::from(vec![0u8; 100])).await.unwrap();
        let (read, failure) = drain(body).await;
        assert_eq!(read, 100);
        assert_eq!(failure.expect("cut off").0, WINDOW);
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_start_buys_one_window_not_more() {
        let (tx, body, _cut) = metered(1024);
        tx.send(Bytes::from(vec![0u8; 64 * 1024])).await.unwrap();
        let (_, failure) = drain(body).await;
        assert_eq!(failure.expect("cut off").0, 2 * WINDOW);
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_twice_the_minimum_is_read_to_its_end() {
        let (tx, body, cut) = metered(1024);
        tokio::spawn(async move {
            for _ in 0..100 {
                tx.send(Bytes::from(vec![0u8; 2048])).await.unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let (read, failure) = drain(body).await;
        assert!(failure.is_none(), "{failure:?}");
        assert_eq!(read, 100 * 2048);
        assert!(!cut.load(Ordering::Acquire));
    }
}
