//! The job store port: conversion jobs and their status. In the embedded platform it is
//! also the durable queue: a job is work until it is `succeeded` or `failed`.
//!
//! Adapters: [`sqlite`] (embedded default) and [`mongodb`] (MongoDB or FerretDB).

pub mod mongodb;
pub mod sqlite;

use std::time::Duration;

use async_trait::async_trait;

use crate::model::{Job, JobError, NewJob};

/// What [`JobStore::claim`] found.
#[derive(Debug)]
pub enum Claim {
    /// The job is now `processing`, leased to the caller.
    Claimed(Job),
    /// Another converter holds a live lease on it.
    Busy(Job),
    /// It has already `succeeded` or `failed`.
    Finished(Job),
    NotFound,
}

/// Which page of a listing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Only jobs older than this position (a [`JobPage::next`]); `None`: from the newest.
    pub before: Option<i64>,
    pub limit: usize,
}

impl PageRequest {
    /// The position every job of the page is below (`seq < before`).
    fn below(&self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }

    /// How many rows to fetch for [`JobPage::from_rows`]: one more than the page holds.
    fn fetch(&self) -> i64 {
        i64::try_from(self.limit.saturating_add(1)).unwrap_or(i64::MAX)
    }
}

/// A page of jobs, newest first.
#[derive(Debug)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Where the next page starts, when there are older jobs.
    pub next: Option<i64>,
}

impl JobPage {
    /// The page from up to `limit + 1` jobs (newest first) with their positions: the extra
    /// one only tells that there is a next page.
    fn from_rows(mut rows: Vec<(Job, i64)>, limit: usize) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(|(_, seq)| *seq) } else { None };
        Self { jobs: rows.into_iter().map(|(job, _)| job).collect(), next }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobStoreError {
    /// A job with this id, or this owner's idempotency key, exists already.
    #[error("job exists already")]
    Duplicate,
    #[error("job store unavailable: {0:#}")]
    Unavailable(anyhow::Error),
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a new `queued` job. Errors: [`JobStoreError::Duplicate`].
    async fn create(&self, job: &NewJob) -> Result<Job, JobStoreError>;

    async fn get(&self, job_id: &str) -> Result<Option<Job>, JobStoreError>;

    /// The owner's job created with this `Idempotency-Key`, if any.
    async fn find_by_idempotency_key(&self, owner_id: &str, key: &str) -> Result<Option<Job>, JobStoreError>;

    /// A page of the owner's jobs, newest first: at most `page.limit`, all older than
    /// `page.before` when given. Jobs created meanwhile are newer, so they never shift a
    /// later page.
    async fn list_for_owner(&self, owner_id: &str, page: PageRequest) -> Result<JobPage, JobStoreError>;

    /// Every job of the video (usually one; another system's events may make more), oldest
    /// first.
    async fn for_video(&self, video_id: &str) -> Result<Vec<Job>, JobStoreError>;

    /// How many of the owner's jobs are `queued` or `processing` (for the per-user limit).
    async fn count_active(&self, owner_id: &str) -> Result<u64, JobStoreError>;

    /// Atomically moves the oldest `queued` job to `processing` (counting the attempt, leased
    /// for `lease`, under a new [`Job::claim`]) and returns it; `None` when nothing is queued.
    /// Two callers never get the same job.
    async fn claim_next(&self, lease: Duration) -> Result<Option<Job>, JobStoreError>;

    /// Atomically takes this job for the caller for `lease` (counting the attempt, under a new
    /// [`Job::claim`]): a `queued` job, or a `processing` one whose lease has expired (its
    /// converter died).
    async fn claim(&self, job_id: &str, lease: Duration) -> Result<Claim, JobStoreError>;

    /// Records progress (0.0–1.0) of the job held under `claim` and extends its lease by
    /// `lease`. Returns false (and changes nothing) when the claim is no longer the job's:
    /// its lease ran out and another converter took the job, so the caller must stop.
    async fn set_progress(&self, job_id: &str, claim: u64, progress: f32, lease: Duration) -> Result<bool, JobStoreError>;

    /// `processing` → `succeeded`. Returns false (and changes nothing) if the job was not
    /// `processing`, so a job succeeds at most once, or, with `Some(claim)`, if it is no longer
    /// held under that claim. `None` is for writers that hold no claim (outcome events).
    async fn succeed(&self, job_id: &str, claim: Option<u64>, mp3_id: &str, duration_ms: u64, bytes: u64) -> Result<bool, JobStoreError>;

    /// `queued`/`processing` → `failed`. Returns false if the job had already finished, or,
    /// with `Some(claim)`, if it is not `processing` under that claim. `None` is for writers
    /// that hold no claim (the upload that could not announce its job, dead letters).
    async fn fail(&self, job_id: &str, claim: Option<u64>, error: &JobError) -> Result<bool, JobStoreError>;

    /// `processing` under `claim` → `queued`, for a job whose run was interrupted (shutdown,
    /// a dependency failure), giving the attempt back: that run ended without crashing, and
    /// attempts count only the runs that may have crashed the converter. Returns false if the
    /// claim is no longer the job's.
    async fn requeue(&self, job_id: &str, claim: u64) -> Result<bool, JobStoreError>;

    /// Every `processing` job back to `queued`; for start-up, when no worker can be running.
    async fn requeue_all_processing(&self) -> Result<u64, JobStoreError>;

    /// The jobs whose announcement may have been lost, for a re-drive to announce again,
    /// oldest first, at most `limit`: `queued` and unchanged for `quiet` (never announced —
    /// the publish failed, the publisher died — or re-queued with no redelivery coming), or
    /// `processing` under a lease that ran out `quiet` ago (its converter died, and no
    /// redelivery came). Each is marked (`updated_at`, or the lease ending now) so that it
    /// comes back only after another `quiet`. Concurrent callers may both get a job
    /// (duplicate announcements are harmless).
    async fn take_unannounced(&self, quiet: Duration, limit: usize) -> Result<Vec<Job>, JobStoreError>;
}
