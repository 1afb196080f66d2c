//! A webhook receiver for the tests, and the Standard Webhooks check of what it received,
//! written from the specification's steps (not with the server's code).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::eventually;

/// A request a receiver got.
#[derive(Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

/// An HTTP endpoint on loopback that records every POST and answers the statuses it is
/// given, in order (then 200).
#[derive(Clone, Default)]
pub struct Receiver {
    answers: Arc<Mutex<VecDeque<u16>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on a free loopback port; the receiver and its URL.
    pub async fn start(answers: &[u16]) -> (Self, String) {
        let receiver = Self { answers: Arc::new(Mutex::new(answers.iter().copied().collect())), ..Self::default() };
        let app = axum::Router::new().route("/hook", axum::routing::post(record)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The first `n` requests, once they have come (within 30 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} webhook requests"), Duration::from_secs(30), || async {
            let received = self.received();
            (received.len() >= n).then_some(received)
        })
        .await
    }
}

async fn record(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    receiver.received.lock().unwrap().push(Received { headers, body, at: Instant::now() });
    let status = receiver.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// Standard Webhooks verification, step by step: the key is the base64 after `whsec_`, the
/// signed content `id.timestamp.body`, the signature `v1,` + base64 of its HMAC-SHA256.
pub fn assert_signed(request: &Received, secret: &str) {
    let header = |name: &str| request.headers.get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap().to_owned();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", request.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert!(signature.split(' ').any(|s| s == expected), "signature {signature} is not {expected}");
    let sent = timestamp.parse::<i64>().unwrap();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - sent).abs() < 60, "webhook-timestamp {sent} is not now ({now})");
    assert_eq!(request.headers["content-type"], "application/json");
}
