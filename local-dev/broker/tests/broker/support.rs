//! Test fixtures: stub subscribers on 127.0.0.1:0 that record what they receive, a broker
//! started in-process on per-test manifests and a per-test exchange, polling with a
//! deadline, and a TCP proxy that can cut the broker off RabbitMQ.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lapin::{Channel, Connection, ConnectionProperties};
use local_broker::topology::Names;
use local_broker::{BrokerConfig, RunningBroker};
use reqwest::Url;

pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn amqp_url() -> String {
    std::env::var("MP3CONVERT_AMQP_URL").unwrap_or_else(|_| {
        panic!(
            "MP3CONVERT_AMQP_URL is not set: run ./local-dev/test.sh, or eval \"$(./local-dev/services.sh env)\" after ./local-dev/services.sh start"
        )
    })
}

/// A name no other test (or run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{prefix}_{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Polls `check` until it returns `Some`, panicking with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request a stub received.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Respond = dyn Fn(usize, &Received) -> Response + Send + Sync;

struct StubState {
    received: Mutex<Vec<Received>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// How long each request "works" before its answer.
    work: Duration,
    respond: Box<Respond>,
}

/// A subscriber that records its requests and answers with `respond(call_index, request)`.
#[derive(Clone)]
pub struct Stub {
    pub url: Url,
    state: Arc<StubState>,
}

impl Stub {
    pub async fn start(work: Duration, respond: impl Fn(usize, &Received) -> Response + Send + Sync + 'static) -> Stub {
        let state = Arc::new(StubState {
            received: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            work,
            respond: Box::new(respond),
        });
        let handler_state = state.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = handler_state.clone();
            async move {
                let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                state.max_in_flight.fetch_max(now, Ordering::SeqCst);
                let received = Received { headers, body: body.to_vec(), at: Instant::now() };
                let index = {
                    let mut all = state.received.lock().unwrap();
                    all.push(received.clone());
                    all.len() - 1
                };
                tokio::time::sleep(state.work).await;
                state.in_flight.fetch_sub(1, Ordering::SeqCst);
                (state.respond)(index, &received)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Stub { url, state }
    }

    /// A stub answering `status` to everything.
    pub async fn answering(status: u16) -> Stub {
        Stub::start(Duration::ZERO, move |_, _| (StatusCode::from_u16(status).unwrap(), "stub says no").into_response()).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came; returns all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} request(s) at {}", self.url), DEADLINE, || async {
            let all = self.received();
            (all.len() >= n).then_some(all)
        })
        .await
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A broker on its own exchange, configured from `manifests` written into a temp dir.
pub struct TestBroker {
    pub broker: RunningBroker,
    pub client: reqwest::Client,
    cleanup: Cleanup,
    _dir: tempfile::TempDir,
}

/// Deletes a test's exchanges and queues, also when the test fails before [`TestBroker::finish`].
struct Cleanup {
    names: Names,
    triggers: Vec<String>,
    done: bool,
}

impl Cleanup {
    async fn run(&mut self) {
        let channel = channel().await;
        let triggers: Vec<&str> = self.triggers.iter().map(String::as_str).collect();
        local_broker::topology::delete(&channel, &self.names, &triggers).await.expect("deleting the test topology");
        self.done = true;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut cleanup = Cleanup { names: self.names.clone(), triggers: std::mem::take(&mut self.triggers), done: true };
        // A runtime of its own: this may run while the test's runtime unwinds.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(cleanup.run());
        })
        .join();
    }
}

/// Starts a broker on `manifests` with `services` (name → stub), against `amqp_url`.
pub async fn start_broker_with(manifests: &str, services: &[(&str, &Stub)], amqp_url: String, ready: bool) -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("eventing.yaml"), manifests).unwrap();
    let services: BTreeMap<String, Url> = services.iter().map(|(name, stub)| ((*name).to_owned(), stub.url.clone())).collect();
    let config = BrokerConfig {
        services,
        exchange: Some(unique("test")),
        delivery_timeout: Duration::from_secs(5),
        drain_timeout: Duration::from_secs(5),
        publish_patience: Duration::from_millis(300),
        ..BrokerConfig::new(dir.path(), amqp_url)
    };
    let broker = local_broker::start(config).await.expect("the broker starts");
    if ready {
        assert!(broker.wait_ready(DEADLINE).await, "the broker did not connect to RabbitMQ");
    }
    let triggers = manifests.lines().filter_map(|l| l.trim().strip_prefix("name: trigger-")).map(|n| format!("trigger-{n}")).collect();
    let cleanup = Cleanup { names: broker.names().clone(), triggers, done: false };
    TestBroker { broker, client: reqwest::Client::builder().no_proxy().build().unwrap(), cleanup, _dir: dir }
}

pub async fn start_broker(manifests: &str, services: &[(&str, &Stub)]) -> TestBroker {
    start_broker_with(manifests, services, amqp_url(), true).await
}

impl TestBroker {
    pub fn exchange(&self) -> String {
        self.broker.names().exchange.clone()
    }

    /// POSTs a binary-mode event to ingress; returns the status.
    pub async fn post(&self, id: &str, ty: &str, extra: &[(&str, &str)], body: &str) -> StatusCode {
        let mut request = self
            .client
            .post(self.broker.url())
            .header("ce-specversion", "1.0")
            .header("ce-id", id)
            .header("ce-source", "/tests/broker")
            .header("ce-type", ty)
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let status = request.send().await.expect("ingress answers").status();
        StatusCode::from_u16(status.as_u16()).unwrap()
    }

    /// Shuts down, then deletes the exchanges and queues.
    /// Shuts down; the topology stays until the returned guard drops.
    pub async fn stop(self) -> impl Sized {
        self.broker.shutdown().await.expect("clean shutdown");
        self.cleanup
    }

    pub async fn finish(mut self) {
        self.broker.shutdown().await.expect("clean shutdown");
        self.cleanup.run().await;
    }
}

/// A channel of a fresh connection to the test RabbitMQ.
pub async fn channel() -> Channel {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default()).await.expect("connecting to RabbitMQ");
    connection.create_channel().await.expect("a channel")
}

/// Manifests: a Broker (with `delivery` YAML under spec, may be empty) and triggers given
/// as (name suffix, filter YAML map, subscriber YAML, extra metadata YAML).
pub fn broker_yaml(delivery: &str) -> String {
    format!("apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: test\nspec:\n{delivery}\n")
}

pub fn trigger_yaml(name: &str, filter: &str, subscriber: &str, annotations: &str) -> String {
    format!(
        "---\napiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: trigger-{name}\n  annotations: {{{annotations}}}\nspec:\n  broker: test\n  filter:\n    attributes: {filter}\n  subscriber: {subscriber}\n"
    )
}

/// A TCP proxy to RabbitMQ that the test can cut (drop all connections and refuse new
/// ones) and restore.
pub struct Proxy {
    pub url: String,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let upstream = Url::parse(&amqp_url()).expect("MP3CONVERT_AMQP_URL is a URL");
        let target = format!("{}:{}", upstream.host_str().unwrap(), upstream.port().unwrap_or(5672));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut url = upstream.clone();
        url.set_port(Some(listener.local_addr().unwrap().port())).unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (accepting, tasks) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let target = target.clone();
                tasks.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Proxy { url: url.to_string(), open, connections }
    }

    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
