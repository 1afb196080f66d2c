//! The all-in-one platform: every function's router merged on one port, wired to the
//! embedded adapters (SQLite for users and jobs, a directory for files, in-process events;
//! MongoDB/GridFS and MySQL instead when configured) and a bounded worker pool for
//! conversions.
//!
//! `main.rs` is the command line; [`Platform::start`] is what it and the tests run.

pub mod api_doc;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use convert::ConvertState;
use convert::worker::WorkerPool;
use platform::auth::{TokenSigner, TokenVerifier, keys};
use platform::config::Config;
use platform::event_bus::memory::MemoryEventBus;
use platform::http::ops_router;
use platform::runtime::Backends;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// CloudEvents `source` of everything the embedded platform emits.
pub const EVENT_SOURCE: &str = "/mp3convert/embedded";

/// A started platform: serve [`Platform::router`], then [`Platform::shutdown`].
pub struct Platform {
    pub router: Router,
    workers: WorkerPool,
    sweeping: tokio_util::sync::CancellationToken,
    limits: platform::config::Limits,
}

impl Platform {
    /// Opens the data directory (creating it) or the configured services, the keys, and
    /// starts the workers.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let backends = Backends::embedded(config);
        let blobs = backends.blob_store().await?;
        let users = backends.user_store().await?;
        let jobs = backends.job_store().await?;
        // Embedded, events stay in the process: the worker pool below takes them.
        let events = Arc::new(MemoryEventBus::new());

        let keys = keys::load(config)?;
        let signer = Arc::new(TokenSigner::new(keys.private_pem.as_str(), &config.jwt_issuer, config.token_ttl)?);
        let verifier = Arc::new(TokenVerifier::new(&keys.public_pem, &config.jwt_issuer)?);
        let links = platform::auth::links::load(config)?;

        let convert_state = ConvertState {
            blobs: blobs.clone(),
            jobs: jobs.clone(),
            events: events.clone(),
            event_source: EVENT_SOURCE.into(),
            // Events never leave the process.
            event_key: None,
            lease: config.job_lease,
            sandbox: Some(config.limits.sandbox().context("finding the converter executable")?),
            max_duration: config.limits.max_duration,
            encode_threads: config.limits.encode_threads,
            // The workers stop through `WorkerPool::shutdown`, after serving has stopped.
            stopping: tokio_util::sync::CancellationToken::new(),
        };
        let workers = WorkerPool::start(convert_state, config.workers, events.subscribe()).await?;

        // Webhooks: jobs' ends from the in-process events, deliveries on a loop; both stop
        // with the workers.
        let webhooks = backends.webhook_store().await?;
        let deliverer = notify::Deliverer::new(webhooks.clone(), &config.webhooks);
        let notify_state = notify::NotifyState {
            webhooks,
            jobs: jobs.clone(),
            verifier: verifier.clone(),
            deliverer: deliverer.clone(),
            allow_loopback: config.webhooks.allow_loopback,
        };

        // Retention on a timer (MP3CONVERT_SWEEP_SECS), stopped with the workers.
        let sweeping = tokio_util::sync::CancellationToken::new();
        deliverer.spawn(sweeping.clone());
        spawn_notifier(notify_state.clone(), events.subscribe(), sweeping.clone());
        upload::retention::Sweeper::new(blobs.clone(), jobs.clone(), config.retention).spawn_timer(sweeping.clone());
        let ready = backends.readiness();
        let router = Router::new()
            .merge(auth::router(auth::AuthState::new(users, signer, config.signup_open, &config.limits)))
            .merge(upload::router(upload::UploadState {
                blobs: blobs.clone(),
                jobs,
                events,
                verifier: verifier.clone(),
                max_upload_bytes: config.max_upload_bytes,
                quota_bytes: config.limits.quota_bytes,
                max_queued_jobs: config.limits.max_queued_jobs,
                default_preset: config.default_preset.to_string(),
                event_source: EVENT_SOURCE.into(),
                pending: Default::default(),
            }))
            .merge(download::router(download::DownloadState { blobs, verifier, links, public_url: config.public_url.clone() }))
            .merge(notify::router(notify_state))
            .merge(web::router())
            .merge(ops_router(ready))
            .layer(TraceLayer::new_for_http());
        Ok(Self { router, workers, sweeping, limits: config.limits.clone() })
    }

    /// Serves on `listener` until `shutdown` completes, then stops the workers (running
    /// conversions are re-queued for the next start).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stopping = tokio_util::sync::CancellationToken::new();
        let served = platform::http::serve(listener, self.router, &self.limits, shutdown, stopping).await;
        self.sweeping.cancel();
        self.workers.shutdown().await;
        served.context("serving HTTP")
    }
}

/// How often the all-in-one queues the webhook deliveries that no event queued (at start,
/// then this often): see `notify::catch_up`.
const CATCH_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Queues the webhook deliveries of each job that ends (its converted or failed event), and
/// catches up on the ones the events missed.
fn spawn_notifier(
    state: notify::NotifyState,
    mut events: tokio::sync::broadcast::Receiver<platform::event_bus::Event>,
    stop: tokio_util::sync::CancellationToken,
) {
    let catching_up = state.clone();
    platform::runtime::every(CATCH_UP_EVERY, stop.clone(), "webhook catch-up", move || {
        let state = catching_up.clone();
        async move { notify::catch_up(&state).await }
    });
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => {
                    if let Err(e) = notify::on_event(&state, &event.ty, &event.id, &event.data).await {
                        tracing::warn!(event = %event.id, error = format!("{e:#}"), "queuing webhook deliveries");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "the webhook notifier fell behind the in-process events; the catch-up will queue their deliveries"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
