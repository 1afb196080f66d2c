//! The dispatchers: one per Trigger queue and one for the dead-letter queue. Each consumes
//! its queue ([`consumer`]), delivers every message over HTTP ([`deliver`]) and settles it
//! only once the outcome is safe (at-least-once): acked after a 2xx (and after its reply
//! event is on the exchange), or after the dead letter is confirmed on the DLX; nacked back
//! onto the queue when that publish fails or shutdown interrupts a backoff.

mod consumer;
mod deliver;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::watch;

pub use consumer::run;
pub use deliver::is_retryable;
use deliver::{Delivered, Outcome};

use crate::link::Link;
use crate::manifests::{BrokerSpec, DeliveryPolicy};
use crate::message::{self, AmqpMessage};
use crate::topology::Names;

/// What the dispatchers share.
pub struct Context {
    pub link: Link,
    pub names: Names,
    pub client: reqwest::Client,
    /// Per-attempt timeout unless a delivery spec sets one.
    pub delivery_timeout: Duration,
    /// How long a publish (reply, dead letter) waits for a lost link before giving up.
    pub publish_patience: Duration,
    pub shutdown: watch::Receiver<bool>,
}

/// One queue and what to do with its messages.
#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub queue: String,
    pub parallelism: u16,
    pub kind: RouteKind,
}

#[derive(Clone, Debug)]
pub enum RouteKind {
    /// A Trigger's queue: deliver to its subscriber.
    Trigger { subscriber: Url, delivery: DeliveryPolicy },
    /// The dead-letter queue: deliver to the sink of the Trigger the letter failed on.
    DeadLetter { sinks: BTreeMap<String, (Url, DeliveryPolicy)>, fallback: Option<(Url, DeliveryPolicy)> },
}

/// The routes for `broker`: its Triggers, then the dead-letter queue if any sink is set.
pub fn routes(broker: &BrokerSpec, names: &Names) -> Vec<Route> {
    let mut routes: Vec<Route> = broker
        .triggers
        .iter()
        .map(|t| Route {
            name: t.name.clone(),
            queue: names.trigger_queue(&t.name),
            parallelism: t.parallelism,
            kind: RouteKind::Trigger { subscriber: t.subscriber.clone(), delivery: t.delivery.clone() },
        })
        .collect();
    let with_sink = |d: &DeliveryPolicy| d.dead_letter_sink.clone().map(|sink| (sink, d.clone()));
    let sinks: BTreeMap<_, _> = broker.triggers.iter().filter_map(|t| Some((t.name.clone(), with_sink(&t.delivery)?))).collect();
    let fallback = with_sink(&broker.delivery);
    if !sinks.is_empty() || fallback.is_some() {
        routes.push(Route {
            name: "dead-letter".to_owned(),
            queue: names.dead_letter_queue(),
            parallelism: 1,
            kind: RouteKind::DeadLetter { sinks, fallback },
        });
    }
    routes
}

/// How to settle a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    Ack,
    /// Back onto the queue, to be delivered again.
    Requeue,
}

/// Delivers one message of `route` and decides how to settle it.
pub async fn handle(context: &Context, route: &Route, message: &AmqpMessage) -> Settle {
    let mut shutdown = context.shutdown.clone();
    match &route.kind {
        RouteKind::Trigger { subscriber, delivery } => {
            let timeout = delivery.timeout.unwrap_or(context.delivery_timeout);
            match deliver::deliver(&context.client, subscriber, message, delivery, timeout, &mut shutdown).await {
                Outcome::Delivered(response) => publish_reply(context, response).await,
                Outcome::Interrupted => Settle::Requeue,
                Outcome::Failed { error, .. } => match &delivery.dead_letter_sink {
                    None => {
                        tracing::error!(trigger = %route.name, destination = %error.destination, "delivery failed and no deadLetterSink is set: dropping the event");
                        Settle::Ack
                    }
                    Some(_) => {
                        let letter = message::dead_letter(message, &error, &route.name);
                        publish_or_requeue(context, &context.names.dead_letter_exchange(), &letter, "dead letter").await
                    }
                },
            }
        }
        RouteKind::DeadLetter { sinks, fallback } => {
            let trigger = message::raw_header(&message.properties, message::TRIGGER_HEADER);
            let Some((sink, delivery)) = trigger.and_then(|t| sinks.get(&t)).or(fallback.as_ref()) else {
                tracing::error!("dead letter without a deadLetterSink to send it to: dropping it");
                return Settle::Ack;
            };
            let timeout = delivery.timeout.unwrap_or(context.delivery_timeout);
            match deliver::deliver(&context.client, sink, message, delivery, timeout, &mut shutdown).await {
                // A dead-letter sink's reply is not re-published: it could loop.
                Outcome::Delivered(_) => Settle::Ack,
                Outcome::Interrupted => Settle::Requeue,
                Outcome::Failed { retryable: true, .. } => {
                    // Keep trying forever-ish: wait one backoff step, then back onto the queue.
                    tokio::select! {
                        _ = tokio::time::sleep(delivery.backoff.wait(0)) => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                    Settle::Requeue
                }
                Outcome::Failed { retryable: false, error } => {
                    tracing::error!(sink = %error.destination, status = ?error.status, "the deadLetterSink refused the event: dropping it");
                    Settle::Ack
                }
            }
        }
    }
}

/// Re-publishes the CloudEvent a 2xx response carries, if any.
async fn publish_reply(context: &Context, response: Delivered) -> Settle {
    match message::reply_event(&response.headers, response.body) {
        None => Settle::Ack,
        Some(Err(e)) => {
            tracing::warn!(status = %response.status, error = %e, "the reply looks like a CloudEvent but is not a valid one; ignoring it");
            Settle::Ack
        }
        Some(Ok(reply)) => {
            use cloudevents::AttributesReader as _;
            tracing::info!(reply_id = reply.id(), reply_type = reply.ty(), "re-publishing the reply event");
            publish_or_requeue(context, &context.names.exchange, &message::from_event(&reply), "reply").await
        }
    }
}

async fn publish_or_requeue(context: &Context, exchange: &str, message: &AmqpMessage, what: &str) -> Settle {
    match context.link.publish(exchange, message, context.publish_patience).await {
        Ok(()) => Settle::Ack,
        Err(e) => {
            tracing::error!(error = %e, "publishing the {what} failed; the original goes back onto its queue");
            Settle::Requeue
        }
    }
}
