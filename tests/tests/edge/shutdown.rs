//! The shutdown deadline: SIGTERM while uploads are still open (one steadily sending, one
//! stuck in a part header) ends the process within the grace period and a few seconds.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::{Edge, chunk};

#[tokio::test]
async fn sigterm_with_uploads_open_exits_within_the_grace_period_and_keeps_nothing() {
    let edge = Edge::start(&[("MP3CONVERT_SHUTDOWN_GRACE_SECS", "2")]);
    let token = edge.token().await;

    // A raw upload that keeps going, well above the minimum rate.
    let mut steady = TcpStream::connect(edge.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/videos?filename=v.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    steady.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        let piece = chunk(&[0u8; 16 * 1024]);
        // Bounded: 60 s at most; it stops when the server drops the connection.
        for _ in 0..600 {
            if steady.write_all(&piece).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    // An upload whose part header stops halfway.
    let mut stuck = TcpStream::connect(edge.addr).await.unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    stuck.write_all(&chunk(b"--B\r\nContent-Disposition: form-data; na")).await.unwrap();

    tests::eventually("the steady upload being written", Duration::from_secs(20), || async { (edge.stored().1 == 1).then_some(()) }).await;
    let peak = edge.peak_kib();
    let Edge { server, data, _dir, .. } = edge;
    let start = Instant::now();
    let exited = tokio::task::spawn_blocking(move || server.terminate_within(Duration::from_secs(30))).await.unwrap();
    let took = start.elapsed();
    sender.abort();
    eprintln!("SIGTERM with two uploads open: exited after {took:?}; peak memory before it {peak} KiB");
    assert_eq!(exited, Some(true), "exited cleanly within 30 s");
    assert!(took >= Duration::from_secs(2), "in-flight requests had their grace period: {took:?}");
    assert!(took <= Duration::from_secs(10), "grace (2 s) + 5 s + a little: {took:?}");
    let files = |bucket: &str| std::fs::read_dir(data.join("blobs").join(bucket)).unwrap().count();
    assert_eq!((files("videos"), files("tmp")), (0, 0), "the cut-off upload left nothing");
    drop(stuck);
}
