//! The data plane of Knative's RabbitMQ Broker (knative-extensions/eventing-rabbitmq) for
//! local runs and tests, configured by the same `Broker` and `Trigger` manifests a cluster
//! uses (`eventing/`).
//!
//! Layout:
//! - [`manifests`] reads the YAML and resolves the Broker, its Triggers and their delivery
//!   policies ([`duration`] parses their ISO-8601 durations);
//! - [`topology`] names and declares the exchanges and queues on RabbitMQ;
//! - [`message`] maps CloudEvents onto AMQP messages (contract §4) and those onto
//!   binary-mode HTTP requests;
//! - [`link`] keeps the RabbitMQ connection up (reconnecting, re-declaring);
//! - [`ingress`] is the HTTP side (`POST /`, health probes);
//! - [`dispatch`] consumes each Trigger's queue and the dead-letter queue and delivers.
//!
//! [`start`] wires them together and returns a [`RunningBroker`].

pub mod dispatch;
pub mod duration;
pub mod ingress;
pub mod link;
pub mod manifests;
pub mod message;
pub mod topology;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::Url;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::topology::Names;

/// Everything the broker needs; `BrokerConfig::new` fills in the defaults.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// Directory of the Knative manifests (`*.yaml`, `*.yml`).
    pub eventing_dir: PathBuf,
    /// The Broker to play; required only when the manifests hold several.
    pub broker: Option<String>,
    /// Service name → base URL, for `ref: {kind: Service}` destinations.
    pub services: BTreeMap<String, Url>,
    pub amqp_url: String,
    /// The exchange name; the Broker's name when `None`.
    pub exchange: Option<String>,
    /// Where ingress listens (port 0: any free port).
    pub addr: SocketAddr,
    /// Per-attempt delivery timeout, unless a delivery spec sets `timeout`.
    pub delivery_timeout: Duration,
    /// How long a shutdown waits for deliveries in flight.
    pub drain_timeout: Duration,
    /// How long a publish waits for a lost RabbitMQ link before failing (ingress answers 503).
    pub publish_patience: Duration,
}

impl BrokerConfig {
    pub fn new(eventing_dir: impl Into<PathBuf>, amqp_url: impl Into<String>) -> Self {
        Self {
            eventing_dir: eventing_dir.into(),
            broker: None,
            services: BTreeMap::new(),
            amqp_url: amqp_url.into(),
            exchange: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            delivery_timeout: Duration::from_secs(600),
            drain_timeout: Duration::from_secs(30),
            publish_patience: Duration::from_secs(3),
        }
    }
}

/// A started broker: ingress bound, link and dispatchers running.
pub struct RunningBroker {
    addr: SocketAddr,
    names: Names,
    link: link::Link,
    shutdown: watch::Sender<bool>,
    stop_link: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    dispatchers: Vec<JoinHandle<()>>,
    supervisor: JoinHandle<()>,
}

/// Reads the manifests, binds ingress and starts the link and the dispatchers. Fails on
/// bad manifests or an address that cannot be bound; RabbitMQ being down is not an error
/// (the link keeps trying; see [`RunningBroker::wait_ready`]).
pub async fn start(config: BrokerConfig) -> anyhow::Result<RunningBroker> {
    let dir = &config.eventing_dir;
    let broker = manifests::load(dir, config.broker.as_deref(), &config.services)
        .with_context(|| format!("loading the Knative manifests in {}", dir.display()))?;
    let names = Names::new(config.exchange.clone().unwrap_or_else(|| broker.name.clone()));
    for trigger in &broker.triggers {
        tracing::info!(trigger = %trigger.name, filter = ?trigger.filter, subscriber = %trigger.subscriber, parallelism = trigger.parallelism, "trigger");
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr().context("reading the bound address")?;

    let (shutdown, shutdown_rx) = watch::channel(false);
    let broker = Arc::new(broker);
    // The link outlives the dispatchers and ingress: draining deliveries still ack on it.
    let (stop_link, stop_link_rx) = watch::channel(false);
    let (link, supervisor) = link::spawn(config.amqp_url.clone(), names.clone(), broker.clone(), stop_link_rx);
    let client = reqwest::Client::builder().no_proxy().build().context("building the HTTP client")?;
    let context = Arc::new(dispatch::Context {
        link: link.clone(),
        names: names.clone(),
        client,
        delivery_timeout: config.delivery_timeout,
        publish_patience: config.publish_patience,
        shutdown: shutdown_rx.clone(),
    });
    let dispatchers = dispatch::routes(&broker, &names)
        .into_iter()
        .map(|route| tokio::spawn(dispatch::run(context.clone(), Arc::new(route), config.drain_timeout)))
        .collect();

    let state = ingress::IngressState { link: link.clone(), exchange: names.exchange.clone(), patience: config.publish_patience };
    let mut stop = shutdown_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, ingress::router(state))
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(RunningBroker { addr, names, link, shutdown, stop_link, server, dispatchers, supervisor })
}

impl RunningBroker {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ingress URL, `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The names of the Broker's objects on RabbitMQ.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Connected to RabbitMQ with the topology declared.
    pub fn is_ready(&self) -> bool {
        self.link.current().is_some()
    }

    /// Waits up to `patience` for [`Self::is_ready`]; returns whether it became ready.
    pub async fn wait_ready(&self, patience: Duration) -> bool {
        self.link.wait(patience).await.is_some()
    }

    /// Stops: ingress stops accepting, dispatchers stop consuming and let deliveries in
    /// flight finish (bounded by the drain timeout), then the RabbitMQ connection closes.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.send_replace(true);
        for dispatcher in self.dispatchers {
            dispatcher.await.context("a dispatcher panicked")?;
        }
        let served = self.server.await.context("the HTTP server panicked")?.context("serving HTTP");
        self.stop_link.send_replace(true);
        self.supervisor.await.context("the RabbitMQ link panicked")?;
        served
    }
}
