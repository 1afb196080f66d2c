//! Request bodies that come too slowly: a trickled upload (cut off by the minimum rate,
//! averaged over 30 s) and a slow body on an ordinary route (cut by the request time limit).

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::{Answer, Edge, read_answer};

/// Starts an upload with `head` (which passes the media sniffing), then sends one byte
/// every 2 s; returns what came back and how long after the head it came.
async fn trickle(edge: &Edge, token: &str, path: &str, content_type: &str, head: &[u8]) -> (Answer, Duration) {
    let stream = TcpStream::connect(edge.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: 10000000\r\n\r\n"
    );
    writer.write_all(request.as_bytes()).await.unwrap();
    writer.write_all(head).await.unwrap();
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        // Bounded: 40 bytes over 80 s at most; it stops once the server closes.
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if writer.write_all(b"\0").await.is_err() {
                break;
            }
        }
    });
    let answer = read_answer(&mut reader, Duration::from_secs(60)).await;
    let elapsed = start.elapsed();
    sender.abort();
    (answer, elapsed)
}

#[tokio::test]
async fn trickled_uploads_are_cut_after_the_window_and_nothing_is_kept() {
    let edge = Edge::start(&[]);
    let token = edge.token().await;
    let before = edge.peak_kib();
    let raw_head = vec![0u8; 4096];
    let mut multipart_head = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\r\n".to_vec();
    multipart_head.extend_from_slice(&[0u8; 4096]);
    let writing = async {
        // Both uploads reach the blob store before the cut.
        tests::eventually("both uploads writing", Duration::from_secs(20), || async { (edge.stored().1 == 2).then_some(()) }).await;
    };
    let ((raw, raw_after), (multi, multi_after), ()) = tokio::join!(
        trickle(&edge, &token, "/api/v1/videos?filename=v.mp4", "video/mp4", &raw_head),
        trickle(&edge, &token, "/upload", "multipart/form-data; boundary=B", &multipart_head),
        writing,
    );
    for (answer, after) in [(raw, raw_after), (multi, multi_after)] {
        assert!(answer.closed_after.is_some(), "cut off: {answer:?}");
        assert!(after >= Duration::from_secs(25) && after <= Duration::from_secs(40), "cut after {after:?}");
        assert_eq!(answer.status(), Some(408), "{answer:?}");
        assert_eq!(answer.code().as_deref(), Some("upload_too_slow"), "{answer:?}");
    }
    tests::eventually("nothing kept", Duration::from_secs(10), || async { (edge.stored() == (0, 0)).then_some(()) }).await;
    let growth = edge.peak_kib().saturating_sub(before);
    eprintln!("trickled uploads: peak memory {} KiB, grew by {growth} KiB", edge.peak_kib());
    assert!(growth < 32 * 1024, "peak memory grew by {growth} KiB");
}

#[tokio::test]
async fn a_slow_body_on_an_ordinary_route_answers_request_timeout() {
    let edge = Edge::start(&[("MP3CONVERT_REQUEST_TIMEOUT_SECS", "1")]);
    let mut stream = TcpStream::connect(edge.addr).await.unwrap();
    let head = "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(answer.status(), Some(503), "{answer:?}");
    assert_eq!(answer.code().as_deref(), Some("request_timeout"), "{answer:?}");
}
