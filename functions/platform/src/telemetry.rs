//! Logging: `tracing` with an `EnvFilter` (`RUST_LOG`), human-readable or JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `json` for deployed functions (log collectors read it).
/// Human-readable lines are coloured only on a terminal, and never under `NO_COLOR`.
pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,symphonia=error,symphonia_core=error"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
