//! What every mp3convert function shares.
//!
//! - [`config`]: one `Config`, loaded once from the environment.
//! - Ports, each a trait with its adapters in files named after the technology:
//!   [`blob_store`] (videos and MP3s), [`user_store`], [`job_store`], [`event_bus`],
//!   [`webhook_store`] (webhooks and their deliveries).
//! - [`auth`]: password hashing, JWT signing/verification and the `AuthUser` extractor.
//! - [`http`]: the JSON error type every route returns, health routes, serving.
//! - [`model`]: the records the ports store (users, jobs) and the event types.
//! - [`runtime`]: a function binary's life: backends chosen by config, `$PORT` or Lambda, drain.
//! - [`throttle`]: per-key counters within a window, in bounded memory (log-in and sign-up limits).

pub mod auth;
pub mod blob_store;
pub mod config;
pub mod event_bus;
pub mod hmac_key;
pub mod http;
pub mod job_store;
pub mod model;
mod mongo;
pub mod mysql;
pub mod runtime;
pub mod sqlite;
pub mod telemetry;
pub mod throttle;
pub mod user_store;
pub mod webhook_store;

/// A new opaque id: 32 lowercase hex characters, safe in paths and URLs.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Whether `id` looks like an id this platform issues (so it can be used in a path safely).
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
