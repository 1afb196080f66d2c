//! What one client, one request and one conversion may cost: the limits of the README's
//! "Limits" section, each with its `MP3CONVERT_*` variable and default.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, invalid, parse_or};

/// Every limit, loaded once with the rest of the [`Config`](super::Config).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    // --- The HTTP edge (every function and the all-in-one server) ---
    /// A connection must send its complete request head within this (at most 30 s).
    pub header_timeout: Duration,
    /// The request line and headers together may not be larger (431 past it).
    pub max_header_bytes: usize,
    /// A request other than an upload or a conversion must be answered within this.
    pub request_timeout: Duration,
    /// An upload body slower than this, averaged over 30 s, is cut off (0: no minimum).
    pub min_upload_bps: u64,
    /// A client that reads nothing of an answer for this long (a stalled download) is cut off.
    pub write_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// After SIGTERM, how long in-flight requests may take before they are cut off.
    pub shutdown_grace: Duration,
    /// Proxies in front of the server that append to `X-Forwarded-For` (0: use the peer
    /// address of the connection).
    pub trusted_proxy_hops: usize,

    // --- Abuse ---
    /// Failed log-ins per account within [`Limits::throttle_window`] before it is refused
    /// with 429 until the window has passed (0: no limit).
    pub login_failures_per_account: u32,
    /// Log-in and token requests per client address within the window (0: no limit).
    pub logins_per_address: u32,
    /// Sign-ups per client address within the window (0: no limit).
    pub signups_per_address: u32,
    pub throttle_window: Duration,
    /// Password hashes (argon2, ~19 MiB each) computed at once; the rest wait.
    pub password_hash_concurrency: usize,
    /// Bytes of videos and MP3s one user may keep (0: no quota).
    pub quota_bytes: u64,
    /// Jobs one user may have queued or processing at once (0: no limit).
    pub max_queued_jobs: u64,

    // --- Conversions ---
    /// Longest MP3 a conversion may produce.
    pub max_duration: Duration,
    /// Memory one conversion's process may use.
    pub conversion_memory_bytes: u64,
    /// The fixed part of a conversion's time budget (see the README's "Limits").
    pub conversion_timeout: Duration,
    /// LAME instances encoding one conversion's MP3 at once (0: the cores this process may
    /// use, cgroup quota included; 1: one, as a serial encoder).
    pub encode_threads: usize,
    /// The executable run for each conversion (`<exe> convert-worker`); default: this one.
    pub converter_exe: Option<PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(15),
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
            min_upload_bps: 1024,
            write_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(30),
            trusted_proxy_hops: 0,
            login_failures_per_account: 5,
            logins_per_address: 60,
            signups_per_address: 10,
            throttle_window: Duration::from_secs(300),
            password_hash_concurrency: 2,
            quota_bytes: 20 * 1024 * 1024 * 1024,
            max_queued_jobs: 20,
            max_duration: Duration::from_secs(24 * 3600),
            conversion_memory_bytes: 64 * 1024 * 1024,
            conversion_timeout: Duration::from_secs(60),
            encode_threads: 0,
            converter_exe: None,
        }
    }
}

fn secs(variable: &'static str, lookup: &impl Fn(&str) -> Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(parse_or(variable, lookup, default.as_secs())?))
}

fn at_least<T: PartialOrd + std::fmt::Debug>(variable: &'static str, value: T, min: T) -> Result<T, ConfigError> {
    if value < min { Err(invalid(variable, format!("must be at least {min:?}"))) } else { Ok(value) }
}

impl Limits {
    /// The limits alone, for commands that need no other configuration (`mp3convert convert`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// How a conversion's worker process is started and what it may use.
    pub fn sandbox(&self) -> std::io::Result<media::isolate::Sandbox> {
        let program = match &self.converter_exe {
            Some(program) => program.clone(),
            None => std::env::current_exe()?,
        };
        Ok(media::isolate::Sandbox::new(program, self.conversion_memory_bytes, self.conversion_timeout))
    }

    pub(super) fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Limits::default();
        let header_timeout = secs("MP3CONVERT_HEADER_TIMEOUT_SECS", lookup, d.header_timeout)?;
        if header_timeout.is_zero() || header_timeout > Duration::from_secs(30) {
            return Err(invalid("MP3CONVERT_HEADER_TIMEOUT_SECS", "must be 1 to 30"));
        }
        let v = "MP3CONVERT_MAX_HEADER_BYTES";
        let max_header_bytes = at_least(v, parse_or(v, lookup, d.max_header_bytes)?, 4096)?;
        let v = "MP3CONVERT_REQUEST_TIMEOUT_SECS";
        let request_timeout = at_least(v, secs(v, lookup, d.request_timeout)?, Duration::from_secs(1))?;
        let v = "MP3CONVERT_WRITE_TIMEOUT_SECS";
        let write_timeout = at_least(v, secs(v, lookup, d.write_timeout)?, Duration::from_secs(1))?;
        let v = "MP3CONVERT_MAX_CONNECTIONS";
        let max_connections = at_least(v, parse_or(v, lookup, d.max_connections)?, 1)?;
        let v = "MP3CONVERT_THROTTLE_WINDOW_SECS";
        let throttle_window = at_least(v, secs(v, lookup, d.throttle_window)?, Duration::from_secs(1))?;
        let v = "MP3CONVERT_PASSWORD_HASH_CONCURRENCY";
        let password_hash_concurrency = at_least(v, parse_or(v, lookup, d.password_hash_concurrency)?, 1)?;
        let v = "MP3CONVERT_MAX_DURATION_SECS";
        let max_duration = at_least(v, secs(v, lookup, d.max_duration)?, Duration::from_secs(1))?;
        let v = "MP3CONVERT_CONVERSION_MEMORY_BYTES";
        let conversion_memory_bytes = at_least(v, parse_or(v, lookup, d.conversion_memory_bytes)?, 16 * 1024 * 1024)?;
        let v = "MP3CONVERT_CONVERSION_TIMEOUT_SECS";
        let conversion_timeout = at_least(v, secs(v, lookup, d.conversion_timeout)?, Duration::from_secs(1))?;
        Ok(Self {
            header_timeout,
            max_header_bytes,
            request_timeout,
            min_upload_bps: parse_or("MP3CONVERT_MIN_UPLOAD_BPS", lookup, d.min_upload_bps)?,
            write_timeout,
            max_connections,
            shutdown_grace: secs("MP3CONVERT_SHUTDOWN_GRACE_SECS", lookup, d.shutdown_grace)?,
            trusted_proxy_hops: parse_or("MP3CONVERT_TRUSTED_PROXY_HOPS", lookup, d.trusted_proxy_hops)?,
            login_failures_per_account: parse_or("MP3CONVERT_LOGIN_FAILURES_PER_ACCOUNT", lookup, d.login_failures_per_account)?,
            logins_per_address: parse_or("MP3CONVERT_LOGINS_PER_ADDRESS", lookup, d.logins_per_address)?,
            signups_per_address: parse_or("MP3CONVERT_SIGNUPS_PER_ADDRESS", lookup, d.signups_per_address)?,
            throttle_window,
            password_hash_concurrency,
            quota_bytes: parse_or("MP3CONVERT_QUOTA_BYTES", lookup, d.quota_bytes)?,
            max_queued_jobs: parse_or("MP3CONVERT_MAX_QUEUED_JOBS", lookup, d.max_queued_jobs)?,
            max_duration,
            conversion_memory_bytes,
            conversion_timeout,
            encode_threads: parse_or("MP3CONVERT_ENCODE_THREADS", lookup, d.encode_threads)?,
            converter_exe: lookup("MP3CONVERT_CONVERTER_EXE").map(PathBuf::from),
        })
    }
}
