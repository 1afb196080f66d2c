//! One conversion job, start to finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use platform::blob_store::{BlobError, BlobMeta, Bucket};
use platform::event_bus::Event;
use platform::http::metrics;
use platform::model::{ConversionFailed, Job, JobError, JobStatus, Mp3Converted, event_types};
use tokio::sync::watch;

use crate::ConvertState;

/// After this many starts a job is failed instead of retried (a crash loop protection).
pub const MAX_ATTEMPTS: u32 = 5;

/// Progress is written (renewing the lease) at least this often while converting: six
/// times per lease, so a slow store write or two does not lose a live job.
fn heartbeat(lease: Duration) -> Duration {
    lease / 6
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    Succeeded(Mp3Converted),
    /// Permanently failed: the job is marked failed; retrying cannot help.
    Failed(ConversionFailed),
    /// Cut off (shutdown) or hit a dependency failure: the job should run again.
    Retry(String),
    /// The job is no longer this run's: its lease ran out (the converter stalled) and another
    /// claim took it, or it was finished meanwhile. Nothing of this run is recorded or kept.
    Superseded,
}

/// Converts `job` (already claimed: status `processing` under `job.claim`) and records the
/// outcome in the job store. Every write names the claim, so a run that has lost the job
/// changes nothing: its MP3 (stored under an id of its own) is deleted again. `cancel` stops
/// the conversion between packets. Announcing the outcome is the caller's: see [`outcome_event`].
pub async fn run_job(state: &ConvertState, job: &Job, cancel: Arc<AtomicBool>) -> Outcome {
    let started = Instant::now();
    let superseded = Arc::new(AtomicBool::new(false));
    let mp3_id = platform::new_id();
    let outcome = if job.attempts > MAX_ATTEMPTS {
        Err(JobError {
            code: "too_many_attempts".into(),
            message: format!("the converter stopped without finishing {MAX_ATTEMPTS} times on this job (a crash, an out-of-memory kill)"),
        })
    } else {
        convert(state, job, &mp3_id, cancel, superseded.clone()).await
    };
    let outcome = match outcome {
        _ if superseded.load(Ordering::Relaxed) => Outcome::Superseded,
        Ok(Ok(report)) => {
            let converted = Mp3Converted {
                job_id: job.job_id.clone(),
                video_id: job.video_id.clone(),
                mp3_id,
                owner_id: job.owner_id.clone(),
                duration_ms: report.duration_ms,
                bytes: report.bytes,
            };
            match state.jobs.succeed(&job.job_id, Some(job.claim), &converted.mp3_id, converted.duration_ms, converted.bytes).await {
                Ok(true) => {
                    metrics::add(&metrics::JOBS_SUCCEEDED, 1);
                    Outcome::Succeeded(converted)
                }
                Ok(false) => {
                    if let Err(e) = state.blobs.delete(Bucket::Mp3s, &converted.mp3_id).await {
                        tracing::warn!(mp3_id = %converted.mp3_id, error = %e, "could not delete the MP3 of a superseded run");
                    }
                    Outcome::Superseded
                }
                // The write may have been applied all the same: the MP3 stays.
                Err(e) => Outcome::Retry(format!("recording success: {e}")),
            }
        }
        Ok(Err(retry)) => Outcome::Retry(retry),
        Err(error) => {
            let failed = ConversionFailed {
                job_id: job.job_id.clone(),
                video_id: job.video_id.clone(),
                owner_id: job.owner_id.clone(),
                code: error.code.clone(),
                message: error.message.clone(),
            };
            match state.jobs.fail(&job.job_id, Some(job.claim), &error).await {
                Ok(true) => {
                    metrics::add(&metrics::JOBS_FAILED, 1);
                    Outcome::Failed(failed)
                }
                Ok(false) => Outcome::Superseded,
                Err(e) => Outcome::Retry(format!("recording failure: {e}")),
            }
        }
    };
    if matches!(outcome, Outcome::Superseded) {
        metrics::add(&metrics::JOBS_SUPERSEDED, 1);
        tracing::warn!(job_id = %job.job_id, claim = job.claim, "the job was taken over by another claim; this run is dropped");
    }
    metrics::add(&metrics::CONVERSION_MILLIS, started.elapsed().as_millis() as u64);
    outcome
}

/// The event that announces a finished job; `None` for [`Outcome::Retry`]. Its id is derived
/// from the job, so announcing the same outcome twice yields the same event (consumers
/// de-duplicate on `source` + `id`).
pub fn outcome_event(source: &str, outcome: &Outcome) -> Option<Event> {
    let (ty, job_id, data) = match outcome {
        Outcome::Succeeded(data) => (event_types::MP3_CONVERTED, &data.job_id, serde_json::to_value(data)),
        Outcome::Failed(data) => (event_types::CONVERSION_FAILED, &data.job_id, serde_json::to_value(data)),
        Outcome::Retry(_) | Outcome::Superseded => return None,
    };
    let mut event = Event::new(source, ty, job_id, &data.unwrap_or_default());
    event.id = format!("{job_id}.{}", ty.rsplit('.').next().unwrap_or(ty));
    Some(event)
}

/// The outcome recorded for a job that has finished; `None` while it has not.
pub fn finished_outcome(job: &Job) -> Option<Outcome> {
    match job.status {
        JobStatus::Succeeded => Some(Outcome::Succeeded(Mp3Converted {
            job_id: job.job_id.clone(),
            video_id: job.video_id.clone(),
            mp3_id: job.mp3_id.clone().unwrap_or_default(),
            owner_id: job.owner_id.clone(),
            duration_ms: job.duration_ms.unwrap_or_default(),
            bytes: job.bytes.unwrap_or_default(),
        })),
        JobStatus::Failed => {
            let error = job.error.clone().unwrap_or(JobError { code: "internal".into(), message: String::new() });
            Some(Outcome::Failed(ConversionFailed {
                job_id: job.job_id.clone(),
                video_id: job.video_id.clone(),
                owner_id: job.owner_id.clone(),
                code: error.code,
                message: error.message,
            }))
        }
        JobStatus::Queued | JobStatus::Processing => None,
    }
}

/// Converts into the MP3 `mp3_id`, committed unless `superseded` was set meanwhile (by the
/// progress writer, when the store refused the claim). `Err` = permanent failure;
/// `Ok(Err)` = retry later; `Ok(Ok)` = done.
async fn convert(
    state: &ConvertState,
    job: &Job,
    mp3_id: &str,
    cancel: Arc<AtomicBool>,
    superseded: Arc<AtomicBool>,
) -> Result<Result<media::Report, String>, JobError> {
    let preset: media::Preset =
        job.preset.parse().map_err(|_| JobError { code: "invalid_preset".into(), message: format!("unknown preset {:?}", job.preset) })?;
    let stem = std::path::Path::new(&job.filename).file_stem().and_then(|s| s.to_str()).unwrap_or("audio").to_owned();
    let extension = std::path::Path::new(&job.filename).extension().and_then(|s| s.to_str()).map(str::to_ascii_lowercase);
    let meta = BlobMeta {
        owner_id: job.owner_id.clone(),
        content_type: "audio/mpeg".into(),
        filename: format!("{stem}.mp3"),
        video_id: Some(job.video_id.clone()),
        job_id: Some(job.job_id.clone()),
    };
    // An event names the video and its owner; the MP3 will belong to that owner, so the video
    // must be theirs (else anyone who can publish could take another user's audio).
    match state.blobs.stat(Bucket::Videos, &job.video_id).await {
        Ok(video) if video.meta.owner_id != job.owner_id => {
            tracing::warn!(job_id = %job.job_id, video_id = %job.video_id, "the event's owner does not own the video");
            return Err(JobError { code: "owner_mismatch".into(), message: "the video does not belong to the job's owner".into() });
        }
        Ok(_) => {}
        Err(BlobError::NotFound) => return Err(video_not_found()),
        Err(e) => return Ok(Err(format!("blob store: {e}"))),
    }
    let (progress_tx, progress_rx) = watch::channel(0f32);
    let lost = Lost { superseded: superseded.clone(), cancel: cancel.clone() };
    let reporter = tokio::spawn(report_progress(state.clone(), job.job_id.clone(), job.claim, progress_rx, lost));

    let stop_watch = tokio::spawn({
        let (stopping, cancel) = (state.stopping.clone(), cancel.clone());
        async move {
            stopping.cancelled().await;
            cancel.store(true, Ordering::Relaxed);
        }
    });
    let blobs = state.blobs.clone();
    let (video_id, mp3_id) = (job.video_id.clone(), mp3_id.to_owned());
    let span = tracing::Span::current();
    let sandbox = state.sandbox.clone();
    let max_duration = Some(state.max_duration);
    let encode_threads = state.encode_threads;
    let result = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let source = blobs.open_sync(Bucket::Videos, &video_id)?;
        let mut sink = blobs.create_sync(Bucket::Mp3s, &mp3_id, meta)?;
        let options = media::Options { preset, extension, fallback_title: stem, max_duration, encode_threads };
        let mut on_progress = |p: f32| {
            progress_tx.send_replace(p);
            fault_point_mid_conversion(p, &cancel);
        };
        let report = match &sandbox {
            Some(sandbox) => media::isolate::convert(sandbox, source, sink.as_mut(), &options, &mut on_progress, &cancel),
            None => media::convert(source, sink.as_mut(), &options, &mut on_progress, &cancel),
        };
        match report {
            Ok(_) if superseded.load(Ordering::Relaxed) => Ok(Err(media::MediaError::Cancelled)),
            Ok(report) => sink.commit().map(|_| Ok(report)).map_err(RunError::Blob),
            Err(e) => Ok(Err(e)),
        }
    })
    .await;
    reporter.abort();
    stop_watch.abort();

    match result {
        Ok(Ok(Ok(report))) => Ok(Ok(report)),
        Ok(Ok(Err(media_error))) => classify(media_error),
        Ok(Err(RunError::Blob(BlobError::NotFound))) => Err(video_not_found()),
        Ok(Err(RunError::Blob(e))) => Ok(Err(format!("blob store: {e}"))),
        Err(join_error) => Err(JobError { code: "internal".into(), message: format!("the converter crashed on this input: {join_error}") }),
    }
}

/// With the `fault-injection` feature and `MP3CONVERT_FAULT_POINT=mid_conversion`, a
/// conversion holds once it is a tenth done (the progress writer records that and keeps the
/// lease) until it is cancelled: a test's way to kill -9 or freeze the converter surely mid-way, however
/// fast the machine converts.
fn fault_point_mid_conversion(progress: f32, cancel: &AtomicBool) {
    #[cfg(feature = "fault-injection")]
    if progress >= 0.1 && !cancel.load(Ordering::Relaxed) && std::env::var("MP3CONVERT_FAULT_POINT").as_deref() == Ok("mid_conversion") {
        tracing::warn!("fault point mid_conversion reached: holding until cancelled");
        while !cancel.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = (progress, cancel);
}

fn video_not_found() -> JobError {
    JobError { code: "video_not_found".into(), message: "the video was deleted before it was converted".into() }
}

fn classify(error: media::MediaError) -> Result<Result<media::Report, String>, JobError> {
    match error {
        media::MediaError::Cancelled => Ok(Err("cancelled".into())),
        media::MediaError::Io(e) => Ok(Err(format!("i/o: {e}"))),
        other => Err(JobError { code: other.code().into(), message: other.to_string() }),
    }
}

enum RunError {
    Blob(BlobError),
}

impl From<BlobError> for RunError {
    fn from(e: BlobError) -> Self {
        Self::Blob(e)
    }
}

/// What the progress writer does when the store refuses the claim: marks the run superseded
/// and cancels the conversion.
struct Lost {
    superseded: Arc<AtomicBool>,
    cancel: Arc<AtomicBool>,
}

/// Writes progress to the job store when it has moved by 1% (at most every
/// [`PROGRESS_INTERVAL`], so at most 100 writes a job and fine-grained live progress on
/// `GET /api/v1/jobs/{id}/events`), and at least every [`heartbeat`] to keep the job's lease
/// under `claim`.
async fn report_progress(state: ConvertState, job_id: String, claim: u64, mut progress: watch::Receiver<f32>, lost: Lost) {
    let mut last_written = 0f32;
    let mut last_write = Instant::now();
    let heartbeat = heartbeat(state.lease);
    loop {
        tokio::select! {
            changed = progress.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(heartbeat) => {},
        }
        let p = *progress.borrow_and_update();
        if p - last_written >= 0.01 || last_write.elapsed() >= heartbeat {
            match state.jobs.set_progress(&job_id, claim, p, state.lease).await {
                Ok(true) => (last_written, last_write) = (p, Instant::now()),
                Ok(false) => {
                    lost.superseded.store(true, Ordering::Relaxed);
                    lost.cancel.store(true, Ordering::Relaxed);
                    return;
                }
                Err(e) => tracing::warn!(job_id, error = %e, "could not write progress; the lease is renewed at the next write"),
            }
            tokio::time::sleep(PROGRESS_INTERVAL).await;
        }
    }
}

/// The least time between two progress writes of one job.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
