use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use platform::job_store::mongodb::MongoJobStore;
use platform::job_store::sqlite::SqliteJobStore;
use platform::job_store::{Claim, JobStore, JobStoreError, PageRequest};

const LEASE: Duration = Duration::from_secs(60);
use platform::model::{JobError, JobStatus, NewJob};

fn new_job(owner: &str, key: Option<&str>) -> NewJob {
    NewJob {
        job_id: platform::new_id(),
        video_id: platform::new_id(),
        owner_id: owner.into(),
        filename: "a.mp4".into(),
        preset: "v2".into(),
        idempotency_key: key.map(str::to_owned),
    }
}

async fn lifecycle(store: &dyn JobStore) {
    let job = store.create(&new_job("o", None)).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    let claimed = store.claim_next(LEASE).await.unwrap().unwrap();
    assert_eq!((claimed.job_id.as_str(), claimed.status, claimed.attempts), (job.job_id.as_str(), JobStatus::Processing, 1));
    assert!(store.claim_next(LEASE).await.unwrap().is_none(), "a processing job was claimed twice");
    assert!(store.set_progress(&job.job_id, claimed.claim, 0.5, LEASE).await.unwrap());
    assert_eq!(store.get(&job.job_id).await.unwrap().unwrap().progress, 0.5);
    assert!(store.succeed(&job.job_id, Some(claimed.claim), "mp3", 1000, 2000).await.unwrap());
    assert!(!store.succeed(&job.job_id, None, "mp3", 1000, 2000).await.unwrap(), "succeeded twice");
    assert!(!store.fail(&job.job_id, None, &JobError { code: "x".into(), message: "y".into() }).await.unwrap());
    let done = store.get(&job.job_id).await.unwrap().unwrap();
    assert_eq!((done.status, done.mp3_id.as_deref(), done.progress), (JobStatus::Succeeded, Some("mp3"), 1.0));
    assert_eq!((done.duration_ms, done.bytes), (Some(1000), Some(2000)));
}

async fn claim_by_id_respects_live_leases(store: &dyn JobStore) {
    let job = store.create(&new_job("o", None)).await.unwrap();
    assert!(matches!(store.claim("nope", LEASE).await.unwrap(), Claim::NotFound));
    let Claim::Claimed(first) = store.claim(&job.job_id, LEASE).await.unwrap() else { panic!("queued job not claimed") };
    assert_eq!(first.attempts, 1);
    assert!(matches!(store.claim(&job.job_id, LEASE).await.unwrap(), Claim::Busy(_)), "a live lease was taken over");
    // The holder renews with a lease that is already over, as if it had died long ago.
    assert!(store.set_progress(&job.job_id, first.claim, 0.1, Duration::ZERO).await.unwrap());
    let expired = tokio::time::Instant::now() + Duration::from_millis(5);
    while tokio::time::Instant::now() < expired {
        tokio::task::yield_now().await;
    }
    let Claim::Claimed(second) = store.claim(&job.job_id, LEASE).await.unwrap() else { panic!("expired lease not taken over") };
    assert_eq!(second.attempts, 2);
    assert!(store.succeed(&job.job_id, Some(second.claim), "mp3", 1, 1).await.unwrap());
    assert!(matches!(store.claim(&job.job_id, LEASE).await.unwrap(), Claim::Finished(_)));
}

async fn oldest_first_and_requeue(store: &dyn JobStore) {
    let a = store.create(&new_job("o", None)).await.unwrap();
    let b = store.create(&new_job("o", None)).await.unwrap();
    assert_eq!(store.claim_next(LEASE).await.unwrap().unwrap().job_id, a.job_id);
    assert_eq!(store.requeue_all_processing().await.unwrap(), 1);
    let again = store.claim_next(LEASE).await.unwrap().unwrap();
    assert_eq!((again.job_id.as_str(), again.attempts), (a.job_id.as_str(), 2));
    assert!(store.requeue(&a.job_id, again.claim).await.unwrap());
    let resumed = store.claim_next(LEASE).await.unwrap().unwrap();
    // The start-up requeue counted the run as crashed; the requeue gave its attempt back.
    assert_eq!((resumed.job_id.as_str(), resumed.attempts), (a.job_id.as_str(), 2), "a re-queued run burnt an attempt");
    assert!(resumed.claim > again.claim);
    assert_eq!(store.claim_next(LEASE).await.unwrap().unwrap().job_id, b.job_id);
    let listed: Vec<String> = store.list_for_owner("o", FIRST_PAGE).await.unwrap().jobs.into_iter().map(|j| j.job_id).collect();
    assert_eq!(listed, [b.job_id, a.job_id], "newest first");
    assert!(store.list_for_owner("someone else", FIRST_PAGE).await.unwrap().jobs.is_empty());
}

const FIRST_PAGE: PageRequest = PageRequest { before: None, limit: 50 };

/// Reads every page of `owner`'s jobs, `limit` at a time; before reading each page after the
/// first, creates a job of `owner` (`insert`) and one of someone else.
async fn all_pages(store: &dyn JobStore, owner: &str, limit: usize, insert: bool) -> Vec<Vec<String>> {
    let (mut pages, mut before) = (Vec::new(), None);
    loop {
        let page = store.list_for_owner(owner, PageRequest { before, limit }).await.unwrap();
        assert!(page.jobs.len() <= limit, "a page longer than its limit");
        pages.push(page.jobs.into_iter().map(|j| j.job_id).collect());
        let Some(next) = page.next else { return pages };
        before = Some(next);
        if insert {
            store.create(&new_job(owner, None)).await.unwrap();
            store.create(&new_job("stranger", None)).await.unwrap();
        }
    }
}

async fn pages_cover_every_job_once(store: &dyn JobStore) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(store.create(&new_job("o", None)).await.unwrap().job_id);
        if i % 2 == 0 {
            store.create(&new_job("stranger", None)).await.unwrap();
        }
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let pages = all_pages(store, "o", 3, false).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages.concat(), newest_first);
    // A limit that divides the count: the last full page says there is no next.
    assert_eq!(all_pages(store, "o", 7, false).await, std::slice::from_ref(&newest_first));
    assert_eq!(all_pages(store, "o", 1, false).await.len(), 7);

    // Jobs created while a client pages are newer: no page shifts, nothing repeats or goes missing.
    let pages = all_pages(store, "o", 2, true).await;
    assert_eq!(pages.concat(), newest_first, "pages read while jobs were created");
    let now = store.list_for_owner("o", FIRST_PAGE).await.unwrap();
    assert_eq!((now.jobs.len(), now.next), (7 + 3, None), "the three created meanwhile are on a fresh first page");
    assert!(store.list_for_owner("nobody", PageRequest { before: None, limit: 3 }).await.unwrap().jobs.is_empty());
}

async fn idempotency_keys_are_per_owner(store: &dyn JobStore) {
    let first = store.create(&new_job("o", Some("k"))).await.unwrap();
    assert!(matches!(store.create(&new_job("o", Some("k"))).await, Err(JobStoreError::Duplicate)));
    assert_eq!(store.find_by_idempotency_key("o", "k").await.unwrap().unwrap().job_id, first.job_id);
    store.create(&new_job("p", Some("k"))).await.unwrap();
    assert!(store.find_by_idempotency_key("o", "other").await.unwrap().is_none());
}

async fn a_videos_jobs_are_found(store: &dyn JobStore) {
    let first = store.create(&new_job("o", None)).await.unwrap();
    store.create(&new_job("o", None)).await.unwrap();
    let again = store.create(&NewJob { video_id: first.video_id.clone(), ..new_job("o", None) }).await.unwrap();
    let found: Vec<String> = store.for_video(&first.video_id).await.unwrap().into_iter().map(|j| j.job_id).collect();
    assert_eq!(found, [first.job_id, again.job_id], "both of the video's jobs, oldest first, and no other");
    assert!(store.for_video("no-such-video").await.unwrap().is_empty());
}

async fn active_jobs_are_counted_per_owner(store: &dyn JobStore) {
    assert_eq!(store.count_active("o").await.unwrap(), 0);
    let mut jobs = Vec::new();
    for _ in 0..4 {
        jobs.push(store.create(&new_job("o", None)).await.unwrap());
    }
    store.create(&new_job("p", None)).await.unwrap();
    assert_eq!(store.count_active("o").await.unwrap(), 4, "four queued");
    let Claim::Claimed(claimed) = store.claim(&jobs[0].job_id, LEASE).await.unwrap() else { panic!("queued job not claimed") };
    assert_eq!(store.count_active("o").await.unwrap(), 4, "processing counts too");
    assert!(store.succeed(&jobs[0].job_id, Some(claimed.claim), "mp3", 1, 1).await.unwrap());
    assert!(store.fail(&jobs[1].job_id, None, &JobError { code: "x".into(), message: "y".into() }).await.unwrap());
    assert_eq!(store.count_active("o").await.unwrap(), 2, "finished jobs do not count");
    assert_eq!(store.count_active("p").await.unwrap(), 1);
    assert_eq!(store.count_active("nobody").await.unwrap(), 0);
}

async fn concurrent_claims_never_share_a_job(store: Arc<dyn JobStore>) {
    for _ in 0..20 {
        store.create(&new_job("o", None)).await.unwrap();
    }
    let claimers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = store.claim_next(LEASE).await.unwrap() {
                    mine.push(job.job_id);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (20, 20));
}

/// A converter that stalled past its lease (the first claim) wakes up after a second claim
/// took the job: everything it writes under its old claim changes nothing.
async fn writes_under_a_stale_claim_change_nothing(store: &dyn JobStore) {
    let job = store.create(&new_job("o", None)).await.unwrap();
    let Claim::Claimed(stale) = store.claim(&job.job_id, Duration::ZERO).await.unwrap() else { panic!("queued job not claimed") };
    let expired = tokio::time::Instant::now() + Duration::from_millis(5);
    while tokio::time::Instant::now() < expired {
        tokio::task::yield_now().await;
    }
    let Claim::Claimed(current) = store.claim(&job.job_id, LEASE).await.unwrap() else { panic!("expired lease not taken over") };
    assert!(current.claim > stale.claim, "claims move on: {} then {}", stale.claim, current.claim);
    assert!(store.set_progress(&job.job_id, current.claim, 0.25, LEASE).await.unwrap());
    let before = store.get(&job.job_id).await.unwrap().unwrap();

    let error = JobError { code: "x".into(), message: "y".into() };
    assert!(!store.set_progress(&job.job_id, stale.claim, 0.9, LEASE).await.unwrap(), "stale progress written");
    assert!(!store.fail(&job.job_id, Some(stale.claim), &error).await.unwrap(), "stale failure written");
    assert!(!store.requeue(&job.job_id, stale.claim).await.unwrap(), "stale requeue written");
    assert!(!store.succeed(&job.job_id, Some(stale.claim), "stale", 1, 1).await.unwrap(), "stale success written");
    let after = store.get(&job.job_id).await.unwrap().unwrap();
    assert_eq!(
        (after.status, after.progress, after.mp3_id.as_deref(), after.claim, after.updated_at),
        (before.status, before.progress, before.mp3_id.as_deref(), before.claim, before.updated_at),
        "a stale claim changed the job"
    );
    assert!(store.succeed(&job.job_id, Some(current.claim), "current", 1, 1).await.unwrap());
    assert_eq!(store.get(&job.job_id).await.unwrap().unwrap().mp3_id.as_deref(), Some("current"));
}

/// Polls `take_unannounced(quiet)` until it returns something (within a deadline).
async fn first_unannounced(store: &dyn JobStore, quiet: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let due = store.take_unannounced(quiet, 10).await.unwrap();
        if !due.is_empty() {
            return due.into_iter().map(|job| job.job_id).collect();
        }
        assert!(tokio::time::Instant::now() < deadline, "no job became due for a re-drive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Only a queued job quiet for the delay (never announced, or re-queued with no redelivery
/// coming) or one abandoned under an expired lease is due for a re-drive, and taking it
/// makes it quiet again.
async fn only_quiet_queued_jobs_are_redriven(store: &dyn JobStore) {
    let quiet = Duration::from_millis(300);
    let unannounced = store.create(&new_job("o", None)).await.unwrap();
    assert!(store.take_unannounced(quiet, 10).await.unwrap().is_empty(), "a fresh job is due at once");
    let requeued = store.create(&new_job("o", None)).await.unwrap();
    let Claim::Claimed(r) = store.claim(&requeued.job_id, LEASE).await.unwrap() else { panic!("not claimed") };
    assert!(store.requeue(&requeued.job_id, r.claim).await.unwrap());
    let finished = store.create(&new_job("o", None)).await.unwrap();
    let Claim::Claimed(f) = store.claim(&finished.job_id, LEASE).await.unwrap() else { panic!("not claimed") };
    assert!(store.succeed(&finished.job_id, Some(f.claim), "mp3", 1, 1).await.unwrap());
    let processing = store.create(&new_job("o", None)).await.unwrap();
    let Claim::Claimed(_) = store.claim(&processing.job_id, LEASE).await.unwrap() else { panic!("not claimed") };
    let abandoned = store.create(&new_job("o", None)).await.unwrap();
    let Claim::Claimed(_) = store.claim(&abandoned.job_id, Duration::ZERO).await.unwrap() else { panic!("not claimed") };

    let mut expected = vec![unannounced.job_id.clone(), requeued.job_id.clone(), abandoned.job_id.clone()];
    expected.sort();
    let mut due = Vec::new();
    // The three go quiet moments apart.
    while due.len() < expected.len() {
        due.extend(first_unannounced(store, quiet).await);
    }
    due.sort();
    assert_eq!(due, expected, "due: the queued jobs and the abandoned one only");
    let Claim::Claimed(_) = store.claim(&abandoned.job_id, LEASE).await.unwrap() else {
        panic!("a re-driven abandoned job is not claimable")
    };
    assert!(store.take_unannounced(quiet, 10).await.unwrap().is_empty(), "a job taken for a re-drive is due again at once");
    let job = store.get(&unannounced.job_id).await.unwrap().unwrap();
    assert_eq!((job.status, job.claim, job.attempts), (JobStatus::Queued, 0, 0), "a re-drive changed the job's state");
    let again = first_unannounced(store, quiet).await;
    assert!(
        again.contains(&unannounced.job_id) || first_unannounced(store, quiet).await.contains(&unannounced.job_id),
        "not due again after another quiet period"
    );
}

async fn sqlite_store() -> (tempfile::TempDir, Arc<SqliteJobStore>) {
    let dir = tempfile::tempdir().unwrap();
    let pool = platform::sqlite::open(&dir.path().join("db.sqlite")).await.unwrap();
    (dir, Arc::new(SqliteJobStore::new(pool)))
}

#[tokio::test]
async fn sqlite_lifecycle() {
    let (_dir, store) = sqlite_store().await;
    lifecycle(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_writes_under_a_stale_claim_change_nothing() {
    let (_dir, store) = sqlite_store().await;
    writes_under_a_stale_claim_change_nothing(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_claim_by_id_respects_live_leases() {
    let (_dir, store) = sqlite_store().await;
    claim_by_id_respects_live_leases(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_oldest_first_and_requeue() {
    let (_dir, store) = sqlite_store().await;
    oldest_first_and_requeue(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_idempotency_keys_are_per_owner() {
    let (_dir, store) = sqlite_store().await;
    idempotency_keys_are_per_owner(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_a_videos_jobs_are_found() {
    let (_dir, store) = sqlite_store().await;
    a_videos_jobs_are_found(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_active_jobs_are_counted_per_owner() {
    let (_dir, store) = sqlite_store().await;
    active_jobs_are_counted_per_owner(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_only_quiet_queued_jobs_are_redriven() {
    let (_dir, store) = sqlite_store().await;
    only_quiet_queued_jobs_are_redriven(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_pages_cover_every_job_once() {
    let (_dir, store) = sqlite_store().await;
    pages_cover_every_job_once(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_claims_never_share_a_job() {
    let (_dir, store) = sqlite_store().await;
    concurrent_claims_never_share_a_job(store).await;
}

/// A store on a fresh database of the MongoDB-wire server.
async fn mongo_store() -> (mongodb::Database, Arc<MongoJobStore>) {
    let client = mongodb::Client::with_uri_str(crate::services::url("MP3CONVERT_MONGODB_URL")).await.unwrap();
    let db = client.database(&crate::services::unique("mp3convert_test"));
    (db.clone(), Arc::new(MongoJobStore::open(db).await.unwrap()))
}

#[tokio::test]
async fn mongodb_lifecycle() {
    let (db, store) = mongo_store().await;
    lifecycle(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_pages_cover_every_job_once() {
    let (db, store) = mongo_store().await;
    pages_cover_every_job_once(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_writes_under_a_stale_claim_change_nothing() {
    let (db, store) = mongo_store().await;
    writes_under_a_stale_claim_change_nothing(store.as_ref()).await;
    db.drop().await.unwrap();
}

/// Jobs written before claims had a fencing token are claimed and finished as before.
#[tokio::test]
async fn mongodb_a_job_from_before_fencing_tokens_is_claimed_and_finished() {
    let (db, store) = mongo_store().await;
    let job = store.create(&new_job("o", None)).await.unwrap();
    let raw = db.collection::<mongodb::bson::Document>("jobs");
    raw.update_one(mongodb::bson::doc! { "_id": &job.job_id }, mongodb::bson::doc! { "$unset": { "claim": "" } }).await.unwrap();
    let claimed = store.claim_next(LEASE).await.unwrap().expect("the old job is claimed");
    assert_eq!((claimed.job_id.as_str(), claimed.claim), (job.job_id.as_str(), 1));
    assert!(store.succeed(&job.job_id, Some(claimed.claim), "mp3", 1, 1).await.unwrap());
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_only_quiet_queued_jobs_are_redriven() {
    let (db, store) = mongo_store().await;
    only_quiet_queued_jobs_are_redriven(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_claim_by_id_respects_live_leases() {
    let (db, store) = mongo_store().await;
    claim_by_id_respects_live_leases(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_oldest_first_and_requeue() {
    let (db, store) = mongo_store().await;
    oldest_first_and_requeue(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_idempotency_keys_are_per_owner() {
    let (db, store) = mongo_store().await;
    idempotency_keys_are_per_owner(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_a_videos_jobs_are_found() {
    let (db, store) = mongo_store().await;
    a_videos_jobs_are_found(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_active_jobs_are_counted_per_owner() {
    let (db, store) = mongo_store().await;
    active_jobs_are_counted_per_owner(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongodb_concurrent_claims_never_share_a_job() {
    let (db, store) = mongo_store().await;
    concurrent_claims_never_share_a_job(store).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_a_job_id_is_stored_once() {
    let (db, store) = mongo_store().await;
    let job = new_job("o", None);
    store.create(&job).await.unwrap();
    assert!(matches!(store.create(&job).await, Err(JobStoreError::Duplicate)));
    db.drop().await.unwrap();
}

/// Every function that uses the job store opens it at start-up, on the same database, and
/// several may start at once (FerretDB drops the connection on a duplicate index creation).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongodb_opens_again_and_concurrently_on_one_database() {
    let (db, first) = mongo_store().await;
    let job = first.create(&new_job("owner", Some("key"))).await.unwrap();
    let again = MongoJobStore::open(db.clone()).await.expect("a second open");
    let opens = (0..3).map(|_| tokio::spawn(MongoJobStore::open(db.clone())));
    for open in opens {
        open.await.unwrap().expect("a concurrent open");
    }
    assert_eq!(again.get(&job.job_id).await.unwrap().map(|j| j.job_id), Some(job.job_id.clone()));
    let duplicate = again.create(&NewJob { job_id: platform::new_id(), ..new_job("owner", Some("key")) }).await;
    assert!(matches!(duplicate, Err(platform::job_store::JobStoreError::Duplicate)), "the idempotency index still holds");
    let fresh = db.client().database(&crate::services::unique("mp3convert_test"));
    let racing = (0..3).map(|_| tokio::spawn(MongoJobStore::open(fresh.clone())));
    for open in racing {
        open.await.unwrap().expect("racing first opens");
    }
    // An index made earlier under another name (an older version's) counts as there.
    let older = db.client().database(&crate::services::unique("mp3convert_test"));
    let options = mongodb::options::IndexOptions::builder().name("legacy".to_owned()).unique(true).sparse(true).build();
    let legacy = mongodb::IndexModel::builder().keys(mongodb::bson::doc! { "idem": 1 }).options(options).build();
    older.collection::<mongodb::bson::Document>("jobs").create_index(legacy).await.unwrap();
    MongoJobStore::open(older.clone()).await.expect("an open beside a differently named index");
    db.drop().await.unwrap();
    fresh.drop().await.unwrap();
    older.drop().await.unwrap();
}

/// The claim tokens of `job_id` in `job_claims`.
async fn tokens(db: &mongodb::Database, job_id: &str) -> u64 {
    let claims = db.collection::<mongodb::bson::Document>("job_claims");
    claims.count_documents(mongodb::bson::doc! { "_id": { "$in": [format!("{job_id}#1"), format!("{job_id}#2")] } }).await.unwrap()
}

/// A claimer that died between inserting its token and counting the attempt left the token
/// behind: every later claim of that attempt hit the duplicate, and the queue stopped.
#[tokio::test]
async fn mongodb_an_abandoned_claim_token_does_not_wedge_the_queue() {
    let (db, store) = mongo_store().await;
    let job = store.create(&new_job("o", None)).await.unwrap();
    let claims = db.collection::<mongodb::bson::Document>("job_claims");
    let long_ago = mongodb::bson::DateTime::now().timestamp_millis() - 2 * LEASE.as_millis() as i64;
    claims.insert_one(mongodb::bson::doc! { "_id": format!("{}#1", job.job_id), "job": &job.job_id, "at": long_ago }).await.unwrap();

    let claimed = store.claim_next(LEASE).await.unwrap().expect("the job is claimed despite the old token");
    assert_eq!((claimed.job_id.as_str(), claimed.attempts), (job.job_id.as_str(), 1));
    assert!(store.succeed(&job.job_id, Some(claimed.claim), "mp3", 1, 1).await.unwrap());
    assert_eq!(tokens(&db, &job.job_id).await, 0, "a finished job's tokens are deleted");

    // A fresh token is a live claimer's: it is respected.
    let live = store.create(&new_job("o", None)).await.unwrap();
    let now = mongodb::bson::DateTime::now().timestamp_millis();
    claims.insert_one(mongodb::bson::doc! { "_id": format!("{}#1", live.job_id), "job": &live.job_id, "at": now }).await.unwrap();
    assert!(!matches!(store.claim(&live.job_id, LEASE).await, Ok(Claim::Claimed(_))), "a live claim was taken over");
    db.drop().await.unwrap();
}

/// One job document that does not decode (seen in stop 7) made every claim fail.
#[tokio::test]
async fn mongodb_a_malformed_job_document_is_failed_and_skipped() {
    let (db, store) = mongo_store().await;
    let raw = db.collection::<mongodb::bson::Document>("jobs");
    raw.insert_one(mongodb::bson::doc! { "_id": "broken", "status": "queued", "seq": -1_i64, "attempts": "many" }).await.unwrap();
    let job = store.create(&new_job("o", None)).await.unwrap();

    let claimed = store.claim_next(LEASE).await.unwrap().expect("the good job flows");
    assert_eq!(claimed.job_id, job.job_id);
    let broken = raw.find_one(mongodb::bson::doc! { "_id": "broken" }).await.unwrap().unwrap();
    assert_eq!((broken.get_str("status").unwrap(), broken.get_str("error_code").unwrap()), ("failed", "malformed_job"));
    assert!(store.claim_next(LEASE).await.unwrap().is_none());
    db.drop().await.unwrap();
}
