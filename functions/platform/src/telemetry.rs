//! Logging: `tracing` with an `EnvFilter` (`RUST_LOG`), human-readable or JSON lines.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `json` for deployed functions (log collectors read it).
pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,symphonia=error,symphonia_core=error"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
