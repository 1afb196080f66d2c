//! One accepted connection's transport: a write-stall timeout (a client that stops reading
//! an answer is cut off), its slot under the connection cap, and a lingering close, so the
//! client gets to read an early answer (a 413, a 408) instead of a reset.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// How long a closed connection still reads (and drops) what the client sends, at most.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// A connection's stream. Dropping it closes the connection after a short linger, and only
/// then frees its place under the connection cap.
pub struct EdgeIo<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    stream: Option<S>,
    write_timeout: Duration,
    /// Armed while a write waits for the client; fires after `write_timeout` without progress.
    stall: Pin<Box<Sleep>>,
    stalled: bool,
    permit: Option<OwnedSemaphorePermit>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> EdgeIo<S> {
    pub fn new(stream: S, write_timeout: Duration, permit: Option<OwnedSemaphorePermit>) -> Self {
        Self { stream: Some(stream), write_timeout, stall: Box::pin(tokio::time::sleep(write_timeout)), stalled: false, permit }
    }

    fn stream(&mut self) -> &mut S {
        self.stream.as_mut().expect("the stream is only taken on drop")
    }

    /// After a write made no progress: fails once the client has not read for `write_timeout`.
    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.stalled {
            self.stalled = true;
            let deadline = Instant::now() + self.write_timeout;
            self.stall.as_mut().reset(deadline);
        }
        match self.stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")),
            Poll::Pending => Poll::Pending,
        }
    }

    fn on_write<T>(&mut self, cx: &mut Context<'_>, written: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match written {
            Poll::Pending => self.poll_stall(cx).map(Err),
            done => {
                self.stalled = false;
                done
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncRead for EdgeIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().stream()).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncWrite for EdgeIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(this.stream()).poll_write(cx, buf);
        this.on_write(cx, written)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(this.stream()).poll_write_vectored(cx, bufs);
        this.on_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(this.stream()).poll_flush(cx);
        this.on_write(cx, flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let shut = Pin::new(this.stream()).poll_shutdown(cx);
        this.on_write(cx, shut)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Drop for EdgeIo<S> {
    fn drop(&mut self) {
        if let (Some(stream), Ok(runtime)) = (self.stream.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(linger(stream, self.permit.take()));
        }
    }
}

/// Closes our side, then reads and drops what the client still sends for a moment: closing
/// a socket with unread input makes the kernel send a reset, which can destroy the answer
/// before the client has read it.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, permit: Option<OwnedSemaphorePermit>) {
    let _ = tokio::time::timeout(LINGER_TIME, async {
        let _ = stream.shutdown().await;
        let mut buf = vec![0u8; 16 * 1024];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
    drop(permit);
}

/// Answers a connection over the cap with `503 too_many_connections` and closes it, without
/// waiting for its request: nothing queues.
pub async fn refuse_busy<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, max_connections: usize, permit: OwnedSemaphorePermit) {
    let body = serde_json::json!({ "error": {
        "code": "too_many_connections",
        "message": format!("the server is serving its limit of {max_connections} connections; try again shortly"),
    }})
    .to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let answer = [head.as_bytes(), body.as_bytes()].concat();
    if tokio::time::timeout(LINGER_TIME, stream.write_all(&answer)).await.is_ok() {
        linger(stream, Some(permit)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_cut_after_the_write_timeout() {
        let (server, _client) = tokio::io::duplex(1024);
        let mut io = EdgeIo::new(server, Duration::from_secs(30), None);
        let start = Instant::now();
        let chunk = vec![0u8; 4096];
        let error = loop {
            if let Err(e) = io.write(&chunk).await {
                break e;
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_not_cut() {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut io = EdgeIo::new(server, Duration::from_secs(30), None);
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while client.read(&mut buf).await.is_ok_and(|n| n > 0) {
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
        });
        // 8 KiB at 512 bytes per 20 s: over five minutes, with no 30 s stall.
        for _ in 0..8 {
            io.write_all(&[0u8; 1024]).await.expect("progress keeps the connection");
        }
    }

    #[tokio::test]
    async fn the_busy_answer_is_json_503() {
        let (server, mut client) = tokio::io::duplex(4096);
        let permit = std::sync::Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned().unwrap();
        tokio::spawn(refuse_busy(server, 7, permit));
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        assert!(answer.contains("\"code\":\"too_many_connections\""), "{answer}");
        assert!(answer.contains("limit of 7 connections"), "{answer}");
    }
}
