//! The embedded platform's worker pool: `workers` tasks that claim queued jobs from the job
//! store and convert them, so a burst of uploads queues instead of overloading the machine.
//!
//! The job store is the queue, so nothing is lost across restarts: on start-up every job
//! left `processing` by a dead process is queued again, and on shutdown running conversions
//! are cancelled and re-queued. Events from the bus only wake idle workers early.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use platform::event_bus::Event;
use platform::model::event_types;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::ConvertState;
use crate::run::{Outcome, outcome_event, run_job};

/// How often an idle worker looks at the queue even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(2);

/// The longest a worker waits after a run that a dependency cut short.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long to wait after the `failures`-th run in a row that a dependency cut short:
/// doubling from [`IDLE_POLL`] up to [`MAX_BACKOFF`], each wait drawn from its upper half so
/// that workers (and processes) do not retry in step.
pub fn backoff(failures: u32) -> Duration {
    backoff_ceiling(failures).mul_f64(rand::random::<f64>().mul_add(0.5, 0.5))
}

fn backoff_ceiling(failures: u32) -> Duration {
    IDLE_POLL.saturating_mul(1 << failures.min(16)).min(MAX_BACKOFF)
}

pub struct WorkerPool {
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
}

impl WorkerPool {
    /// Re-queues interrupted jobs and starts `workers` workers. `wake` carries the bus's events.
    pub async fn start(state: ConvertState, workers: usize, wake: broadcast::Receiver<Event>) -> anyhow::Result<Self> {
        let requeued = state.jobs.requeue_all_processing().await?;
        if requeued > 0 {
            tracing::info!(requeued, "re-queued jobs interrupted by the last shutdown");
        }
        let shutdown = CancellationToken::new();
        let notify = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        tasks.spawn(forward_wakeups(wake, notify.clone(), shutdown.clone()));
        for worker in 0..workers {
            tasks.spawn(work(worker, state.clone(), notify.clone(), shutdown.clone()));
        }
        Ok(Self { shutdown, tasks })
    }

    /// Cancels running conversions (their jobs go back to the queue) and waits for the workers.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn forward_wakeups(mut wake: broadcast::Receiver<Event>, notify: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            event = wake.recv() => match event {
                Ok(event) if event.ty == event_types::VIDEO_UPLOADED => notify.notify_waiters(),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => notify.notify_waiters(),
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

async fn work(worker: usize, state: ConvertState, notify: Arc<Notify>, shutdown: CancellationToken) {
    // Runs in a row that a dependency cut short; their attempts are given back, so only the
    // wait between them grows.
    let mut cut_short = 0;
    loop {
        // Registered before looking at the queue, so a wake-up in between is not missed.
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shutdown.is_cancelled() {
            return;
        }
        let job = match state.jobs.claim_next(state.lease).await {
            Ok(job) => job,
            Err(e) => {
                tracing::warn!(worker, error = %e, "cannot read the job queue");
                None
            }
        };
        let Some(job) = job else {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = &mut notified => {},
                () = tokio::time::sleep(IDLE_POLL) => {},
            }
            continue;
        };
        let span = tracing::info_span!("job", job_id = %job.job_id, attempt = job.attempts);
        let cancel = Arc::new(AtomicBool::new(false));
        let run = run_job(&state, &job, cancel.clone()).instrument(span.clone());
        tokio::pin!(run);
        let outcome = tokio::select! {
            outcome = &mut run => outcome,
            () = shutdown.cancelled() => {
                cancel.store(true, Ordering::Relaxed);
                run.await
            }
        };
        if let Some(event) = outcome_event(&state.event_source, &outcome)
            && let Err(e) = state.events.publish(event).await
        {
            tracing::warn!(parent: &span, error = %e, "could not announce the job's outcome");
        }
        if !matches!(outcome, Outcome::Retry(_)) {
            cut_short = 0;
        }
        match outcome {
            Outcome::Succeeded(done) => {
                tracing::info!(parent: &span, mp3_id = %done.mp3_id, duration_ms = done.duration_ms, "job succeeded")
            }
            Outcome::Failed(failed) => tracing::info!(parent: &span, code = %failed.code, "job failed: {}", failed.message),
            Outcome::Superseded => tracing::info!(parent: &span, "job taken over by another claim"),
            Outcome::Retry(reason) => {
                tracing::info!(parent: &span, reason, "job re-queued, its attempt given back");
                if let Err(e) = state.jobs.requeue(&job.job_id, job.claim).await {
                    tracing::warn!(parent: &span, error = %e, "could not re-queue; it will be re-queued at the next start");
                }
                if !shutdown.is_cancelled() {
                    // A dependency failed: give it time rather than spinning on the same job.
                    let wait = backoff(cut_short);
                    cut_short += 1;
                    tracing::info!(parent: &span, wait_ms = wait.as_millis() as u64, "backing off");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => {},
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_is_jittered() {
        for failures in 0..40 {
            let ceiling = backoff_ceiling(failures);
            let waits: Vec<Duration> = (0..50).map(|_| backoff(failures)).collect();
            assert!(waits.iter().all(|w| *w >= ceiling / 2 && *w <= ceiling), "{failures}: {waits:?} outside {ceiling:?}/2..");
            assert!(waits.iter().any(|w| *w != waits[0]), "{failures}: not jittered");
        }
        assert_eq!(backoff_ceiling(0), IDLE_POLL);
        assert_eq!(backoff_ceiling(1), 2 * IDLE_POLL, "doubles");
        assert_eq!(backoff_ceiling(5), MAX_BACKOFF, "reaches the ceiling after a few failures");
    }
}
