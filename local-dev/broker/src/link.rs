//! The link to RabbitMQ: a supervisor task connects, declares the topology and shares the
//! resulting [`Session`] through a watch channel; when the connection drops it withdraws the
//! session and reconnects with capped exponential backoff, logging every attempt, until
//! shutdown. Ingress, dispatchers and readiness all look at the same watch, so they see one
//! truth about "connected with topology declared".

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::LongString;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::sync::{Mutex, watch};

use crate::manifests::BrokerSpec;
use crate::message::AmqpMessage;
use crate::topology::{self, Names};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How often the supervisor checks that the connection is still up.
const HEALTH_CHECK: Duration = Duration::from_millis(250);
/// Bound on connecting, declaring and on each publish confirm.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a publish did not happen. Every variant means "the message is not on RabbitMQ".
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to RabbitMQ")]
    NotConnected,
    #[error("publishing to {exchange:?}: {message}")]
    Failed { exchange: String, message: String },
    #[error("RabbitMQ refused the message for {exchange:?} (nack)")]
    Nacked { exchange: String },
}

/// One live connection with the topology declared.
pub struct Session {
    connection: Connection,
    /// The confirm-mode channel for publishing, replaced when it breaks.
    publisher: Mutex<Channel>,
}

impl Session {
    pub fn is_alive(&self) -> bool {
        self.connection.status().connected()
    }

    /// A new channel for a consumer.
    pub async fn channel(&self) -> Result<Channel, lapin::Error> {
        self.connection.create_channel().await
    }

    /// Publishes `message` to `exchange` (routing key `""`) and waits for the confirm.
    pub async fn publish(&self, exchange: &str, message: &AmqpMessage) -> Result<(), PublishError> {
        let failed = |message: String| PublishError::Failed { exchange: exchange.to_owned(), message };
        let channel = self.publisher().await.map_err(|e| failed(format!("opening a channel: {e}")))?;
        let publish = async {
            let options = BasicPublishOptions::default();
            channel.basic_publish(exchange, "", options, &message.body, message.properties.clone()).await?.await
        };
        match tokio::time::timeout(OPERATION_TIMEOUT, publish).await {
            Ok(Ok(confirm)) if confirm.is_ack() => Ok(()),
            Ok(Ok(_)) => Err(PublishError::Nacked { exchange: exchange.to_owned() }),
            Ok(Err(e)) => Err(failed(e.to_string())),
            Err(_) => Err(failed(format!("no confirm within {OPERATION_TIMEOUT:?}"))),
        }
    }

    async fn publisher(&self) -> Result<Channel, lapin::Error> {
        let mut publisher = self.publisher.lock().await;
        if !publisher.status().connected() {
            *publisher = confirm_channel(&self.connection).await?;
        }
        Ok(publisher.clone())
    }
}

async fn confirm_channel(connection: &Connection) -> Result<Channel, lapin::Error> {
    let channel = connection.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(channel)
}

/// A handle on the link: cheap to clone.
#[derive(Clone)]
pub struct Link {
    session: watch::Receiver<Option<Arc<Session>>>,
}

impl Link {
    /// The current session, if connected.
    pub fn current(&self) -> Option<Arc<Session>> {
        self.session.borrow().clone().filter(|s| s.is_alive())
    }

    /// The current session, waiting up to `patience` for one.
    pub async fn wait(&self, patience: Duration) -> Option<Arc<Session>> {
        let mut session = self.session.clone();
        let ready = session.wait_for(|s| s.as_ref().is_some_and(|s| s.is_alive()));
        tokio::time::timeout(patience, ready).await.ok()?.ok()?.clone()
    }

    /// Waits for a live session, or `None` once the link has stopped for good.
    pub async fn next_session(&self) -> Option<Arc<Session>> {
        let mut session = self.session.clone();
        let ready = session.wait_for(|s| s.as_ref().is_some_and(|s| s.is_alive())).await;
        ready.ok()?.clone()
    }

    /// Publishes on the current session, waiting up to `patience` for one.
    pub async fn publish(&self, exchange: &str, message: &AmqpMessage, patience: Duration) -> Result<(), PublishError> {
        self.wait(patience).await.ok_or(PublishError::NotConnected)?.publish(exchange, message).await
    }
}

/// Starts the supervisor. It runs until `shutdown` turns true, then closes the connection.
pub fn spawn(url: String, names: Names, broker: Arc<BrokerSpec>, shutdown: watch::Receiver<bool>) -> (Link, tokio::task::JoinHandle<()>) {
    let (sender, receiver) = watch::channel(None);
    let task = tokio::spawn(supervise(url, names, broker, sender, shutdown));
    (Link { session: receiver }, task)
}

async fn supervise(
    url: String,
    names: Names,
    broker: Arc<BrokerSpec>,
    sessions: watch::Sender<Option<Arc<Session>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut retry = FIRST_RETRY;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match tokio::time::timeout(OPERATION_TIMEOUT, connect(&url, &names, &broker)).await {
            Ok(Ok(session)) => {
                tracing::info!(exchange = %names.exchange, attempt, "connected to RabbitMQ; topology declared");
                let session = Arc::new(session);
                sessions.send_replace(Some(session.clone()));
                (attempt, retry) = (0, FIRST_RETRY);
                let stopped = watch_connection(&session, &mut shutdown).await;
                sessions.send_replace(None);
                if stopped {
                    let _ = session.connection.close(200, "local broker shutting down").await;
                    return;
                }
                tracing::warn!(exchange = %names.exchange, "lost the RabbitMQ connection; reconnecting");
                continue;
            }
            Ok(Err(e)) => tracing::warn!(attempt, error = %e, "connecting to RabbitMQ failed; retrying in {retry:?}"),
            Err(_) => tracing::warn!(attempt, "connecting to RabbitMQ timed out after {OPERATION_TIMEOUT:?}; retrying in {retry:?}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// Waits until the connection drops (`false`) or shutdown is asked for (`true`).
async fn watch_connection(session: &Session, shutdown: &mut watch::Receiver<bool>) -> bool {
    let mut tick = tokio::time::interval(HEALTH_CHECK);
    loop {
        tokio::select! {
            _ = tick.tick() => if !session.is_alive() { return false },
            _ = shutdown.wait_for(|stop| *stop) => return true,
        }
    }
}

async fn connect(url: &str, names: &Names, broker: &BrokerSpec) -> Result<Session, lapin::Error> {
    let properties =
        ConnectionProperties::default().with_connection_name(LongString::from(format!("mp3convert-local-broker {}", names.exchange)));
    let connection = Connection::connect(url, properties).await?;
    let declared = async {
        let channel = connection.create_channel().await?;
        topology::declare(&channel, names, broker).await?;
        let _ = channel.close(200, "topology declared").await;
        confirm_channel(&connection).await
    };
    match declared.await {
        Ok(publisher) => Ok(Session { connection, publisher: Mutex::new(publisher) }),
        Err(e) => {
            let _ = connection.close(200, "setup failed").await;
            Err(e)
        }
    }
}
