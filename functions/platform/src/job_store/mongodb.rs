//! Jobs in the MongoDB collection `jobs`, one document per job with `_id` = the job id.
//!
//! Written for MongoDB and FerretDB alike, so without transactions: every state change is
//! one `find_one_and_update`/`update_one` whose filter is the precondition; claims also
//! insert a per-attempt token (see `take`). Order is a `seq`
//! taken from the counter document `{_id: "jobs"}` in `counters` (`$inc`, upsert).
//! Idempotency keys are unique per owner through the field `idem` = `"<owner>\n<key>"`,
//! stored only on keyed jobs, with a unique sparse index: MongoDB skips documents without
//! the field because the index is sparse, FerretDB (which ignores `sparse`) because its
//! unique indexes never treat missing fields as duplicates. One insert, nothing to undo.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Claim, JobPage, JobStore, JobStoreError, PageRequest};
use crate::model::{Job, JobError, JobStatus, NewJob};
use crate::mongo::{ensure_indexes, is_duplicate_key};

pub struct MongoJobStore {
    jobs: Collection<JobDoc>,
    counters: Collection<Document>,
    claims: Collection<Document>,
}

#[derive(Serialize, Deserialize)]
struct JobDoc {
    #[serde(rename = "_id")]
    job_id: String,
    video_id: String,
    owner_id: String,
    filename: String,
    preset: String,
    status: String,
    progress: f64,
    mp3_id: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    attempts: i64,
    /// The latest claim's fencing token (absent in documents written before claims had one).
    #[serde(default)]
    claim: i64,
    created_at: DateTime,
    updated_at: DateTime,
    duration_ms: Option<i64>,
    bytes: Option<i64>,
    /// End of the lease of a `processing` job, unix milliseconds.
    lease_until: Option<i64>,
    seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idem: Option<String>,
}

fn unavailable(e: impl Into<anyhow::Error>) -> JobStoreError {
    JobStoreError::Unavailable(e.into())
}

fn idem(owner_id: &str, key: &str) -> String {
    format!("{owner_id}\n{key}")
}

fn lease_end(lease: Duration) -> i64 {
    DateTime::now().timestamp_millis().saturating_add(lease.as_millis() as i64)
}

fn to_time(t: DateTime) -> Result<OffsetDateTime, JobStoreError> {
    crate::mongo::to_time(t).map_err(unavailable)
}

fn job(doc: JobDoc) -> Result<Job, JobStoreError> {
    let status = JobStatus::parse(&doc.status).ok_or_else(|| unavailable(anyhow::anyhow!("bad job status {:?}", doc.status)))?;
    Ok(Job {
        job_id: doc.job_id,
        video_id: doc.video_id,
        owner_id: doc.owner_id,
        filename: doc.filename,
        preset: doc.preset,
        status,
        progress: doc.progress as f32,
        mp3_id: doc.mp3_id,
        error: doc.error_code.map(|code| JobError { code, message: doc.error_message.unwrap_or_default() }),
        attempts: doc.attempts.max(0) as u32,
        claim: doc.claim.max(0) as u64,
        duration_ms: doc.duration_ms.map(|v| v.max(0) as u64),
        bytes: doc.bytes.map(|v| v.max(0) as u64),
        created_at: to_time(doc.created_at)?,
        updated_at: to_time(doc.updated_at)?,
    })
}

/// Whether `jobs` has an index on exactly `keys`.
/// Matches a document whose `claim` is `claim`; 0 also matches documents without the field.
fn held(claim: i64) -> Bson {
    if claim == 0 { Bson::Document(doc! { "$in": [0_i64, Bson::Null] }) } else { Bson::Int64(claim) }
}

/// The job, `processing` under `claim`: the filter of every write a converter makes.
fn under_claim(job_id: &str, claim: u64) -> Document {
    doc! { "_id": job_id, "status": "processing", "claim": held(claim as i64) }
}

/// The update that hands a job to a converter for `lease`.
fn take(lease: Duration) -> Document {
    doc! {
        "$set": { "status": "processing", "progress": 0.0, "updated_at": DateTime::now(), "lease_until": lease_end(lease) },
        "$inc": { "attempts": 1_i64, "claim": 1_i64 },
    }
}

impl MongoJobStore {
    /// Uses `db`'s `jobs` and `counters` collections, creating the indexes that are missing.
    ///
    /// Only the missing ones, whatever their names: FerretDB 1.24 drops the connection when
    /// asked to create an index that already exists, which every function but the first to
    /// start would do. Functions starting at once may still race to create one; a failed
    /// creation counts as done if the index exists afterwards.
    pub async fn open(db: Database) -> Result<Self, JobStoreError> {
        let jobs = db.collection::<JobDoc>("jobs");
        let unique_sparse = IndexOptions::builder().unique(true).sparse(true).build();
        let indexes = [
            IndexModel::builder().keys(doc! { "idem": 1 }).options(unique_sparse).build(),
            IndexModel::builder().keys(doc! { "status": 1, "seq": 1 }).build(),
            IndexModel::builder().keys(doc! { "owner_id": 1, "seq": -1 }).build(),
            IndexModel::builder().keys(doc! { "video_id": 1 }).build(),
        ];
        ensure_indexes(&jobs, indexes.into()).await.map_err(unavailable)?;
        Ok(Self { jobs, counters: db.collection("counters"), claims: db.collection("job_claims") })
    }

    /// Connects to `url` and opens database `db_name`.
    pub async fn connect(url: &str, db_name: &str) -> Result<Self, JobStoreError> {
        let client = mongodb::Client::with_uri_str(url).await.map_err(unavailable)?;
        Self::open(client.database(db_name)).await
    }

    async fn next_seq(&self) -> Result<i64, JobStoreError> {
        // Two first-ever upserts can race on the counter's `_id`; the loser retries.
        for _ in 0..3 {
            let result = self
                .counters
                .find_one_and_update(doc! { "_id": "jobs" }, doc! { "$inc": { "seq": 1_i64 } })
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Ok(Some(counter)) => {
                    return match counter.get("seq") {
                        Some(Bson::Int64(seq)) => Ok(*seq),
                        Some(Bson::Int32(seq)) => Ok(i64::from(*seq)),
                        other => Err(unavailable(anyhow::anyhow!("bad job counter {other:?}"))),
                    };
                }
                Ok(None) => return Err(unavailable(anyhow::anyhow!("job counter missing after upsert"))),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(unavailable(anyhow::anyhow!("job counter contended")))
    }

    /// Moves the oldest job matching `filter` to `processing`. FerretDB does not make
    /// `find_one_and_update` atomic (concurrent callers got the same job), so each attempt is
    /// first won by inserting `{_id: "<job>#<claim>", job, at}` into `job_claims`: a unique
    /// `_id` insert is atomic everywhere, and only the winner moves `claim` on.
    ///
    /// Nothing here can stop the queue:
    /// - a token older than the lease whose attempt never started (its claimer died between the
    ///   insert and the `$inc`) is removed, by one conditional delete, and the attempt claimed
    ///   afresh;
    /// - a job document that does not decode is marked `failed` (`malformed_job`) and skipped;
    /// - a finished job's tokens are deleted (`succeed`, `fail`).
    async fn take(&self, filter: Document, lease: Duration) -> Result<Option<Job>, JobStoreError> {
        let raw = self.jobs.clone_with_type::<Document>();
        for _ in 0..100 {
            let Some(found) = raw.find_one(filter.clone()).sort(doc! { "seq": 1 }).await.map_err(unavailable)? else {
                return Ok(None);
            };
            let seen: JobDoc = match mongodb::bson::from_document(found.clone()) {
                Ok(seen) => seen,
                Err(e) => {
                    self.quarantine(&found, &e.to_string()).await?;
                    continue;
                }
            };
            let token_id = format!("{}#{}", seen.job_id, seen.claim + 1);
            let token = doc! { "_id": token_id.as_str(), "job": seen.job_id.as_str(), "at": DateTime::now().timestamp_millis() };
            match self.claims.insert_one(token).await {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => {
                    self.drop_abandoned_token(&token_id, lease).await?;
                    continue;
                }
                Err(e) => return Err(unavailable(e)),
            }
            let mut exact = filter.clone();
            exact.insert("_id", seen.job_id.as_str());
            exact.insert("claim", held(seen.claim));
            let taken =
                self.jobs.find_one_and_update(exact, take(lease)).return_document(ReturnDocument::After).await.map_err(unavailable)?;
            if let Some(taken) = taken {
                return job(taken).map(Some);
            }
        }
        Err(unavailable(anyhow::anyhow!("could not claim a job: too much contention")))
    }

    /// Deletes the claim token `id` if it is older than `lease` (or has no time: written
    /// before tokens had one). Only one of several callers deletes it (the filter holds the
    /// time it read); whoever then inserts the token first wins the attempt.
    async fn drop_abandoned_token(&self, id: &str, lease: Duration) -> Result<(), JobStoreError> {
        let Some(token) = self.claims.find_one(doc! { "_id": id }).await.map_err(unavailable)? else { return Ok(()) };
        let at = token.get("at").cloned();
        let cutoff = DateTime::now().timestamp_millis() - lease.as_millis() as i64;
        let stale = match at {
            None => true,
            Some(Bson::Int64(at)) => at < cutoff,
            Some(_) => true,
        };
        if stale {
            let filter = match at {
                Some(at) => doc! { "_id": id, "at": at },
                None => doc! { "_id": id, "at": { "$exists": false } },
            };
            let deleted = self.claims.delete_one(filter).await.map_err(unavailable)?.deleted_count;
            if deleted == 1 {
                tracing::warn!(token = id, "recovered an abandoned job claim");
            }
        }
        Ok(())
    }

    /// Marks a job document that does not decode as failed, so that claims pass over it.
    async fn quarantine(&self, found: &Document, why: &str) -> Result<(), JobStoreError> {
        let (Some(id), Some(status)) = (found.get("_id"), found.get("status")) else {
            return Err(unavailable(anyhow::anyhow!("a job document without _id or status: {why}")));
        };
        tracing::error!(job_id = %id, error = why, "a job document does not decode; marking it failed");
        let set = doc! { "$set": {
            "status": "failed", "error_code": "malformed_job", "error_message": format!("the job document does not decode: {why}"),
            "updated_at": DateTime::now(), "lease_until": null,
        } };
        self.jobs.update_one(doc! { "_id": id.clone(), "status": status.clone() }, set).await.map_err(unavailable)?;
        Ok(())
    }

    /// Deletes a finished job's claim tokens (best effort: a leftover token blocks nothing).
    async fn drop_tokens(&self, job_id: &str) {
        if let Err(e) = self.claims.delete_many(doc! { "job": job_id }).await {
            tracing::warn!(job_id, error = %e, "could not delete the job's claim tokens");
        }
    }

    async fn update(&self, filter: Document, set: Document) -> Result<u64, JobStoreError> {
        let result = self.jobs.update_many(filter, doc! { "$set": set }).await.map_err(unavailable)?;
        Ok(result.matched_count)
    }
}

#[async_trait]
impl JobStore for MongoJobStore {
    async fn create(&self, new: &NewJob) -> Result<Job, JobStoreError> {
        let now = DateTime::now();
        let doc = JobDoc {
            job_id: new.job_id.clone(),
            video_id: new.video_id.clone(),
            owner_id: new.owner_id.clone(),
            filename: new.filename.clone(),
            preset: new.preset.clone(),
            status: JobStatus::Queued.as_str().to_owned(),
            progress: 0.0,
            mp3_id: None,
            error_code: None,
            error_message: None,
            attempts: 0,
            claim: 0,
            created_at: now,
            updated_at: now,
            duration_ms: None,
            bytes: None,
            lease_until: None,
            seq: self.next_seq().await?,
            idem: new.idempotency_key.as_deref().map(|key| idem(&new.owner_id, key)),
        };
        match self.jobs.insert_one(&doc).await {
            Ok(_) => job(doc),
            Err(e) if is_duplicate_key(&e) => Err(JobStoreError::Duplicate),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, job_id: &str) -> Result<Option<Job>, JobStoreError> {
        self.jobs.find_one(doc! { "_id": job_id }).await.map_err(unavailable)?.map(job).transpose()
    }

    async fn find_by_idempotency_key(&self, owner_id: &str, key: &str) -> Result<Option<Job>, JobStoreError> {
        let filter = doc! { "idem": idem(owner_id, key), "owner_id": owner_id };
        self.jobs.find_one(filter).await.map_err(unavailable)?.map(job).transpose()
    }

    async fn for_video(&self, video_id: &str) -> Result<Vec<Job>, JobStoreError> {
        let cursor = self.jobs.find(doc! { "video_id": video_id }).sort(doc! { "seq": 1 }).await.map_err(unavailable)?;
        let docs: Vec<JobDoc> = cursor.try_collect().await.map_err(unavailable)?;
        docs.into_iter().map(job).collect()
    }

    async fn list_for_owner(&self, owner_id: &str, page: PageRequest) -> Result<JobPage, JobStoreError> {
        let filter = doc! { "owner_id": owner_id, "seq": { "$lt": page.below() } };
        let cursor = self.jobs.find(filter).sort(doc! { "seq": -1 }).limit(page.fetch()).await.map_err(unavailable)?;
        let docs: Vec<JobDoc> = cursor.try_collect().await.map_err(unavailable)?;
        let rows = docs
            .into_iter()
            .map(|doc| {
                let seq = doc.seq;
                Ok((job(doc)?, seq))
            })
            .collect::<Result<_, JobStoreError>>()?;
        Ok(JobPage::from_rows(rows, page.limit))
    }

    async fn count_active(&self, owner_id: &str) -> Result<u64, JobStoreError> {
        let filter = doc! { "owner_id": owner_id, "status": { "$in": ["queued", "processing"] } };
        self.jobs.count_documents(filter).await.map_err(unavailable)
    }

    async fn claim_next(&self, lease: Duration) -> Result<Option<Job>, JobStoreError> {
        self.take(doc! { "status": "queued" }, lease).await
    }

    async fn claim(&self, job_id: &str, lease: Duration) -> Result<Claim, JobStoreError> {
        let now = DateTime::now().timestamp_millis();
        let filter = doc! { "_id": job_id, "$or": [
            { "status": "queued" },
            { "status": "processing", "lease_until": { "$lt": now } },
            { "status": "processing", "lease_until": null },
        ] };
        if let Some(job) = self.take(filter, lease).await? {
            return Ok(Claim::Claimed(job));
        }
        Ok(match self.get(job_id).await? {
            None => Claim::NotFound,
            Some(job) if job.status.is_finished() => Claim::Finished(job),
            Some(job) => Claim::Busy(job),
        })
    }

    async fn set_progress(&self, job_id: &str, claim: u64, progress: f32, lease: Duration) -> Result<bool, JobStoreError> {
        let set = doc! { "progress": f64::from(progress.clamp(0.0, 1.0)), "updated_at": DateTime::now(), "lease_until": lease_end(lease) };
        Ok(self.update(under_claim(job_id, claim), set).await? == 1)
    }

    async fn succeed(&self, job_id: &str, claim: Option<u64>, mp3_id: &str, duration_ms: u64, bytes: u64) -> Result<bool, JobStoreError> {
        let set = doc! {
            "status": "succeeded", "progress": 1.0, "mp3_id": mp3_id, "duration_ms": duration_ms as i64,
            "bytes": bytes as i64, "updated_at": DateTime::now(), "lease_until": null,
        };
        let filter = match claim {
            Some(claim) => under_claim(job_id, claim),
            None => doc! { "_id": job_id, "status": "processing" },
        };
        let done = self.update(filter, set).await? == 1;
        if done {
            self.drop_tokens(job_id).await;
        }
        Ok(done)
    }

    async fn fail(&self, job_id: &str, claim: Option<u64>, error: &JobError) -> Result<bool, JobStoreError> {
        let set = doc! {
            "status": "failed", "error_code": error.code.as_str(), "error_message": error.message.as_str(),
            "updated_at": DateTime::now(), "lease_until": null,
        };
        let filter = match claim {
            Some(claim) => under_claim(job_id, claim),
            None => doc! { "_id": job_id, "status": { "$in": ["queued", "processing"] } },
        };
        let done = self.update(filter, set).await? == 1;
        if done {
            self.drop_tokens(job_id).await;
        }
        Ok(done)
    }

    async fn requeue(&self, job_id: &str, claim: u64) -> Result<bool, JobStoreError> {
        let update = doc! {
            "$set": { "status": "queued", "progress": 0.0, "updated_at": DateTime::now(), "lease_until": null },
            "$inc": { "attempts": -1_i64 },
        };
        let result = self.jobs.update_one(under_claim(job_id, claim), update).await.map_err(unavailable)?;
        Ok(result.matched_count == 1)
    }

    async fn requeue_all_processing(&self) -> Result<u64, JobStoreError> {
        let set = doc! { "status": "queued", "progress": 0.0, "updated_at": DateTime::now(), "lease_until": null };
        self.update(doc! { "status": "processing" }, set).await
    }

    async fn take_unannounced(&self, quiet: Duration, limit: usize) -> Result<Vec<Job>, JobStoreError> {
        let now = DateTime::now();
        let quiet_ms = quiet.as_millis() as i64;
        let cutoff = DateTime::from_millis(now.timestamp_millis() - quiet_ms);
        let filter = doc! { "$or": [
            { "status": "queued", "updated_at": { "$lt": cutoff } },
            { "status": "processing", "lease_until": { "$lt": now.timestamp_millis() - quiet_ms } },
        ] };
        let raw = self.jobs.clone_with_type::<Document>();
        let found: Vec<Document> = raw
            .find(filter)
            .sort(doc! { "seq": 1 })
            .limit(limit as i64)
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        let mut taken = Vec::new();
        for found in found {
            // One that does not decode is the claims' to quarantine.
            let Ok(seen) = mongodb::bson::from_document::<JobDoc>(found) else { continue };
            // Marked so that it is due again only after another `quiet`: a queued job as
            // changed now, an abandoned one as its lease ending now (still expired, claimable).
            let (unchanged, mark) = if seen.status == "queued" {
                (doc! { "_id": seen.job_id.as_str(), "status": "queued", "updated_at": seen.updated_at }, doc! { "updated_at": now })
            } else {
                let filter = doc! { "_id": seen.job_id.as_str(), "status": "processing", "lease_until": seen.lease_until };
                // Expired already: a claim takes it at once.
                (filter, doc! { "lease_until": now.timestamp_millis() - 1 })
            };
            if self.update(unchanged, mark).await? == 1 {
                taken.push(job(seen)?);
            }
        }
        Ok(taken)
    }
}
