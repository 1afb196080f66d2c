//! A handful of process-wide counters, served as Prometheus text at `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::header;
use axum::response::IntoResponse;

pub static UPLOADS: AtomicU64 = AtomicU64::new(0);
pub static UPLOADED_BYTES: AtomicU64 = AtomicU64::new(0);
pub static UPLOADS_UNANNOUNCED: AtomicU64 = AtomicU64::new(0);
pub static JOBS_REDRIVEN: AtomicU64 = AtomicU64::new(0);
pub static JOBS_SUCCEEDED: AtomicU64 = AtomicU64::new(0);
pub static JOBS_FAILED: AtomicU64 = AtomicU64::new(0);
pub static JOBS_SUPERSEDED: AtomicU64 = AtomicU64::new(0);
pub static CONVERSION_MILLIS: AtomicU64 = AtomicU64::new(0);
pub static FILES_SWEPT: AtomicU64 = AtomicU64::new(0);
pub static DOWNLOADS: AtomicU64 = AtomicU64::new(0);
pub static EVENTS_RECEIVED: AtomicU64 = AtomicU64::new(0);
pub static EVENTS_ANSWERED: AtomicU64 = AtomicU64::new(0);
pub static EVENTS_REFUSED: AtomicU64 = AtomicU64::new(0);

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics", responses(
    (status = 200, description = "Counters in the Prometheus text format.", body = String, content_type = "text/plain; version=0.0.4"),
))]
pub async fn handler() -> impl IntoResponse {
    let rows = [
        ("mp3convert_uploads_total", "Videos accepted.", &UPLOADS),
        ("mp3convert_uploaded_bytes_total", "Bytes of videos accepted.", &UPLOADED_BYTES),
        (
            "mp3convert_uploads_unannounced_total",
            "Videos accepted while the event bus refused their announcement (the re-drive announces them).",
            &UPLOADS_UNANNOUNCED,
        ),
        ("mp3convert_jobs_redriven_total", "Queued jobs announced again by the re-drive.", &JOBS_REDRIVEN),
        ("mp3convert_jobs_succeeded_total", "Conversions that produced an MP3.", &JOBS_SUCCEEDED),
        ("mp3convert_jobs_failed_total", "Conversions that failed permanently.", &JOBS_FAILED),
        (
            "mp3convert_jobs_superseded_total",
            "Conversions stopped because their lease ran out and another converter took the job.",
            &JOBS_SUPERSEDED,
        ),
        ("mp3convert_conversion_milliseconds_total", "Wall time spent converting.", &CONVERSION_MILLIS),
        ("mp3convert_files_swept_total", "Videos and MP3s deleted by the retention sweep.", &FILES_SWEPT),
        ("mp3convert_downloads_total", "MP3 downloads started.", &DOWNLOADS),
        ("mp3convert_events_received_total", "CloudEvents delivered to this function.", &EVENTS_RECEIVED),
        ("mp3convert_events_answered_total", "Deliveries answered 2xx (with a reply event where one is due).", &EVENTS_ANSWERED),
        ("mp3convert_events_refused_total", "Deliveries refused for a missing or wrong signature.", &EVENTS_REFUSED),
    ];
    let mut body = String::new();
    for (name, help, counter) in rows {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n", counter.load(Ordering::Relaxed)));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
