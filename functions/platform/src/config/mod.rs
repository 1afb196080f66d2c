//! Configuration, loaded once from defaults and `MP3CONVERT_*` environment variables.
//!
//! Every variable is documented in the README's configuration table; keep the two in step.
//! Tests build a `Config` from a map with [`Config::from_lookup`], never by mutating the
//! process environment.

mod limits;

pub use limits::Limits;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Laptop/demo: keys generated on first start and kept in the data directory.
    Dev,
    /// Refuses to start without configured keys.
    Production,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Whether `data_dir` was chosen by default (the server then says where it is).
    pub data_dir_is_default: bool,
    pub max_upload_bytes: u64,
    pub workers: usize,
    pub default_preset: media::Preset,
    pub signup_open: bool,
    pub jwt_issuer: String,
    pub token_ttl: Duration,
    /// PEM text of the Ed25519 private key (PKCS#8), if configured.
    pub jwt_private_key: Option<Secret>,
    /// PEM text of the Ed25519 public key (SPKI), if configured.
    pub jwt_public_key: Option<String>,
    pub log_json: bool,
    /// MongoDB (`MP3CONVERT_MONGODB_URL`): files in GridFS and jobs in a collection, instead
    /// of the data directory.
    pub mongodb_url: Option<Secret>,
    pub mongodb_database: String,
    /// The key of the platform's event signatures (`MP3CONVERT_EVENT_KEY`(`_FILE`)); see
    /// `event_bus::signature`.
    pub event_key: Option<Secret>,
    /// The key of MP3 share links (`MP3CONVERT_LINK_KEY`(`_FILE`)); see `auth::links`.
    pub link_key: Option<Secret>,
    /// The platform's public base URL (`MP3CONVERT_PUBLIC_URL`, e.g. `https://mp3.example.com`)
    /// for the links it hands out; without it, the request's `Host` (and
    /// `X-Forwarded-Proto`).
    pub public_url: Option<String>,
    /// MySQL (`MP3CONVERT_MYSQL_URL`): users, instead of the data directory's SQLite.
    pub mysql_url: Option<Secret>,
    /// Where a deployed function sends the events it emits.
    pub events_out: EventsOut,
    /// How long a converter may hold a job without a sign of life (progress renews it).
    pub job_lease: Duration,
    /// How long a job may sit queued and unchanged before the upload function announces it
    /// again (`MP3CONVERT_REDRIVE_AFTER_SECS`): its announcement may have been lost.
    pub redrive_after: Duration,
    /// How long files are kept (`MP3CONVERT_VIDEO_TTL_SECS`, `MP3CONVERT_MP3_TTL_SECS`).
    pub retention: Retention,
    /// How webhooks are delivered.
    pub webhooks: Webhooks,
    /// Set when running on AWS Lambda (`AWS_LAMBDA_RUNTIME_API`).
    pub lambda: bool,
    /// What a client, a request and a conversion may cost.
    pub limits: Limits,
}

/// How long stored files are kept; `None` keeps them for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// A source video, from the end of its job (`MP3CONVERT_VIDEO_TTL_SECS`).
    pub video_ttl: Option<Duration>,
    /// An MP3, from when it was made (`MP3CONVERT_MP3_TTL_SECS`).
    pub mp3_ttl: Option<Duration>,
    /// How often the all-in-one sweeps (`MP3CONVERT_SWEEP_SECS`, default 60); on Knative a
    /// PingSource drives the sweep instead.
    pub sweep_every: Duration,
}

impl Retention {
    /// Whether anything is ever deleted.
    pub fn sweeps(&self) -> bool {
        self.video_ttl.is_some() || self.mp3_ttl.is_some()
    }

    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let ttl = |variable: &'static str| parse_or(variable, lookup, 0u64).map(|secs| (secs > 0).then(|| Duration::from_secs(secs)));
        let sweep_every = Duration::from_secs(parse_or("MP3CONVERT_SWEEP_SECS", lookup, 60)?);
        if sweep_every.is_zero() {
            return Err(invalid("MP3CONVERT_SWEEP_SECS", "must be at least 1"));
        }
        Ok(Self { video_ttl: ttl("MP3CONVERT_VIDEO_TTL_SECS")?, mp3_ttl: ttl("MP3CONVERT_MP3_TTL_SECS")?, sweep_every })
    }
}

/// How webhook deliveries are retried, and where they may go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhooks {
    /// The waits before each retry (`MP3CONVERT_WEBHOOK_BACKOFF_SECS`, default
    /// `10,30,120,600,3600,21600`): a delivery is attempted once plus once per wait.
    pub backoff: Vec<Duration>,
    /// Whether endpoints on loopback addresses are allowed: in dev mode only. Private and
    /// link-local addresses never are.
    pub allow_loopback: bool,
}

impl Webhooks {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>, mode: Mode) -> Result<Self, ConfigError> {
        const VARIABLE: &str = "MP3CONVERT_WEBHOOK_BACKOFF_SECS";
        let text = lookup(VARIABLE).unwrap_or_else(|| "10,30,120,600,3600,21600".into());
        let backoff = text
            .split(',')
            .map(|part| part.trim().parse::<u64>().ok().filter(|secs| *secs > 0).map(Duration::from_secs))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(VARIABLE, "must be seconds, each at least 1, separated by commas (e.g. 10,30,120)"))?;
        Ok(Self { backoff, allow_loopback: mode == Mode::Dev })
    }
}

/// The event bus adapter a function publishes to.
#[derive(Clone, Debug, PartialEq)]
pub enum EventsOut {
    /// In-process only: the embedded platform's own workers take the events.
    InProcess,
    /// HTTP POST in binary mode to a Broker's ingress or any sink (`K_SINK`, injected by a
    /// SinkBinding), with the extensions of `K_CE_OVERRIDES`.
    Http { sink: String, ce_overrides: Option<String> },
    /// AMQP publish onto the Broker's exchange in its message format (contract §4).
    Amqp { url: Secret, exchange: String },
}

/// A string that never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

pub(crate) fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Builds the configuration from `lookup(variable name)`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mode = match lookup("MP3CONVERT_MODE").as_deref() {
            None | Some("dev") => Mode::Dev,
            Some("production") => Mode::Production,
            Some(other) => return Err(invalid("MP3CONVERT_MODE", format!("{other:?} is neither \"dev\" nor \"production\""))),
        };
        let addr = match (lookup("MP3CONVERT_ADDR"), lookup("PORT")) {
            (Some(addr), _) => {
                addr.parse().map_err(|_| invalid("MP3CONVERT_ADDR", format!("{addr:?} is not HOST:PORT, e.g. 127.0.0.1:8080")))?
            }
            // The Knative runtime contract: listen on every interface at $PORT.
            (None, Some(port)) => {
                SocketAddr::from(([0, 0, 0, 0], port.trim().parse().map_err(|_| invalid("PORT", format!("{port:?} is not a port")))?))
            }
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let (data_dir, data_dir_is_default) = match lookup("MP3CONVERT_DATA_DIR") {
            Some(dir) => (PathBuf::from(dir), false),
            None => (default_data_dir(&lookup), true),
        };
        let max_upload_bytes = parse_or("MP3CONVERT_MAX_UPLOAD_BYTES", &lookup, 2 * 1024 * 1024 * 1024)?;
        let workers = parse_or("MP3CONVERT_WORKERS", &lookup, std::thread::available_parallelism().map_or(1, |n| n.get()))?;
        if workers == 0 {
            return Err(invalid("MP3CONVERT_WORKERS", "must be at least 1"));
        }
        let default_preset = match lookup("MP3CONVERT_DEFAULT_PRESET") {
            Some(p) => {
                p.parse().map_err(|_| invalid("MP3CONVERT_DEFAULT_PRESET", format!("{p:?} is not a preset (v0..v9, cbr32..cbr320)")))?
            }
            None => media::Preset::default(),
        };
        // Open sign-up is for laptops and demos; a production server opens it explicitly.
        let signup_open = match lookup("MP3CONVERT_SIGNUP").as_deref() {
            None => mode == Mode::Dev,
            Some("open") => true,
            Some("closed") => false,
            Some(other) => return Err(invalid("MP3CONVERT_SIGNUP", format!("{other:?} is neither \"open\" nor \"closed\""))),
        };
        let jwt_issuer = lookup("MP3CONVERT_JWT_ISSUER").unwrap_or_else(|| "mp3convert".to_owned());
        let token_ttl = Duration::from_secs(parse_or("MP3CONVERT_TOKEN_TTL_SECS", &lookup, 3600)?);
        let jwt_private_key = inline_or_file("MP3CONVERT_JWT_PRIVATE_KEY", "MP3CONVERT_JWT_PRIVATE_KEY_FILE", &lookup)?.map(Secret::new);
        let jwt_public_key = inline_or_file("MP3CONVERT_JWT_PUBLIC_KEY", "MP3CONVERT_JWT_PUBLIC_KEY_FILE", &lookup)?;
        let log_json = match lookup("MP3CONVERT_LOG_FORMAT").as_deref() {
            None => mode == Mode::Production,
            Some("json") => true,
            Some("text") => false,
            Some(other) => return Err(invalid("MP3CONVERT_LOG_FORMAT", format!("{other:?} is neither \"json\" nor \"text\""))),
        };
        let events_out = match (lookup("K_SINK"), lookup("MP3CONVERT_AMQP_URL")) {
            (Some(sink), _) => EventsOut::Http { sink, ce_overrides: lookup("K_CE_OVERRIDES") },
            (None, Some(url)) => EventsOut::Amqp {
                url: Secret::new(url),
                exchange: lookup("MP3CONVERT_AMQP_EXCHANGE").unwrap_or_else(|| "mp3convert".to_owned()),
            },
            (None, None) => EventsOut::InProcess,
        };
        let job_lease = Duration::from_secs(parse_or("MP3CONVERT_JOB_LEASE_SECS", &lookup, 60)?);
        if job_lease < Duration::from_secs(2) {
            return Err(invalid("MP3CONVERT_JOB_LEASE_SECS", "must be at least 2"));
        }
        let redrive_after = Duration::from_secs(parse_or("MP3CONVERT_REDRIVE_AFTER_SECS", &lookup, 120)?);
        if redrive_after.is_zero() {
            return Err(invalid("MP3CONVERT_REDRIVE_AFTER_SECS", "must be at least 1"));
        }
        // Every function verifies tokens; only the one that signs them (auth, or the
        // all-in-one) needs the private key, and refuses to start without it (auth::keys).
        if mode == Mode::Production && jwt_public_key.is_none() {
            return Err(invalid(
                "MP3CONVERT_JWT_PUBLIC_KEY",
                "production mode needs MP3CONVERT_JWT_PUBLIC_KEY(_FILE) (and MP3CONVERT_JWT_PRIVATE_KEY(_FILE) where tokens \
                 are issued); generated keys are only for MP3CONVERT_MODE=dev",
            ));
        }
        Ok(Self {
            mode,
            addr,
            data_dir,
            data_dir_is_default,
            max_upload_bytes,
            workers,
            default_preset,
            signup_open,
            jwt_issuer,
            token_ttl,
            jwt_private_key,
            jwt_public_key,
            log_json,
            mongodb_url: lookup("MP3CONVERT_MONGODB_URL").map(Secret::new),
            mongodb_database: lookup("MP3CONVERT_MONGODB_DATABASE").unwrap_or_else(|| "mp3convert".to_owned()),
            mysql_url: lookup("MP3CONVERT_MYSQL_URL").map(Secret::new),
            event_key: inline_or_file("MP3CONVERT_EVENT_KEY", "MP3CONVERT_EVENT_KEY_FILE", &lookup)?.map(Secret::new),
            link_key: inline_or_file("MP3CONVERT_LINK_KEY", "MP3CONVERT_LINK_KEY_FILE", &lookup)?.map(Secret::new),
            public_url: lookup("MP3CONVERT_PUBLIC_URL")
                .map(|url| url.trim().trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
            events_out,
            job_lease,
            redrive_after,
            retention: Retention::from_lookup(&lookup)?,
            webhooks: Webhooks::from_lookup(&lookup, mode)?,
            lambda: lookup("AWS_LAMBDA_RUNTIME_API").is_some(),
            limits: Limits::from_lookup(&lookup)?,
        })
    }
}

pub(crate) fn parse_or<T: std::str::FromStr>(
    variable: &'static str,
    lookup: &impl Fn(&str) -> Option<String>,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(variable) {
        Some(value) => value.trim().parse().map_err(|_| invalid(variable, format!("{value:?} is not a valid number"))),
        None => Ok(default),
    }
}

/// A value (a PEM, a key) given inline (`variable`) or as a file path (`file_variable`).
fn inline_or_file(
    variable: &'static str,
    file_variable: &'static str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    if let Some(value) = lookup(variable) {
        return Ok(Some(value));
    }
    match lookup(file_variable) {
        Some(path) => std::fs::read_to_string(&path).map(Some).map_err(|e| invalid(file_variable, format!("cannot read {path}: {e}"))),
        None => Ok(None),
    }
}

fn default_data_dir(lookup: &impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(xdg) = lookup("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("mp3convert");
    }
    match lookup("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/mp3convert"),
        None => PathBuf::from("mp3convert-data"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_dev_on_loopback() {
        let config = config(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(config.mode, Mode::Dev);
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("/home/u/.local/share/mp3convert"));
        assert!(config.data_dir_is_default);
        assert_eq!(config.default_preset, media::Preset::Vbr(2));
    }

    #[test]
    fn sign_up_is_closed_by_default_in_production_only() {
        assert!(config(&[]).unwrap().signup_open);
        let production = [("MP3CONVERT_MODE", "production"), ("MP3CONVERT_JWT_PUBLIC_KEY", "pem")];
        assert!(!config(&production).unwrap().signup_open);
        assert!(config(&[production[0], production[1], ("MP3CONVERT_SIGNUP", "open")]).unwrap().signup_open);
    }

    #[test]
    fn limits_have_defaults_and_name_their_variable_when_wrong() {
        let limits = config(&[]).unwrap().limits;
        assert_eq!(limits, Limits::default());
        assert_eq!(limits.max_duration, Duration::from_secs(86400));
        assert_eq!(limits.min_upload_bps, 1024);
        assert_eq!(config(&[("MP3CONVERT_HEADER_TIMEOUT_SECS", "31")]).unwrap_err().variable, "MP3CONVERT_HEADER_TIMEOUT_SECS");
        assert_eq!(config(&[("MP3CONVERT_QUOTA_BYTES", "lots")]).unwrap_err().variable, "MP3CONVERT_QUOTA_BYTES");
        assert_eq!(config(&[("MP3CONVERT_MAX_CONNECTIONS", "0")]).unwrap_err().variable, "MP3CONVERT_MAX_CONNECTIONS");
        assert_eq!(limits.write_timeout, Duration::from_secs(30));
        assert_eq!(config(&[("MP3CONVERT_WRITE_TIMEOUT_SECS", "0")]).unwrap_err().variable, "MP3CONVERT_WRITE_TIMEOUT_SECS");
        assert_eq!(config(&[("MP3CONVERT_WRITE_TIMEOUT_SECS", "2")]).unwrap().limits.write_timeout, Duration::from_secs(2));
        let set = config(&[("MP3CONVERT_MAX_DURATION_SECS", "60"), ("MP3CONVERT_SHUTDOWN_GRACE_SECS", "5")]).unwrap().limits;
        assert_eq!((set.max_duration, set.shutdown_grace), (Duration::from_secs(60), Duration::from_secs(5)));
    }

    #[test]
    fn production_without_keys_refuses_to_start() {
        let err = config(&[("MP3CONVERT_MODE", "production")]).unwrap_err();
        assert_eq!(err.variable, "MP3CONVERT_JWT_PUBLIC_KEY");
    }

    #[test]
    fn knative_port_listens_on_every_interface() {
        assert_eq!(config(&[("PORT", "9090")]).unwrap().addr.to_string(), "0.0.0.0:9090");
        assert_eq!(config(&[("PORT", "9090"), ("MP3CONVERT_ADDR", "127.0.0.1:1")]).unwrap().addr.to_string(), "127.0.0.1:1");
    }

    #[test]
    fn k_sink_wins_over_amqp_and_both_default_to_in_process() {
        assert_eq!(config(&[]).unwrap().events_out, EventsOut::InProcess);
        let amqp = config(&[("MP3CONVERT_AMQP_URL", "amqp://h")]).unwrap().events_out;
        assert_eq!(amqp, EventsOut::Amqp { url: Secret::new("amqp://h".into()), exchange: "mp3convert".into() });
        let http = config(&[("MP3CONVERT_AMQP_URL", "amqp://h"), ("K_SINK", "http://broker/"), ("K_CE_OVERRIDES", "{}")]).unwrap();
        assert_eq!(http.events_out, EventsOut::Http { sink: "http://broker/".into(), ce_overrides: Some("{}".into()) });
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        assert_eq!(config(&[("MP3CONVERT_WORKERS", "many")]).unwrap_err().variable, "MP3CONVERT_WORKERS");
        assert_eq!(config(&[("MP3CONVERT_ADDR", "nowhere")]).unwrap_err().variable, "MP3CONVERT_ADDR");
        assert_eq!(config(&[("MP3CONVERT_DEFAULT_PRESET", "v11")]).unwrap_err().variable, "MP3CONVERT_DEFAULT_PRESET");
        assert_eq!(config(&[("PORT", "http")]).unwrap_err().variable, "PORT");
        assert_eq!(config(&[("MP3CONVERT_JOB_LEASE_SECS", "1")]).unwrap_err().variable, "MP3CONVERT_JOB_LEASE_SECS");
        assert_eq!(config(&[("MP3CONVERT_REDRIVE_AFTER_SECS", "0")]).unwrap_err().variable, "MP3CONVERT_REDRIVE_AFTER_SECS");
        assert_eq!(config(&[]).unwrap().redrive_after, Duration::from_secs(120));
        let keep = config(&[]).unwrap().retention;
        assert_eq!((keep.video_ttl, keep.mp3_ttl, keep.sweep_every, keep.sweeps()), (None, None, Duration::from_secs(60), false));
        let retention = config(&[("MP3CONVERT_VIDEO_TTL_SECS", "0"), ("MP3CONVERT_MP3_TTL_SECS", "86400")]).unwrap().retention;
        assert_eq!((retention.video_ttl, retention.mp3_ttl, retention.sweeps()), (None, Some(Duration::from_secs(86400)), true));
        let webhooks = config(&[]).unwrap().webhooks;
        assert_eq!((webhooks.backoff.len(), webhooks.backoff[0], webhooks.allow_loopback), (6, Duration::from_secs(10), true));
        let fast = config(&[("MP3CONVERT_WEBHOOK_BACKOFF_SECS", "1, 2")]).unwrap().webhooks.backoff;
        assert_eq!(fast, [Duration::from_secs(1), Duration::from_secs(2)]);
        for bad in ["", "1,,2", "0", "soon"] {
            let error = config(&[("MP3CONVERT_WEBHOOK_BACKOFF_SECS", bad)]).unwrap_err();
            assert_eq!(error.variable, "MP3CONVERT_WEBHOOK_BACKOFF_SECS", "{bad:?}");
        }
        assert_eq!(config(&[("MP3CONVERT_SWEEP_SECS", "0")]).unwrap_err().variable, "MP3CONVERT_SWEEP_SECS");
        assert_eq!(config(&[("MP3CONVERT_MP3_TTL_SECS", "a day")]).unwrap_err().variable, "MP3CONVERT_MP3_TTL_SECS");
    }
}
