//! `mp3convert-local-broker`: the Knative RabbitMQ Broker's data plane for local runs.
//! Parses flags (each also an environment variable `LOCAL_BROKER_*`), starts the broker,
//! prints `mp3convert-local-broker listening on http://HOST:PORT` on stdout once ingress is
//! bound, and stops cleanly on SIGTERM or SIGINT.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use local_broker::BrokerConfig;
use reqwest::Url;

/// The data plane of Knative's RabbitMQ Broker, configured by the manifests in eventing/.
#[derive(Debug, Parser)]
#[command(name = "mp3convert-local-broker", version)]
struct Args {
    /// Directory of the Broker and Trigger manifests.
    #[arg(long, env = "LOCAL_BROKER_EVENTING", default_value = "eventing")]
    eventing: PathBuf,
    /// The Broker to play, when the manifests hold several.
    #[arg(long, env = "LOCAL_BROKER_BROKER")]
    broker: Option<String>,
    /// A Service's base URL, NAME=BASE_URL (repeatable; comma-separated in the variable).
    #[arg(long = "service", env = "LOCAL_BROKER_SERVICES", value_delimiter = ',', value_parser = parse_service)]
    services: Vec<(String, Url)>,
    /// RabbitMQ, e.g. amqp://user:pass@127.0.0.1:5672/%2f
    #[arg(long, env = "LOCAL_BROKER_AMQP_URL", hide_env_values = true)]
    amqp_url: String,
    /// The Broker's exchange [default: the Broker's name].
    #[arg(long, env = "LOCAL_BROKER_EXCHANGE")]
    exchange: Option<String>,
    /// Where ingress listens (port 0 picks a free one).
    #[arg(long, env = "LOCAL_BROKER_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Per-attempt delivery timeout in seconds.
    #[arg(long, env = "LOCAL_BROKER_DELIVERY_TIMEOUT", default_value_t = 600.0)]
    delivery_timeout: f64,
    /// On shutdown, how many seconds deliveries in flight may take to finish.
    #[arg(long, env = "LOCAL_BROKER_DRAIN_TIMEOUT", default_value_t = 30.0)]
    drain_timeout: f64,
}

fn parse_service(text: &str) -> Result<(String, Url), String> {
    let (name, url) = text.split_once('=').ok_or_else(|| format!("{text:?} is not NAME=BASE_URL"))?;
    let url = Url::parse(url.trim()).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    Ok((name.trim().to_owned(), url))
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("--{flag} must be a non-negative number of seconds, not {value}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Coloured only on a terminal and without NO_COLOR, as the functions' logs are: the
    // scripts send this log to a file.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let config = BrokerConfig {
        broker: args.broker,
        services: args.services.into_iter().collect::<BTreeMap<_, _>>(),
        exchange: args.exchange,
        addr: args.addr,
        delivery_timeout: seconds(args.delivery_timeout, "delivery-timeout")?,
        drain_timeout: seconds(args.drain_timeout, "drain-timeout")?,
        ..BrokerConfig::new(args.eventing, args.amqp_url)
    };
    let broker = local_broker::start(config).await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "mp3convert-local-broker listening on {}", broker.url()).context("writing to stdout")?;
    stdout.flush().context("flushing stdout")?;
    drop(stdout);

    shutdown_signal().await?;
    tracing::info!("shutting down");
    broker.shutdown().await
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = terminate.recv() => {}
        interrupted = tokio::signal::ctrl_c() => interrupted.context("waiting for SIGINT")?,
    }
    Ok(())
}
