//! How a function binary runs: configuration → backends → router → HTTP on `$PORT` (the
//! Knative runtime contract) or AWS Lambda (when `AWS_LAMBDA_RUNTIME_API` is set), with
//! `/health/*`, `/metrics`, logs on stderr (JSON in production) and a SIGTERM drain.
//!
//! Each function's `main.rs` is [`main`] plus a closure that builds its router from
//! [`Backends`].

mod backends;

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

pub use backends::Backends;

use crate::config::Config;
use crate::http::{ReadinessCheck, ops_router};

/// Runs `pass` every `period` until `stopping`, the first time at once; a pass that fails is
/// logged as `what` and tried again at the next tick. (A late tick waits: passes never pile
/// up.)
pub fn every<F, Fut, T>(period: Duration, stopping: CancellationToken, what: &'static str, mut pass: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stopping.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = pass().await {
                tracing::warn!(error = format!("{e:#}"), "{what} failed; trying again at the next tick");
            }
        }
    });
}

/// A function's routes and how to tell it is ready.
pub struct Function {
    pub router: Router,
    /// Whether the backends the function uses answer (`GET /health/readiness`).
    pub ready: ReadinessCheck,
}

/// Runs the function `name` (e.g. `mp3convert-upload`) built by `build` until SIGTERM.
/// `build` gets the configuration and a token cancelled at the shutdown deadline
/// (`MP3CONVERT_SHUTDOWN_GRACE_SECS` after SIGTERM), when long work must stop.
///
/// Exit codes: 0 after a drain, 2 for a configuration error, 1 when start-up fails.
pub fn main<B, F>(name: &'static str, build: B) -> ExitCode
where
    B: FnOnce(Config, CancellationToken) -> F,
    F: Future<Output = anyhow::Result<Function>>,
{
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(config.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(name, config, build)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(function = name, error = format!("{e:#}"), "stopped");
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run<B, F>(name: &'static str, config: Config, build: B) -> anyhow::Result<()>
where
    B: FnOnce(Config, CancellationToken) -> F,
    F: Future<Output = anyhow::Result<Function>>,
{
    let (addr, lambda, limits) = (config.addr, config.lambda, config.limits.clone());
    let stopping = CancellationToken::new();
    let function = build(config, stopping.clone()).await?;
    let router = function.router.merge(ops_router(function.ready)).layer(TraceLayer::new_for_http());
    if lambda {
        tracing::info!(function = name, "serving AWS Lambda invocations");
        let router = crate::http::edge::lambda_router(router);
        return lambda_http::run(router).await.map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"));
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let shutdown = crate::http::shutdown_signal();
    tracing::info!(function = name, addr = %local, "ready");
    // One plain line on stdout for scripts and tests that start the function on port 0.
    println!("{name} listening on http://{local}");
    crate::http::serve(listener, router, &limits, shutdown, stopping).await.context("serving HTTP")?;
    tracing::info!(function = name, "drained, exiting");
    Ok(())
}
