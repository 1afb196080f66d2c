//! Jobs in the embedded SQLite database.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Claim, JobPage, JobStore, JobStoreError, PageRequest};
use crate::model::{Job, JobError, JobStatus, NewJob};
use crate::now_ms;

pub struct SqliteJobStore {
    pool: SqlitePool,
}

impl SqliteJobStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

const COLUMNS: &str = "job_id, video_id, owner_id, filename, preset, status, progress, mp3_id, \
                       error_code, error_message, attempts, claim, created_at, updated_at, duration_ms, bytes";

fn unavailable(e: impl Into<anyhow::Error>) -> JobStoreError {
    JobStoreError::Unavailable(e.into())
}

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// The end of a lease taken now, in unix milliseconds.
fn lease_end(lease: Duration) -> i64 {
    now_ms() + lease.as_millis() as i64
}

/// A claim as an SQL parameter: NULL when the writer holds none.
fn fence(claim: Option<u64>) -> Option<i64> {
    claim.map(|c| c as i64)
}

fn parse_time(s: &str) -> Result<OffsetDateTime, JobStoreError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(unavailable)
}

fn job_from_row(row: &SqliteRow) -> Result<Job, JobStoreError> {
    let status: String = row.get("status");
    let error_code: Option<String> = row.get("error_code");
    let error_message: Option<String> = row.get("error_message");
    Ok(Job {
        job_id: row.get("job_id"),
        video_id: row.get("video_id"),
        owner_id: row.get("owner_id"),
        filename: row.get("filename"),
        preset: row.get("preset"),
        status: JobStatus::parse(&status).ok_or_else(|| unavailable(anyhow::anyhow!("bad job status {status:?}")))?,
        progress: row.get::<f64, _>("progress") as f32,
        mp3_id: row.get("mp3_id"),
        error: error_code.map(|code| JobError { code, message: error_message.unwrap_or_default() }),
        attempts: row.get::<i64, _>("attempts") as u32,
        claim: row.get::<i64, _>("claim").max(0) as u64,
        duration_ms: row.get::<Option<i64>, _>("duration_ms").map(|v| v as u64),
        bytes: row.get::<Option<i64>, _>("bytes").map(|v| v as u64),
        created_at: parse_time(row.get("created_at"))?,
        updated_at: parse_time(row.get("updated_at"))?,
    })
}

impl SqliteJobStore {
    async fn fetch_one(&self, sql: &str, bind: &str) -> Result<Option<Job>, JobStoreError> {
        let row = sqlx::query(sql).bind(bind).fetch_optional(&self.pool).await.map_err(unavailable)?;
        row.as_ref().map(job_from_row).transpose()
    }
}

#[async_trait]
impl JobStore for SqliteJobStore {
    async fn create(&self, job: &NewJob) -> Result<Job, JobStoreError> {
        let now = now();
        let sql = format!(
            "INSERT INTO jobs (job_id, video_id, owner_id, filename, preset, status, progress, \
             idempotency_key, attempts, created_at, updated_at, seq) \
             VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, 0, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)) \
             RETURNING {COLUMNS}"
        );
        let result = sqlx::query(&sql)
            .bind(&job.job_id)
            .bind(&job.video_id)
            .bind(&job.owner_id)
            .bind(&job.filename)
            .bind(&job.preset)
            .bind(&job.idempotency_key)
            .bind(&now)
            .bind(&now)
            .fetch_one(&self.pool)
            .await;
        match result {
            Ok(row) => job_from_row(&row),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(JobStoreError::Duplicate),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, job_id: &str) -> Result<Option<Job>, JobStoreError> {
        self.fetch_one(&format!("SELECT {COLUMNS} FROM jobs WHERE job_id = ?"), job_id).await
    }

    async fn find_by_idempotency_key(&self, owner_id: &str, key: &str) -> Result<Option<Job>, JobStoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE owner_id = ? AND idempotency_key = ?");
        let row = sqlx::query(&sql).bind(owner_id).bind(key).fetch_optional(&self.pool).await.map_err(unavailable)?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn for_video(&self, video_id: &str) -> Result<Vec<Job>, JobStoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE video_id = ? ORDER BY seq");
        let rows = sqlx::query(&sql).bind(video_id).fetch_all(&self.pool).await.map_err(unavailable)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn list_for_owner(&self, owner_id: &str, page: PageRequest) -> Result<JobPage, JobStoreError> {
        let sql = format!("SELECT {COLUMNS}, seq FROM jobs WHERE owner_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?");
        let rows =
            sqlx::query(&sql).bind(owner_id).bind(page.below()).bind(page.fetch()).fetch_all(&self.pool).await.map_err(unavailable)?;
        let rows = rows.iter().map(|row| Ok((job_from_row(row)?, row.get::<i64, _>("seq")))).collect::<Result<_, JobStoreError>>()?;
        Ok(JobPage::from_rows(rows, page.limit))
    }

    async fn count_active(&self, owner_id: &str) -> Result<u64, JobStoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE owner_id = ? AND status IN ('queued', 'processing')")
            .bind(owner_id)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(count.max(0) as u64)
    }

    async fn claim_next(&self, lease: Duration) -> Result<Option<Job>, JobStoreError> {
        let sql = format!(
            "UPDATE jobs SET status = 'processing', progress = 0, attempts = attempts + 1, claim = claim + 1, updated_at = ?, \
             lease_until = ? WHERE job_id = (SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql).bind(now()).bind(lease_end(lease)).fetch_optional(&self.pool).await.map_err(unavailable)?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn claim(&self, job_id: &str, lease: Duration) -> Result<Claim, JobStoreError> {
        let sql = format!(
            "UPDATE jobs SET status = 'processing', progress = 0, attempts = attempts + 1, claim = claim + 1, updated_at = ?, \
             lease_until = ? WHERE job_id = ? AND (status = 'queued' OR (status = 'processing' AND COALESCE(lease_until, 0) < ?)) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now())
            .bind(lease_end(lease))
            .bind(job_id)
            .bind(now_ms())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        if let Some(row) = row {
            return Ok(Claim::Claimed(job_from_row(&row)?));
        }
        Ok(match self.get(job_id).await? {
            None => Claim::NotFound,
            Some(job) if job.status.is_finished() => Claim::Finished(job),
            Some(job) => Claim::Busy(job),
        })
    }

    async fn set_progress(&self, job_id: &str, claim: u64, progress: f32, lease: Duration) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET progress = ?, updated_at = ?, lease_until = ? WHERE job_id = ? AND status = 'processing' AND claim = ?",
        )
        .bind(f64::from(progress.clamp(0.0, 1.0)))
        .bind(now())
        .bind(lease_end(lease))
        .bind(job_id)
        .bind(claim as i64)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn succeed(&self, job_id: &str, claim: Option<u64>, mp3_id: &str, duration_ms: u64, bytes: u64) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'succeeded', progress = 1, mp3_id = ?, duration_ms = ?, bytes = ?, updated_at = ?, \
             lease_until = NULL WHERE job_id = ? AND status = 'processing' AND (? IS NULL OR claim = ?)",
        )
        .bind(mp3_id)
        .bind(duration_ms as i64)
        .bind(bytes as i64)
        .bind(now())
        .bind(job_id)
        .bind(fence(claim))
        .bind(fence(claim))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn fail(&self, job_id: &str, claim: Option<u64>, error: &JobError) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'failed', error_code = ?, error_message = ?, updated_at = ?, lease_until = NULL \
             WHERE job_id = ? AND (? IS NULL AND status IN ('queued', 'processing') OR status = 'processing' AND claim = ?)",
        )
        .bind(&error.code)
        .bind(&error.message)
        .bind(now())
        .bind(job_id)
        .bind(fence(claim))
        .bind(fence(claim))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn requeue(&self, job_id: &str, claim: u64) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', progress = 0, attempts = MAX(attempts - 1, 0), updated_at = ?, \
             lease_until = NULL WHERE job_id = ? AND status = 'processing' AND claim = ?",
        )
        .bind(now())
        .bind(job_id)
        .bind(claim as i64)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn requeue_all_processing(&self) -> Result<u64, JobStoreError> {
        let result =
            sqlx::query("UPDATE jobs SET status = 'queued', progress = 0, updated_at = ?, lease_until = NULL WHERE status = 'processing'")
                .bind(now())
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(result.rows_affected())
    }

    async fn take_unannounced(&self, quiet: Duration, limit: usize) -> Result<Vec<Job>, JobStoreError> {
        let cutoff = (OffsetDateTime::now_utc() - quiet).format(&Rfc3339).unwrap_or_default();
        // Marked so that it is due again only after another `quiet`: a queued job as changed
        // now, an abandoned one as its lease ending now (still expired, so claimable).
        let sql = format!(
            "UPDATE jobs SET updated_at = CASE status WHEN 'queued' THEN ? ELSE updated_at END, \
             lease_until = CASE status WHEN 'processing' THEN ? ELSE lease_until END \
             WHERE job_id IN (SELECT job_id FROM jobs WHERE (status = 'queued' AND julianday(updated_at) < julianday(?)) \
             OR (status = 'processing' AND lease_until < ?) ORDER BY seq LIMIT ?) RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now())
            // Expired already: a claim takes it at once.
            .bind(now_ms() - 1)
            .bind(cutoff)
            .bind(now_ms() - quiet.as_millis() as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(job_from_row).collect()
    }
}
