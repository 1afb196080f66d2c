//! Multipart bodies built to exhaust the server: a part header that never ends (sent
//! chunked, hundreds of MiB if the server keeps reading), too many parts, a huge form field.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::{Answer, Edge, chunk, read_answer};

/// How much the attack sends at most if the server never answers.
const ATTACK_BYTES: usize = 256 * 1024 * 1024;

/// Sends a multipart body whose one part header never ends, chunked, until the server
/// answers or `ATTACK_BYTES` are out; returns the answer and how much was sent.
async fn endless_part_header(edge: &Edge, token: &str, path: &str) -> (Answer, usize) {
    let stream = TcpStream::connect(edge.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    writer.write_all(&chunk(b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")).await.unwrap();
    let sender = tokio::spawn(async move {
        let piece = chunk(&vec![b'a'; 64 * 1024]);
        let mut sent = 0;
        while sent < ATTACK_BYTES && writer.write_all(&piece).await.is_ok() {
            sent += 64 * 1024;
        }
        sent
    });
    let answer = read_answer(&mut reader, Duration::from_secs(120)).await;
    drop(reader);
    let sent = sender.await.unwrap();
    (answer, sent)
}

#[tokio::test]
async fn an_endless_part_header_is_refused_early_and_memory_stays_bounded() {
    let edge = Edge::start(&[]);
    let token = edge.token().await;
    let before = edge.peak_kib();
    for path in ["/upload", "/api/v1/videos"] {
        let (answer, sent) = endless_part_header(&edge, &token, path).await;
        let growth = edge.peak_kib().saturating_sub(before);
        eprintln!("{path}: the client sent {} KiB; peak memory {} KiB, grew by {growth} KiB", sent / 1024, edge.peak_kib());
        assert!(growth < 32 * 1024, "{path}: peak memory grew by {growth} KiB");
        assert_eq!(answer.status(), Some(400), "{path}: {:?}", answer.raw);
        assert_eq!(answer.code().as_deref(), Some("part_header_too_large"), "{path}: {:?}", answer.raw);
        assert!(sent < ATTACK_BYTES, "{path}: the server read all {sent} bytes");
    }
    // A refused upload's temporary file goes when its request's body is dropped, which can
    // be just after the answer.
    tests::eventually("nothing kept", Duration::from_secs(10), || async { (edge.stored() == (0, 0)).then_some(()) }).await;
}

async fn upload_form(edge: &Edge, token: &str, form: Form) -> (u16, Value) {
    let response = reqwest::Client::new().post(edge.url("/upload")).bearer_auth(token).multipart(form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn file() -> Part {
    Part::bytes(vec![0u8; 2048]).file_name("v.mp4").mime_str("video/mp4").unwrap()
}

#[tokio::test]
async fn too_many_parts_and_oversized_fields_are_400_with_their_code_and_nothing_is_kept() {
    let edge = Edge::start(&[]);
    let token = edge.token().await;

    let mut crowded = Form::new();
    for i in 0..20 {
        crowded = crowded.text(format!("f{i}"), "x");
    }
    let (status, body) = upload_form(&edge, &token, crowded.part("file", file())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("too_many_fields")), "{body}");

    // Parts after the file count too: the stored video is undone.
    let mut trailing = Form::new().part("file", file());
    for i in 0..20 {
        trailing = trailing.text(format!("f{i}"), "x");
    }
    let (status, body) = upload_form(&edge, &token, trailing).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("too_many_fields")), "{body}");

    let big = Form::new().text("note", "x".repeat(100 * 1024)).part("file", file());
    let (status, body) = upload_form(&edge, &token, big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("field_too_large")), "{body}");

    // A refused upload's temporary file goes when its request's body is dropped, which can
    // be just after the answer.
    tests::eventually("nothing kept", Duration::from_secs(10), || async { (edge.stored() == (0, 0)).then_some(()) }).await;
    // A form within the limits is taken.
    let fine = Form::new().text("note", "hello").part("file", file());
    let (status, body) = upload_form(&edge, &token, fine).await;
    assert_eq!(status, 200, "{body}");
}
