//! Reads the Knative manifests in `eventing/` and resolves the one Broker the local broker
//! plays, with its Triggers, into plain values: filters, subscriber URLs and delivery
//! policies. Kubernetes Services are resolved through a name → base URL map, since there
//! is no cluster DNS locally.

mod schema;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::duration::{DurationError, parse_iso8601};

/// The annotation of eventing-rabbitmq that sets a Trigger's deliveries in flight.
pub const PARALLELISM_ANNOTATION: &str = "rabbitmq.eventing.knative.dev/parallelism";

/// Backoff when a delivery spec sets retries but no delay.
const DEFAULT_BACKOFF_DELAY: Duration = Duration::from_millis(200);

/// The Broker to play, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerSpec {
    pub name: String,
    pub delivery: DeliveryPolicy,
    pub triggers: Vec<TriggerSpec>,
}

/// One Trigger of the Broker, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerSpec {
    pub name: String,
    /// Exact match on every attribute (empty values, "any" in Knative, are left out).
    pub filter: BTreeMap<String, String>,
    pub subscriber: Url,
    /// The Trigger's delivery merged over the Broker's.
    pub delivery: DeliveryPolicy,
    pub parallelism: u16,
}

/// What to do when a delivery fails.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryPolicy {
    /// Attempts after the first.
    pub retry: u32,
    pub backoff: Backoff,
    pub dead_letter_sink: Option<Url>,
    /// Per-attempt timeout, if the manifest sets one.
    pub timeout: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackoffPolicy {
    Exponential,
    Linear,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub policy: BackoffPolicy,
    pub delay: Duration,
}

impl Backoff {
    /// The wait before retry number `n` (0-based): `delay * 2^n` or `delay * (n + 1)`.
    pub fn wait(&self, n: u32) -> Duration {
        match self.policy {
            BackoffPolicy::Exponential => 2u32.checked_pow(n).map_or(Duration::MAX, |factor| self.delay.saturating_mul(factor)),
            BackoffPolicy::Linear => self.delay.saturating_mul(n.saturating_add(1)),
        }
    }
}

/// Why the manifests cannot be played. Each names the file or object at fault.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {source}")]
    Yaml { path: PathBuf, source: serde_norway::Error },
    #[error("no Broker (eventing.knative.dev/v1) in {dir}")]
    NoBroker { dir: PathBuf },
    #[error("several Brokers ({names}) in {dir}: choose one with --broker")]
    SeveralBrokers { dir: PathBuf, names: String },
    #[error("no Broker named {name:?} in {dir}")]
    BrokerNotFound { dir: PathBuf, name: String },
    #[error("Trigger {trigger}: spec.filters is not supported by the local broker; use spec.filter.attributes")]
    FiltersUnsupported { trigger: String },
    #[error("{owner}: Service {service:?} has no --service {service}=BASE_URL mapping")]
    UnknownService { owner: String, service: String },
    #[error("{owner}: a ref to a {kind} is not supported locally (only Service)")]
    UnsupportedRef { owner: String, kind: String },
    #[error("{owner}: neither ref nor an absolute uri")]
    NoDestination { owner: String },
    #[error("{owner}: bad uri {uri:?}: {reason}")]
    BadUri { owner: String, uri: String, reason: String },
    #[error("{owner}: unknown backoffPolicy {value:?} (exponential or linear)")]
    BackoffPolicy { owner: String, value: String },
    #[error("{owner}: {field}: {source}")]
    Duration { owner: String, field: &'static str, source: DurationError },
    #[error("Trigger {trigger}: annotation {PARALLELISM_ANNOTATION} must be a number from 1 to 65535, not {value:?}")]
    Parallelism { trigger: String, value: String },
}

/// Reads every `*.yaml`/`*.yml` file in `dir` and resolves the Broker named `broker` (or
/// the only Broker) with its Triggers. `services` maps Service names to base URLs.
pub fn load(dir: &Path, broker: Option<&str>, services: &BTreeMap<String, Url>) -> Result<BrokerSpec, ManifestError> {
    let (brokers, triggers) = read_objects(dir)?;
    let chosen = match broker {
        Some(name) => brokers
            .into_iter()
            .find(|b| b.metadata.name == name)
            .ok_or_else(|| ManifestError::BrokerNotFound { dir: dir.to_owned(), name: name.to_owned() })?,
        None if brokers.len() > 1 => {
            let names = brokers.iter().map(|b| b.metadata.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(ManifestError::SeveralBrokers { dir: dir.to_owned(), names });
        }
        None => brokers.into_iter().next().ok_or_else(|| ManifestError::NoBroker { dir: dir.to_owned() })?,
    };
    let resolver = Resolver { services };
    let broker_owner = format!("Broker {}", chosen.metadata.name);
    let broker_delivery = chosen.spec.delivery.unwrap_or_default();
    let delivery = resolver.delivery(&broker_owner, broker_delivery.clone())?;
    let triggers = triggers
        .into_iter()
        .filter(|t| t.spec.broker == chosen.metadata.name)
        .map(|t| resolver.trigger(t, &broker_delivery))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BrokerSpec { name: chosen.metadata.name, delivery, triggers })
}

/// The Brokers and Triggers of every manifest file in `dir`, in file-name order.
fn read_objects(dir: &Path) -> Result<(Vec<schema::Broker>, Vec<schema::Trigger>), ManifestError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ManifestError::Io { path, source }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let (mut brokers, mut triggers) = (Vec::new(), Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let yaml = |source| ManifestError::Yaml { path: path.clone(), source };
        for document in serde_norway::Deserializer::from_str(&text) {
            let value = serde_norway::Value::deserialize(document).map_err(yaml)?;
            if value.is_null() {
                continue;
            }
            let meta: schema::TypeMeta = serde_norway::from_value(value.clone()).map_err(yaml)?;
            if !meta.api_version.starts_with("eventing.knative.dev/") {
                continue;
            }
            match meta.kind.as_str() {
                "Broker" => brokers.push(serde_norway::from_value(value).map_err(yaml)?),
                "Trigger" => triggers.push(serde_norway::from_value(value).map_err(yaml)?),
                _ => {}
            }
        }
    }
    Ok((brokers, triggers))
}

struct Resolver<'a> {
    services: &'a BTreeMap<String, Url>,
}

impl Resolver<'_> {
    fn trigger(&self, trigger: schema::Trigger, broker_delivery: &schema::Delivery) -> Result<TriggerSpec, ManifestError> {
        let name = trigger.metadata.name;
        let owner = format!("Trigger {name}");
        if trigger.spec.filters.is_some() {
            return Err(ManifestError::FiltersUnsupported { trigger: name });
        }
        let parallelism = match trigger.metadata.annotations.get(PARALLELISM_ANNOTATION) {
            None => 1,
            Some(value) => value
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ManifestError::Parallelism { trigger: name.clone(), value: value.clone() })?,
        };
        let filter = trigger.spec.filter.unwrap_or_default().attributes.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        let subscriber = self.destination(&format!("{owner} subscriber"), &trigger.spec.subscriber)?;
        let delivery = trigger.spec.delivery.unwrap_or_default().or(broker_delivery.clone());
        let delivery = self.delivery(&owner, delivery)?;
        Ok(TriggerSpec { name, filter, subscriber, delivery, parallelism })
    }

    fn delivery(&self, owner: &str, delivery: schema::Delivery) -> Result<DeliveryPolicy, ManifestError> {
        let duration =
            |field, text: &str| parse_iso8601(text).map_err(|source| ManifestError::Duration { owner: owner.to_owned(), field, source });
        let policy = match delivery.backoff_policy.as_deref() {
            None | Some("exponential") => BackoffPolicy::Exponential,
            Some("linear") => BackoffPolicy::Linear,
            Some(other) => return Err(ManifestError::BackoffPolicy { owner: owner.to_owned(), value: other.to_owned() }),
        };
        let delay = match delivery.backoff_delay.as_deref() {
            Some(text) => duration("spec.delivery.backoffDelay", text)?,
            None => DEFAULT_BACKOFF_DELAY,
        };
        let timeout = delivery.timeout.as_deref().map(|text| duration("spec.delivery.timeout", text)).transpose()?;
        let dead_letter_sink = match &delivery.dead_letter_sink {
            Some(sink) => Some(self.destination(&format!("{owner} deadLetterSink"), sink)?),
            None => None,
        };
        Ok(DeliveryPolicy { retry: delivery.retry.unwrap_or(0), backoff: Backoff { policy, delay }, dead_letter_sink, timeout })
    }

    /// A Destination's URL: the Service's base URL joined with a relative `uri`, or an
    /// absolute `uri` alone.
    fn destination(&self, owner: &str, destination: &schema::Destination) -> Result<Url, ManifestError> {
        let bad_uri = |uri: &str, reason: String| ManifestError::BadUri { owner: owner.to_owned(), uri: uri.to_owned(), reason };
        match (&destination.reference, &destination.uri) {
            (Some(reference), uri) => {
                if reference.kind != "Service" {
                    return Err(ManifestError::UnsupportedRef { owner: owner.to_owned(), kind: reference.kind.clone() });
                }
                let base = self
                    .services
                    .get(&reference.name)
                    .ok_or_else(|| ManifestError::UnknownService { owner: owner.to_owned(), service: reference.name.clone() })?;
                match uri {
                    Some(uri) => base.join(uri).map_err(|e| bad_uri(uri, e.to_string())),
                    None => Ok(base.clone()),
                }
            }
            (None, Some(uri)) => Url::parse(uri).map_err(|e| bad_uri(uri, format!("{e} (without a ref, the uri must be absolute)"))),
            (None, None) => Err(ManifestError::NoDestination { owner: owner.to_owned() }),
        }
    }
}
