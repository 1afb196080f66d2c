//! One message to one subscriber over HTTP, in binary mode, with Knative's retry rules:
//! 2xx is success; network errors, timeouts, 404, 408, 409, 429 and 5xx are retried up to
//! `retry` more times after the policy's backoff; any other status fails at once.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use tokio::sync::watch;

use crate::manifests::DeliveryPolicy;
use crate::message::{self, AmqpMessage, DeliveryError};

/// A 2xx response.
#[derive(Debug)]
pub struct Delivered {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// How a delivery with retries ended.
#[derive(Debug)]
pub enum Outcome {
    Delivered(Delivered),
    /// Attempts used up, or a status that is not retried.
    Failed {
        error: DeliveryError,
        retryable: bool,
    },
    /// Shutdown came during a backoff: the message should go back to its queue.
    Interrupted,
}

/// Whether a failed attempt with this status (`None`: no response) is worth another.
pub fn is_retryable(status: Option<StatusCode>) -> bool {
    match status {
        None => true,
        Some(status) => status.is_server_error() || [404, 408, 409, 429].contains(&status.as_u16()),
    }
}

/// Sends `message` to `url`, retrying per `policy`; each attempt bounded by `timeout`.
pub async fn deliver(
    client: &reqwest::Client,
    url: &Url,
    message: &AmqpMessage,
    policy: &DeliveryPolicy,
    timeout: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> Outcome {
    let mut retry = 0;
    loop {
        let (status, error) = match attempt(client, url, message, timeout).await {
            Ok(delivered) => return Outcome::Delivered(delivered),
            Err(failure) => failure,
        };
        let retryable = is_retryable(status);
        let code = status.map_or_else(|| "no response".to_owned(), |s| s.as_u16().to_string());
        if !retryable || retry >= policy.retry {
            tracing::warn!(subscriber = %url, status = code, attempts = retry + 1, retryable, "delivery failed");
            let error = DeliveryError { destination: url.to_string(), status: status.map(|s| s.as_u16()), data: error };
            return Outcome::Failed { error, retryable };
        }
        let wait = policy.backoff.wait(retry);
        tracing::info!(subscriber = %url, status = code, attempt = retry + 1, "delivery attempt failed; retrying in {wait:?}");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return Outcome::Interrupted,
        }
        retry += 1;
    }
}

/// One POST. A failure is its status (`None` without a response) and the response body,
/// or the error's text when there was no response.
async fn attempt(
    client: &reqwest::Client,
    url: &Url,
    message: &AmqpMessage,
    timeout: Duration,
) -> Result<Delivered, (Option<StatusCode>, Vec<u8>)> {
    let request = client.post(url.clone()).headers(message::http_headers(&message.properties)).body(message.body.clone()).timeout(timeout);
    let no_response = |e: reqwest::Error| (None, format!("dispatch error: {e}").into_bytes());
    let response = request.send().await.map_err(no_response)?;
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.bytes().await.map_err(no_response)?.to_vec();
    if status.is_success() { Ok(Delivered { status, headers, body }) } else { Err((Some(status), body)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_what_knative_retries() {
        for code in [404, 408, 409, 429, 500, 502, 503, 504] {
            assert!(is_retryable(Some(StatusCode::from_u16(code).unwrap())), "{code}");
        }
        assert!(is_retryable(None), "network errors and timeouts");
        for code in [400, 401, 403, 405, 410, 413, 415, 422, 300] {
            assert!(!is_retryable(Some(StatusCode::from_u16(code).unwrap())), "{code}");
        }
    }
}
