//! The adapters behind each port, chosen by configuration and connected on first use:
//!
//! | port | configured | otherwise (dev, and the embedded default) |
//! |---|---|---|
//! | blob store | GridFS (`MP3CONVERT_MONGODB_URL`) | a directory in `MP3CONVERT_DATA_DIR` |
//! | job store | MongoDB (`MP3CONVERT_MONGODB_URL`) | SQLite in `MP3CONVERT_DATA_DIR` |
//! | user store | MySQL (`MP3CONVERT_MYSQL_URL`) | SQLite in `MP3CONVERT_DATA_DIR` |
//! | event bus | HTTP (`K_SINK`) or AMQP (`MP3CONVERT_AMQP_URL`) | none: a function must send its events somewhere |
//!
//! A function in production mode refuses the data-directory fallbacks: a pod's disk is
//! neither shared nor kept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::OnceCell;

use crate::blob_store::BlobStore;
use crate::blob_store::fs::FsBlobStore;
use crate::blob_store::gridfs::GridFsBlobStore;
use crate::config::{Config, EventsOut, Mode};
use crate::event_bus::EventBus;
use crate::event_bus::amqp::{AmqpEventBus, AmqpOptions};
use crate::event_bus::http::HttpEventBus;
use crate::event_bus::signature::{self, EventKey, SigningBus};
use crate::http::ReadinessCheck;
use crate::job_store::JobStore;
use crate::job_store::mongodb::MongoJobStore;
use crate::job_store::sqlite::SqliteJobStore;
use crate::user_store::UserStore;
use crate::user_store::mysql::MySqlUserStore;
use crate::user_store::sqlite::SqliteUserStore;
use crate::webhook_store::WebhookStore;
use crate::webhook_store::mongodb::MongoWebhookStore;
use crate::webhook_store::sqlite::SqliteWebhookStore;

/// Chunks of an unfinished GridFS write older than this belong to a dead writer: no
/// conversion or upload runs that long (Knative's and Lambda's timeouts are shorter).
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// How long an event POST to `K_SINK` may take.
const EVENT_POST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Backends {
    config: Config,
    /// Whether the data-directory fallbacks are allowed.
    allow_local: bool,
    mongo: OnceCell<mongodb::Database>,
    sqlite: OnceCell<crate::sqlite::Pool>,
    checks: Mutex<Vec<ReadinessCheck>>,
}

impl Backends {
    /// Backends of a deployed function: in production only the configured services.
    pub fn for_function(config: &Config) -> Self {
        Self::new(config, config.mode == Mode::Dev)
    }

    /// Backends of the all-in-one platform: the data directory unless a service is configured.
    pub fn embedded(config: &Config) -> Self {
        Self::new(config, true)
    }

    fn new(config: &Config, allow_local: bool) -> Self {
        Self { config: config.clone(), allow_local, mongo: OnceCell::new(), sqlite: OnceCell::new(), checks: Mutex::new(Vec::new()) }
    }

    pub async fn blob_store(&self) -> anyhow::Result<Arc<dyn BlobStore>> {
        if let Some(db) = self.mongo().await? {
            let store = Arc::new(GridFsBlobStore::open(db.clone()).await.context("opening the GridFS buckets")?);
            let sweeper = store.clone();
            tokio::spawn(async move {
                match sweeper.sweep_orphans(ORPHAN_AGE).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(chunks = n, "deleted the chunks of writes cut off by a crash"),
                    Err(e) => tracing::warn!(error = %e, "sweeping orphan GridFS chunks"),
                }
            });
            return Ok(store);
        }
        self.local("MP3CONVERT_MONGODB_URL", "files")?;
        let dir = self.config.data_dir.join("blobs");
        Ok(Arc::new(FsBlobStore::open(&dir).with_context(|| format!("opening the file store {}", dir.display()))?))
    }

    pub async fn job_store(&self) -> anyhow::Result<Arc<dyn JobStore>> {
        if let Some(db) = self.mongo().await? {
            return Ok(Arc::new(MongoJobStore::open(db.clone()).await.context("opening the MongoDB job store")?));
        }
        self.local("MP3CONVERT_MONGODB_URL", "jobs")?;
        Ok(Arc::new(SqliteJobStore::new(self.sqlite().await?.clone())))
    }

    pub async fn webhook_store(&self) -> anyhow::Result<Arc<dyn WebhookStore>> {
        if let Some(db) = self.mongo().await? {
            return Ok(Arc::new(MongoWebhookStore::open(db.clone()).await.context("opening the MongoDB webhook store")?));
        }
        self.local("MP3CONVERT_MONGODB_URL", "webhooks")?;
        Ok(Arc::new(SqliteWebhookStore::new(self.sqlite().await?.clone())))
    }

    pub async fn user_store(&self) -> anyhow::Result<Arc<dyn UserStore>> {
        if let Some(url) = &self.config.mysql_url {
            let pool = crate::mysql::open_mysql(url.expose()).await?;
            let probe = pool.clone();
            self.add_check(Arc::new(move || {
                let pool = probe.clone();
                Box::pin(async move { crate::mysql::ping(&pool).await })
            }));
            return Ok(Arc::new(MySqlUserStore::new(pool)));
        }
        self.local("MP3CONVERT_MYSQL_URL", "users")?;
        Ok(Arc::new(SqliteUserStore::new(self.sqlite().await?.clone())))
    }

    /// The key this function signs and checks events with ([`signature::load`]).
    pub fn event_key(&self) -> anyhow::Result<Option<EventKey>> {
        signature::load(&self.config)
    }

    /// Where a function sends the events it emits, each signed with `key` when there is one
    /// ([`Backends::event_key`]). A RabbitMQ connection is opened on the first publish, so a
    /// function starts (and scales from zero) while RabbitMQ is away.
    pub fn event_bus(&self, key: Option<EventKey>) -> anyhow::Result<Arc<dyn EventBus>> {
        let bus = self.unsigned_event_bus()?;
        Ok(match key {
            Some(key) => Arc::new(SigningBus { inner: bus, key }),
            None => bus,
        })
    }

    fn unsigned_event_bus(&self) -> anyhow::Result<Arc<dyn EventBus>> {
        match &self.config.events_out {
            EventsOut::Http { sink, ce_overrides } => {
                let bus = HttpEventBus::new(sink, ce_overrides.as_deref(), EVENT_POST_TIMEOUT).context("K_CE_OVERRIDES")?;
                Ok(Arc::new(bus))
            }
            EventsOut::Amqp { url, exchange } => Ok(Arc::new(AmqpEventBus::lazy(url.expose(), exchange, AmqpOptions::default()))),
            EventsOut::InProcess => {
                anyhow::bail!("nowhere to send events: set K_SINK (the Broker's URL; a SinkBinding does) or MP3CONVERT_AMQP_URL")
            }
        }
    }

    /// Ready when every backend opened so far answers.
    pub fn readiness(&self) -> ReadinessCheck {
        let checks = self.checks.lock().map(|c| c.clone()).unwrap_or_default();
        Arc::new(move || {
            let checks = checks.clone();
            Box::pin(async move {
                for check in checks {
                    if !check().await {
                        return false;
                    }
                }
                true
            })
        })
    }

    async fn mongo(&self) -> anyhow::Result<Option<&mongodb::Database>> {
        let Some(url) = &self.config.mongodb_url else { return Ok(None) };
        let db = self
            .mongo
            .get_or_try_init(|| async {
                let client = mongodb::Client::with_uri_str(url.expose()).await.context("MP3CONVERT_MONGODB_URL")?;
                let db = client.database(&self.config.mongodb_database);
                let probe = db.clone();
                self.add_check(Arc::new(move || {
                    let db = probe.clone();
                    Box::pin(async move { db.run_command(mongodb::bson::doc! { "ping": 1 }).await.is_ok() })
                }));
                anyhow::Ok(db)
            })
            .await?;
        Ok(Some(db))
    }

    async fn sqlite(&self) -> anyhow::Result<&crate::sqlite::Pool> {
        self.sqlite
            .get_or_try_init(|| async {
                let dir = &self.config.data_dir;
                std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
                let pool = crate::sqlite::open(&dir.join("mp3convert.db")).await.context("opening the database")?;
                let probe = pool.clone();
                self.add_check(Arc::new(move || {
                    let pool = probe.clone();
                    Box::pin(async move { crate::sqlite::ping(&pool).await })
                }));
                anyhow::Ok(pool)
            })
            .await
    }

    /// Refuses a data-directory fallback where it is not allowed.
    fn local(&self, variable: &str, what: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.allow_local,
            "{variable} is not set: a function in production mode keeps no {what} on its own disk (MP3CONVERT_MODE=dev allows the data directory)"
        );
        Ok(())
    }

    fn add_check(&self, check: ReadinessCheck) {
        if let Ok(mut checks) = self.checks.lock() {
            checks.push(check);
        }
    }
}
