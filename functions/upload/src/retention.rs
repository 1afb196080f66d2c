//! Retention: stored files are deleted once they are older than the operator allows.
//!
//! - An MP3, `MP3CONVERT_MP3_TTL_SECS` after it was made.
//! - A source video, `MP3CONVERT_VIDEO_TTL_SECS` after its job ended (succeeded or failed); a
//!   video whose job is still queued or running stays. A video no job names (another system
//!   put it in GridFS and its event has not come) counts from its upload, and stays at least
//!   [`UNCLAIMED_GRACE`].
//!
//! `0` (the default) keeps files for ever. Two triggers, one code path: `POST /events/sweep`
//! on the upload function (on Knative a PingSource posts there every minute,
//! eventing/retention.yaml) and, in the all-in-one, a timer every `MP3CONVERT_SWEEP_SECS`.
//! Every deleted file is logged with its id, owner and age. The job of a deleted MP3 still
//! says `succeeded`; its download is then 404, as after `DELETE /api/v1/mp3s/{id}`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use platform::blob_store::{BlobError, BlobInfo, BlobStore, Bucket};
use platform::config::Retention;
use platform::http::{AppError, Json, metrics};
use platform::job_store::JobStore;
use serde::Serialize;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Files read per query.
const PAGE: usize = 200;
/// The least age of a video that no job names before it can go.
pub const UNCLAIMED_GRACE: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct Sweeper {
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<dyn JobStore>,
    pub retention: Retention,
    /// The least age of a video no job names: [`UNCLAIMED_GRACE`].
    pub unclaimed_grace: Duration,
}

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub videos: u64,
    pub mp3s: u64,
    pub bytes: u64,
}

impl Sweeper {
    pub fn new(blobs: Arc<dyn BlobStore>, jobs: Arc<dyn JobStore>, retention: Retention) -> Self {
        Self { blobs, jobs, retention, unclaimed_grace: UNCLAIMED_GRACE }
    }

    /// Deletes every file past its time; returns what went. Stops at the first store failure
    /// (what is left goes at the next sweep).
    pub async fn run_once(&self) -> anyhow::Result<Swept> {
        let mut swept = Swept::default();
        let now = SystemTime::now();
        if let Some(ttl) = self.retention.mp3_ttl {
            swept.mp3s = self.sweep(Bucket::Mp3s, now, ttl, &mut swept.bytes).await?;
        }
        if let Some(ttl) = self.retention.video_ttl {
            swept.videos = self.sweep(Bucket::Videos, now, ttl, &mut swept.bytes).await?;
        }
        if swept != Swept::default() {
            tracing::info!(videos = swept.videos, mp3s = swept.mp3s, bytes = swept.bytes, "retention: sweep deleted expired files");
        }
        Ok(swept)
    }

    /// Deletes the files of `bucket` past `ttl`; returns how many, adding their bytes to `bytes`.
    async fn sweep(&self, bucket: Bucket, now: SystemTime, ttl: Duration, bytes: &mut u64) -> anyhow::Result<u64> {
        let cutoff = now.checked_sub(ttl).unwrap_or(SystemTime::UNIX_EPOCH);
        let (mut deleted, mut kept) = (0, 0);
        loop {
            // What is deleted leaves the listing; only what is kept has to be skipped.
            let page = self.blobs.written_before(bucket, cutoff, kept, PAGE).await?;
            let full = page.len() == PAGE;
            for file in page {
                if bucket == Bucket::Videos && !self.video_expired(&file, now, cutoff).await? {
                    kept += 1;
                    continue;
                }
                match self.blobs.delete(bucket, &file.id).await {
                    Ok(()) => {}
                    // Deleted meanwhile (by its owner, or another sweep).
                    Err(BlobError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                }
                let age = now.duration_since(file.written_at).unwrap_or_default().as_secs();
                tracing::info!(bucket = bucket.as_str(), id = %file.id, owner_id = %file.meta.owner_id, bytes = file.size, age_secs = age, "retention: file deleted");
                metrics::add(&metrics::FILES_SWEPT, 1);
                deleted += 1;
                *bytes += file.size;
            }
            if !full {
                return Ok(deleted);
            }
        }
    }

    /// Whether every job of the video ended before `cutoff` (a video with no job: whether it
    /// is past [`Sweeper::unclaimed_grace`] too).
    async fn video_expired(&self, video: &BlobInfo, now: SystemTime, cutoff: SystemTime) -> anyhow::Result<bool> {
        let jobs = self.jobs.for_video(&video.id).await?;
        if jobs.is_empty() {
            return Ok(now.duration_since(video.written_at).unwrap_or_default() >= self.unclaimed_grace);
        }
        let cutoff = OffsetDateTime::from(cutoff);
        Ok(jobs.iter().all(|job| job.status.is_finished() && job.updated_at <= cutoff))
    }

    /// Runs [`Sweeper::run_once`] every `MP3CONVERT_SWEEP_SECS` until `stopping` (nothing when
    /// no retention is configured).
    pub fn spawn_timer(self, stopping: CancellationToken) {
        if !self.retention.sweeps() {
            return;
        }
        let every = self.retention.sweep_every;
        platform::runtime::every(every, stopping, "retention sweep", move || {
            let sweeper = self.clone();
            async move { sweeper.run_once().await }
        });
    }
}

/// `POST /events/sweep`: one sweep (whatever the body: a PingSource's event), answered with
/// what it deleted: `{"videos", "mp3s", "bytes"}`.
pub fn router(sweeper: Sweeper) -> Router {
    Router::new().route("/events/sweep", post(sweep_now)).with_state(sweeper)
}

async fn sweep_now(State(sweeper): State<Sweeper>) -> Result<Json<Swept>, AppError> {
    sweeper.run_once().await.map(Json).map_err(AppError::unavailable)
}
