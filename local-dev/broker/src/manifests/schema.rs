//! The parts of the Knative `Broker` and `Trigger` objects (eventing.knative.dev/v1) the
//! local broker reads, as they appear in YAML. Unknown fields are ignored, as the API
//! server would keep them; everything is resolved and validated in the parent module.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Just enough of any Kubernetes object to decide whether it is one of ours.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeMeta {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct Broker {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: BrokerSpec,
}

#[derive(Debug, Default, Deserialize)]
pub struct BrokerSpec {
    pub delivery: Option<Delivery>,
}

#[derive(Debug, Deserialize)]
pub struct Trigger {
    pub metadata: ObjectMeta,
    pub spec: TriggerSpec,
}

#[derive(Debug, Deserialize)]
pub struct TriggerSpec {
    pub broker: String,
    pub filter: Option<Filter>,
    /// The newer (CESQL-style) filters; only detected, to be rejected.
    pub filters: Option<serde_norway::Value>,
    pub subscriber: Destination,
    pub delivery: Option<Delivery>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// `duck/v1 DeliverySpec`. Every field is optional so that a Trigger's spec can override
/// a Broker's field by field.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub retry: Option<u32>,
    pub backoff_policy: Option<String>,
    pub backoff_delay: Option<String>,
    pub dead_letter_sink: Option<Destination>,
    /// Per-attempt timeout (Knative's `delivery-timeout` feature).
    pub timeout: Option<String>,
}

impl Delivery {
    /// `self`'s fields where set, `fallback`'s otherwise.
    pub fn or(self, fallback: Delivery) -> Delivery {
        Delivery {
            retry: self.retry.or(fallback.retry),
            backoff_policy: self.backoff_policy.or(fallback.backoff_policy),
            backoff_delay: self.backoff_delay.or(fallback.backoff_delay),
            dead_letter_sink: self.dead_letter_sink.or(fallback.dead_letter_sink),
            timeout: self.timeout.or(fallback.timeout),
        }
    }
}

/// `duck/v1 Destination`: a reference to an addressable, an URI, or a reference plus a
/// relative URI.
#[derive(Clone, Debug, Deserialize)]
pub struct Destination {
    #[serde(rename = "ref")]
    pub reference: Option<Reference>,
    pub uri: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Reference {
    pub kind: String,
    pub name: String,
}
