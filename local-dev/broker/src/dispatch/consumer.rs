//! A queue's consumer loop: waits for a link session, consumes with prefetch = parallelism,
//! runs up to `parallelism` deliveries at once, and starts over on a new channel whenever the
//! channel or connection goes away. On shutdown it stops taking messages and lets the
//! deliveries in flight finish for at most `drain`; what is still unacked then is redelivered
//! by RabbitMQ once the connection closes.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Consumer, message::Delivery};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::{Context, Route, Settle, handle};
use crate::link::Session;
use crate::message::{self, AmqpMessage};

/// Pause before consuming again after the channel broke on a live connection.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// Consumes `route`'s queue until shutdown, then drains for at most `drain`.
pub async fn run(context: Arc<Context>, route: Arc<Route>, drain: Duration) {
    let mut shutdown = context.shutdown.clone();
    let mut in_flight = JoinSet::new();
    'sessions: loop {
        let session = tokio::select! {
            session = context.link.next_session() => match session {
                Some(session) => session,
                None => break,
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let mut consumer = match subscribe(&session, &route).await {
            Ok(consumer) => consumer,
            Err(e) => {
                tracing::warn!(queue = %route.queue, error = %e, "cannot consume; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => continue,
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
            }
        };
        tracing::info!(queue = %route.queue, parallelism = route.parallelism, "consuming");
        loop {
            while in_flight.try_join_next().is_some() {}
            while in_flight.len() >= usize::from(route.parallelism) {
                in_flight.join_next().await;
            }
            let next = tokio::select! {
                next = consumer.next() => next,
                _ = shutdown.wait_for(|stop| *stop) => break 'sessions,
            };
            match next {
                Some(Ok(delivery)) => {
                    in_flight.spawn(settle_after_handling(context.clone(), route.clone(), delivery));
                }
                Some(Err(e)) => {
                    tracing::warn!(queue = %route.queue, error = %e, "consumer failed; consuming again");
                    break;
                }
                None => {
                    tracing::warn!(queue = %route.queue, "consumer stopped; consuming again");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    drain_in_flight(&route, in_flight, drain).await;
}

async fn subscribe(session: &Session, route: &Route) -> Result<Consumer, lapin::Error> {
    let channel = session.channel().await?;
    channel.basic_qos(route.parallelism, BasicQosOptions::default()).await?;
    channel.basic_consume(&route.queue, "", BasicConsumeOptions::default(), FieldTable::default()).await
}

async fn settle_after_handling(context: Arc<Context>, route: Arc<Route>, delivery: Delivery) {
    let message = AmqpMessage { body: delivery.data, properties: delivery.properties };
    let ce_id = message::attribute(&message.properties, "id").unwrap_or_default();
    let ce_type = message::attribute(&message.properties, "type").unwrap_or_default();
    let span = tracing::info_span!("delivery", route = %route.name, ce_id, ce_type, redelivered = delivery.redelivered);
    async {
        let settled = match handle(&context, &route, &message).await {
            Settle::Ack => delivery.acker.ack(BasicAckOptions::default()).await,
            Settle::Requeue => delivery.acker.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await,
        };
        if let Err(e) = settled {
            // The channel is gone; RabbitMQ redelivers the message on another one.
            tracing::warn!(error = %e, "settling the delivery failed; it will be redelivered");
        }
    }
    .instrument(span)
    .await;
}

async fn drain_in_flight(route: &Route, mut in_flight: JoinSet<()>, drain: Duration) {
    if in_flight.is_empty() {
        return;
    }
    tracing::info!(queue = %route.queue, in_flight = in_flight.len(), "waiting for deliveries in flight");
    let drained = tokio::time::timeout(drain, async { while in_flight.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(queue = %route.queue, "deliveries still in flight after {drain:?}; RabbitMQ will redeliver them");
        in_flight.abort_all();
    }
}
