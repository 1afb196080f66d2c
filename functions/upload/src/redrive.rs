//! The re-drive: an accepted upload is converted even if its announcement was lost (the
//! publish failed, RabbitMQ was down, the function died between recording the job and
//! publishing) or no redelivery is coming for a re-queued or abandoned job. The job store is
//! the outbox: a job left `queued` and unchanged for `MP3CONVERT_REDRIVE_AFTER_SECS`, or
//! `processing` under a lease that ran out that long ago, is announced again.
//!
//! Two triggers, one code path: `POST /events/redrive` (on Knative a PingSource posts there
//! every minute, eventing/redrive.yaml, so it runs even when the function is scaled to zero)
//! and a timer in every running upload function. A duplicate announcement is harmless: the
//! converter claims a job once and answers a duplicate with the same outcome.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use platform::event_bus::{Event, EventBus, EventBusError};
use platform::http::{AppError, Json, metrics};
use platform::job_store::JobStore;
use platform::model::{Job, VideoUploaded, event_types};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Jobs announced again per run; the rest wait for the next run.
const BATCH: usize = 100;

#[derive(Clone)]
pub struct Redrive {
    pub jobs: Arc<dyn JobStore>,
    pub events: Arc<dyn EventBus>,
    /// CloudEvents `source` of the announcements.
    pub event_source: String,
    /// How long a job sits queued and unchanged before it is announced again.
    pub after: Duration,
}

/// Publishes `mp3convert.video.uploaded` for `job`.
pub async fn announce(events: &dyn EventBus, source: &str, job: &Job) -> Result<(), EventBusError> {
    let data = VideoUploaded {
        job_id: Some(job.job_id.clone()),
        video_id: job.video_id.clone(),
        owner_id: job.owner_id.clone(),
        filename: job.filename.clone(),
        preset: job.preset.clone(),
    };
    events.publish(Event::new(source, event_types::VIDEO_UPLOADED, &job.video_id, &data)).await
}

impl Redrive {
    /// Announces the jobs due again; returns how many. Stops at the first failed publish:
    /// the bus is down, and the job it failed on is due again after another `after`.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let due = self.jobs.take_unannounced(self.after, BATCH).await?;
        for (announced, job) in due.iter().enumerate() {
            if let Err(e) = announce(self.events.as_ref(), &self.event_source, job).await {
                tracing::warn!(job_id = %job.job_id, error = %e, announced, "re-drive stopped: the event bus refused an announcement");
                return Err(e.into());
            }
            tracing::info!(job_id = %job.job_id, queued_since = %job.created_at, "re-drive: job announced again");
            metrics::add(&metrics::JOBS_REDRIVEN, 1);
        }
        Ok(due.len())
    }

    /// Runs [`Redrive::run_once`] every half `after` until `stopping`.
    pub fn spawn_timer(self, stopping: CancellationToken) {
        let every = (self.after / 2).max(Duration::from_secs(1));
        platform::runtime::every(every, stopping, "re-drive", move || {
            let redrive = self.clone();
            async move { redrive.run_once().await }
        });
    }
}

/// `POST /events/redrive`: one re-drive run (whatever the body: a PingSource's event).
pub fn router(redrive: Redrive) -> Router {
    Router::new().route("/events/redrive", post(redrive_now)).with_state(redrive)
}

async fn redrive_now(State(redrive): State<Redrive>) -> Result<Json<serde_json::Value>, AppError> {
    let announced = redrive.run_once().await.map_err(AppError::unavailable)?;
    Ok(Json(json!({ "announced": announced })))
}
