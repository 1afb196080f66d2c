//! Sends events as HTTP POSTs in CloudEvents binary mode to a sink: a Knative Broker's
//! ingress or the `K_SINK` a SinkBinding injects, with `K_CE_OVERRIDES` applied.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use cloudevents::binding::reqwest::RequestBuilderExt;
use cloudevents::event::ExtensionValue;

use super::{Event, EventBus, EventBusError};

pub struct HttpEventBus {
    client: reqwest::Client,
    sink: String,
    extensions: BTreeMap<String, ExtensionValue>,
}

/// `K_CE_OVERRIDES` that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("K_CE_OVERRIDES is not {{\"extensions\": {{name: string | bool | integer}}}}: {0}")]
pub struct OverridesError(String);

/// The extensions in a `K_CE_OVERRIDES` value (`{"extensions": {"name": "value"}}`);
/// an empty value means none.
pub fn parse_overrides(overrides: &str) -> Result<BTreeMap<String, ExtensionValue>, OverridesError> {
    if overrides.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: serde_json::Value = serde_json::from_str(overrides).map_err(|e| OverridesError(e.to_string()))?;
    let Some(root) = value.as_object() else {
        return Err(OverridesError("not an object".to_owned()));
    };
    let Some(extensions) = root.get("extensions") else {
        return Ok(BTreeMap::new());
    };
    let Some(extensions) = extensions.as_object() else {
        return Err(OverridesError("\"extensions\" is not an object".to_owned()));
    };
    extensions
        .iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => ExtensionValue::String(s.clone()),
                serde_json::Value::Bool(b) => ExtensionValue::Boolean(*b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => ExtensionValue::Integer(i),
                    None => return Err(OverridesError(format!("extension {name:?} is not an integer"))),
                },
                _ => return Err(OverridesError(format!("extension {name:?} is not a string, bool or integer"))),
            };
            Ok((name.clone(), value))
        })
        .collect()
}

impl HttpEventBus {
    /// A bus posting to `sink`, adding the extensions of `ce_overrides` (the value of
    /// `K_CE_OVERRIDES`, if set) to every event. Requests time out after `timeout`.
    pub fn new(sink: &str, ce_overrides: Option<&str>, timeout: Duration) -> Result<Self, OverridesError> {
        let extensions = parse_overrides(ce_overrides.unwrap_or_default())?;
        let client =
            reqwest::Client::builder().timeout(timeout).build().map_err(|e| OverridesError(format!("building the HTTP client: {e}")))?;
        Ok(Self { client, sink: sink.to_owned(), extensions })
    }
}

#[async_trait]
impl EventBus for HttpEventBus {
    async fn publish(&self, event: Event) -> Result<(), EventBusError> {
        let (id, ty) = (event.id.clone(), event.ty.clone());
        let event = event.into_cloudevent(&self.extensions).map_err(EventBusError::Unavailable)?;
        let request =
            self.client.post(&self.sink).event(event).map_err(|e| EventBusError::Unavailable(format!("encoding the CloudEvent: {e}")))?;
        let response = request.send().await.map_err(|e| {
            tracing::warn!(ce_id = %id, ce_type = %ty, error = %e, "event sink unreachable");
            EventBusError::Unavailable(format!("POST {}: {e}", self.sink))
        })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            tracing::warn!(ce_id = %id, ce_type = %ty, %status, "event sink refused the event");
            Err(EventBusError::Unavailable(format!("POST {}: {status}", self.sink)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_overrides_add_nothing() {
        assert!(parse_overrides("").unwrap().is_empty());
        assert!(parse_overrides("{}").unwrap().is_empty());
    }

    #[test]
    fn overrides_give_their_extensions() {
        let parsed = parse_overrides(r#"{"extensions": {"team": "audio", "replay": true, "shard": 3}}"#).unwrap();
        assert_eq!(parsed.len(), 3);
        assert!(matches!(&parsed["team"], ExtensionValue::String(s) if s == "audio"));
        assert!(matches!(parsed["replay"], ExtensionValue::Boolean(true)));
        assert!(matches!(parsed["shard"], ExtensionValue::Integer(3)));
    }

    #[test]
    fn malformed_overrides_are_refused() {
        for bad in ["not json", "[]", r#"{"extensions": []}"#, r#"{"extensions": {"x": {"nested": 1}}}"#, r#"{"extensions": {"x": 1.5}}"#] {
            assert!(parse_overrides(bad).is_err(), "{bad}");
        }
    }
}
