//! CloudEvents on the wire: an event as an AMQP message in the Broker's format (contract
//! §4: body = data, `content_type` = datacontenttype, every other attribute and extension an
//! unprefixed header, persistent, message id = event id), an AMQP message as a binary-mode
//! HTTP request (`ce-*` headers), and a subscriber's HTTP reply as an event.

use cloudevents::{AttributesReader, Data, Event};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Extension set on a dead letter: the subscriber URL the delivery failed to.
pub const ERROR_DEST: &str = "knativeerrordest";
/// Extension set on a dead letter: the last HTTP status, `0` when there was no response.
pub const ERROR_CODE: &str = "knativeerrorcode";
/// Extension set on a dead letter: the last response body (or the network error), base64.
pub const ERROR_DATA: &str = "knativeerrordata";
/// Bytes of a failed response kept in [`ERROR_DATA`].
pub const ERROR_DATA_LIMIT: usize = 1024;
/// Internal header naming the Trigger a dead letter failed on, so the dead-letter
/// dispatcher can honour a Trigger's own `deadLetterSink`. `x-` headers never reach HTTP.
pub const TRIGGER_HEADER: &str = "x-local-broker-trigger";

/// A message for (or from) RabbitMQ.
#[derive(Clone, Debug, PartialEq)]
pub struct AmqpMessage {
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// `event` in the Broker's message format.
pub fn from_event(event: &Event) -> AmqpMessage {
    let mut headers = FieldTable::default();
    for (name, value) in event.iter() {
        if name != "datacontenttype" {
            headers.insert(name.into(), AMQPValue::LongString(LongString::from(value.to_string())));
        }
    }
    let (body, default_content_type) = match event.data() {
        None => (Vec::new(), None),
        Some(Data::Binary(bytes)) => (bytes.clone(), None),
        Some(Data::String(text)) => (text.clone().into_bytes(), Some("text/plain")),
        // Serializing a serde_json::Value cannot fail.
        Some(Data::Json(json)) => (serde_json::to_vec(json).unwrap_or_default(), Some("application/json")),
    };
    let mut properties = BasicProperties::default().with_delivery_mode(2).with_message_id(event.id().into()).with_headers(headers);
    if let Some(content_type) = event.datacontenttype().or(default_content_type) {
        properties = properties.with_content_type(content_type.into());
    }
    AmqpMessage { body, properties }
}

/// The CloudEvent attribute a message header carries: the name without a `ce-` prefix, or
/// `None` for `x-*` headers (RabbitMQ's and other tools' own).
pub fn attribute_name(header: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    if lower.starts_with("x-") {
        return None;
    }
    Some(lower.strip_prefix("ce-").map(str::to_owned).unwrap_or(lower))
}

/// A header value as CloudEvents text: strings as they are, numbers and booleans in
/// decimal, AMQP timestamps as RFC 3339; `None` for tables, arrays and void.
pub fn header_text(value: &AMQPValue) -> Option<String> {
    Some(match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::ByteArray(b) => String::from_utf8_lossy(b.as_slice()).into_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::Float(n) => n.to_string(),
        AMQPValue::Double(n) => n.to_string(),
        AMQPValue::DecimalValue(d) => (f64::from(d.value) / 10f64.powi(i32::from(d.scale))).to_string(),
        AMQPValue::Timestamp(seconds) => {
            let seconds = i64::try_from(*seconds).ok()?;
            OffsetDateTime::from_unix_timestamp(seconds).ok()?.format(&Rfc3339).ok()?
        }
        AMQPValue::FieldArray(_) | AMQPValue::FieldTable(_) | AMQPValue::Void => return None,
    })
}

/// The binary-mode HTTP headers for `properties`: `ce-<attribute>` for every header (see
/// [`attribute_name`]) and `Content-Type` from the AMQP content type. Headers that cannot
/// be HTTP headers (odd names, control characters) are left out with a warning.
pub fn http_headers(properties: &BasicProperties) -> HeaderMap {
    let mut http = HeaderMap::new();
    let mut content_type = properties.content_type().as_ref().map(|c| c.as_str().to_owned());
    for (key, value) in properties.headers().iter().flat_map(|table| table.inner()) {
        let (Some(name), Some(text)) = (attribute_name(key.as_str()), header_text(value)) else {
            continue;
        };
        if name == "datacontenttype" || name == "content-type" {
            content_type.get_or_insert(text);
            continue;
        }
        match (HeaderName::try_from(format!("ce-{name}")), HeaderValue::try_from(text)) {
            (Ok(name), Ok(value)) => {
                http.insert(name, value);
            }
            _ => tracing::warn!(header = key.as_str(), "header cannot be sent over HTTP; left out"),
        }
    }
    if let Some(value) = content_type.and_then(|c| HeaderValue::try_from(c).ok()) {
        http.insert(CONTENT_TYPE, value);
    }
    http
}

/// The value of attribute `name` in `properties` (unprefixed or `ce-` prefixed header).
pub fn attribute(properties: &BasicProperties, name: &str) -> Option<String> {
    let table = properties.headers().as_ref()?;
    table.inner().iter().find(|(key, _)| attribute_name(key.as_str()).as_deref() == Some(name)).and_then(|(_, value)| header_text(value))
}

/// The raw header `name` as text (for the internal `x-` headers).
pub fn raw_header(properties: &BasicProperties, name: &str) -> Option<String> {
    properties.headers().as_ref()?.inner().get(name).and_then(header_text)
}

/// Why a delivery failed for good, as recorded on its dead letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError {
    pub destination: String,
    /// The last HTTP status; `None` when no response came (network error, timeout).
    pub status: Option<u16>,
    /// The last response body, or the network error's text.
    pub data: Vec<u8>,
}

/// `message` as a dead letter: the same body and properties plus the `knativeerror*`
/// headers, and [`TRIGGER_HEADER`].
pub fn dead_letter(message: &AmqpMessage, error: &DeliveryError, trigger: &str) -> AmqpMessage {
    use base64::Engine as _;
    let mut headers = message.properties.headers().clone().unwrap_or_default();
    let mut set = |name: &str, value: String| {
        headers.insert(name.into(), AMQPValue::LongString(LongString::from(value)));
    };
    set(ERROR_DEST, error.destination.clone());
    set(ERROR_CODE, error.status.unwrap_or(0).to_string());
    if !error.data.is_empty() {
        let data = &error.data[..error.data.len().min(ERROR_DATA_LIMIT)];
        set(ERROR_DATA, base64::engine::general_purpose::STANDARD.encode(data));
    }
    set(TRIGGER_HEADER, trigger.to_owned());
    AmqpMessage { body: message.body.clone(), properties: message.properties.clone().with_headers(headers) }
}

/// The CloudEvent a subscriber answered with, if its response carries one: binary mode
/// (`ce-id` header) or structured mode (`application/cloudevents+json`).
pub fn reply_event(headers: &HeaderMap, body: Vec<u8>) -> Option<Result<Event, cloudevents::message::Error>> {
    let structured = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("application/cloudevents+json"));
    (structured || headers.contains_key("ce-id")).then(|| cloudevents::binding::http::to_event(headers, body))
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
