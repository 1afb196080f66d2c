//! The records the ports store and the events the functions exchange (contract §2, §3).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A registered user. The password hash never leaves the user store and the auth function.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Processing,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// `succeeded` or `failed`: the job will not change again.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "processing" => Self::Processing,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// Why a job failed: a stable snake_case code and a human message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// A conversion job, as `GET /api/v1/jobs/{id}` shows it (plus internal fields).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(description = "A conversion job.")]
pub struct Job {
    pub job_id: String,
    pub video_id: String,
    #[serde(skip)]
    pub owner_id: String,
    pub filename: String,
    pub preset: String,
    pub status: JobStatus,
    /// 0.0 to 1.0.
    pub progress: f32,
    pub mp3_id: Option<String>,
    pub error: Option<JobError>,
    /// Of the MP3, once succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Size of the MP3, once succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// How many times a worker has started this job (a re-run after a crash counts).
    #[serde(skip)]
    pub attempts: u32,
    /// The fencing token of the job's latest claim: every claim moves it on, and a write made
    /// under an older claim (a converter that stalled past its lease) changes nothing.
    #[serde(skip)]
    pub claim: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// What a new job is made of.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub job_id: String,
    pub video_id: String,
    pub owner_id: String,
    pub filename: String,
    pub preset: String,
    pub idempotency_key: Option<String>,
}

/// CloudEvent types (contract §3).
pub mod event_types {
    pub const VIDEO_UPLOADED: &str = "mp3convert.video.uploaded";
    pub const MP3_CONVERTED: &str = "mp3convert.mp3.converted";
    pub const CONVERSION_FAILED: &str = "mp3convert.conversion.failed";
}

/// Data of `mp3convert.video.uploaded`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoUploaded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    pub video_id: String,
    pub owner_id: String,
    pub filename: String,
    #[serde(default = "default_preset")]
    pub preset: String,
}

impl VideoUploaded {
    /// The event's job: its `job_id`, or for an event from another system (which carries
    /// none) an id derived from the event's identity, so every delivery of that event maps
    /// to the same job.
    pub fn job_id_or_derived(&self, source: &str, id: &str) -> String {
        self.job_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{source}\n{id}").as_bytes()).simple().to_string())
    }
}

fn default_preset() -> String {
    "v2".to_owned()
}

/// Data of `mp3convert.mp3.converted`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mp3Converted {
    pub job_id: String,
    pub video_id: String,
    pub mp3_id: String,
    pub owner_id: String,
    pub duration_ms: u64,
    pub bytes: u64,
}

/// Data of `mp3convert.conversion.failed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversionFailed {
    pub job_id: String,
    pub video_id: String,
    pub owner_id: String,
    pub code: String,
    pub message: String,
}
