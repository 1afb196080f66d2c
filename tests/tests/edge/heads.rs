//! Request heads: sent too slowly, too large, or on too many connections at once.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::{Edge, read_answer};

const HEADER_TIMEOUT: (&str, &str) = ("MP3CONVERT_HEADER_TIMEOUT_SECS", "2");

#[tokio::test]
async fn half_a_request_head_then_silence_is_closed_within_the_header_timeout() {
    let edge = Edge::start(&[HEADER_TIMEOUT]);
    let mut stream = TcpStream::connect(edge.addr).await.unwrap();
    stream.write_all(b"GET /health/liveness HTTP/1.1\r\nHost: x\r\nX-Slow: aaa").await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(20)).await;
    let closed = answer.closed_after.expect("the connection is closed");
    assert!(closed >= Duration::from_millis(1500) && closed <= Duration::from_secs(4), "closed after {closed:?}");
    assert!(answer.raw.is_empty(), "no answer to half a head: {:?}", answer.raw);
    eprintln!("half a head: closed after {closed:?}; server peak memory {} KiB", edge.peak_kib());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_within_the_header_timeout() {
    let edge = Edge::start(&[HEADER_TIMEOUT]);
    let mut stream = TcpStream::connect(edge.addr).await.unwrap();
    stream.write_all(b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(20)).await;
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    // The read went on after the answer until the server closed the idle connection.
    let closed = answer.closed_after.expect("the idle connection is closed");
    assert!(closed <= Duration::from_secs(4), "closed after {closed:?}");
}

#[tokio::test]
async fn a_head_over_the_limit_answers_431_json_and_a_huge_one_is_refused_too() {
    let edge = Edge::start(&[("MP3CONVERT_MAX_HEADER_BYTES", "4096")]);
    let client = reqwest::Client::new();
    let response = client.get(edge.url("/health/liveness")).header("x-big", "a".repeat(6000)).send().await.unwrap();
    assert_eq!(response.status(), 431);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "headers_too_large");

    // Past hyper's buffer (64 KiB here) the head is refused before it is parsed.
    let mut stream = TcpStream::connect(edge.addr).await.unwrap();
    let head = format!("GET /health/liveness HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n", "a".repeat(200 * 1024));
    let _ = stream.write_all(head.as_bytes()).await;
    let answer = read_answer(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(answer.status(), Some(431), "{:?}", answer.raw.get(..100));
    assert!(answer.closed_after.is_some());

    // A head within the limit is served.
    assert_eq!(client.get(edge.url("/health/liveness")).header("x-ok", "a".repeat(1000)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn connections_over_the_cap_get_503_json_and_a_freed_place_serves_again() {
    let edge = Edge::start(&[("MP3CONVERT_MAX_CONNECTIONS", "2")]);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(edge.addr).await.unwrap();
        stream.write_all(b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        held.push(stream);
    }
    // Both held connections are being served before the third arrives.
    let third = tests::eventually("a refused third connection", Duration::from_secs(10), || async {
        let mut stream = TcpStream::connect(edge.addr).await.ok()?;
        stream.write_all(b"GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n").await.ok()?;
        let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
        (answer.status() == Some(503)).then_some(answer)
    })
    .await;
    assert_eq!(third.code().as_deref(), Some("too_many_connections"), "{third:?}");
    assert!(third.closed_after.is_some(), "the refused connection is closed");

    drop(held.pop());
    tests::eventually("a place under the cap again", Duration::from_secs(10), || async {
        let response = reqwest::Client::new().get(edge.url("/health/liveness")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
}
