//! Retention: `MP3CONVERT_MP3_TTL_SECS` and `MP3CONVERT_VIDEO_TTL_SECS` on the all-in-one's
//! timer, and the sweep's rules for videos on the embedded stores.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use platform::blob_store::fs::FsBlobStore;
use platform::blob_store::{BlobMeta, BlobStore, Bucket};
use platform::config::Retention;
use platform::job_store::sqlite::SqliteJobStore;
use platform::job_store::{Claim, JobStore};
use platform::model::{JobError, NewJob};
use serde_json::Value;
use tests::app::TestApp;
use upload::retention::{Sweeper, Swept};

const DEADLINE: Duration = Duration::from_secs(30);

async fn mp3_status(app: &TestApp, token: &str, mp3_id: &str) -> u16 {
    let response = app.client.get(app.at(&format!("/api/v1/mp3s/{mp3_id}"))).bearer_auth(token).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mp3_past_its_ttl_is_deleted_and_its_video_kept() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_MP3_TTL_SECS", "1"), ("MP3CONVERT_SWEEP_SECS", "1")]).await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    assert_eq!(app.stored_files("mp3s"), 1);
    tests::eventually("the sweep to delete the MP3", DEADLINE, || async {
        (mp3_status(&app, &user.token, &mp3_id).await == 404).then_some(())
    })
    .await;
    assert_eq!(app.stored_files("mp3s"), 0, "the MP3's data is gone too");
    // MP3CONVERT_VIDEO_TTL_SECS is 0: the video stays. The job still tells what happened.
    assert_eq!(app.stored_files("videos"), 1);
    let jobs: Value = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&user.token).send().await.unwrap().json().await.unwrap();
    assert_eq!((jobs["jobs"][0]["status"].as_str(), jobs["jobs"][0]["mp3_id"].as_str()), (Some("succeeded"), Some(mp3_id.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_past_its_ttl_is_deleted_and_its_mp3_kept() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_VIDEO_TTL_SECS", "1"), ("MP3CONVERT_SWEEP_SECS", "1")]).await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    tests::eventually("the sweep to delete the video", DEADLINE, || async { (app.stored_files("videos") == 0).then_some(()) }).await;
    assert_eq!(mp3_status(&app, &user.token, &mp3_id).await, 200, "the MP3 is kept");
}

fn bytes(data: &'static [u8]) -> futures_util::stream::BoxStream<'static, std::io::Result<Bytes>> {
    futures_util::stream::iter([Ok(Bytes::from_static(data))]).boxed()
}

fn meta() -> BlobMeta {
    BlobMeta { owner_id: "o".into(), content_type: "video/mp4".into(), filename: "a.mp4".into(), video_id: None, job_id: None }
}

/// Runs sweeps until one deletes something (the TTL has to pass first), returning it.
async fn first_deleting_sweep(sweeper: &Sweeper) -> Swept {
    tests::eventually("a sweep that deletes", DEADLINE, || async {
        let swept = sweeper.run_once().await.unwrap();
        (swept != Swept::default()).then_some(swept)
    })
    .await
}

#[tokio::test]
async fn a_video_stays_while_its_job_runs_and_one_no_job_names_stays_for_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
    let jobs: Arc<dyn JobStore> = Arc::new(SqliteJobStore::new(platform::sqlite::open(&dir.path().join("db.sqlite")).await.unwrap()));
    let ttl = Duration::from_secs(1);
    let retention = Retention { video_ttl: Some(ttl), mp3_ttl: None, sweep_every: Duration::from_secs(60) };
    let sweeper = Sweeper::new(blobs.clone(), jobs.clone(), retention);

    blobs.put(Bucket::Videos, "running", meta(), bytes(b"video one"), 1 << 20).await.unwrap();
    blobs.put(Bucket::Videos, "unclaimed", meta(), bytes(b"video two"), 1 << 20).await.unwrap();
    blobs.put(Bucket::Mp3s, "an_mp3", meta(), bytes(b"mp3"), 1 << 20).await.unwrap();
    let new_job = NewJob {
        job_id: "job1".into(),
        video_id: "running".into(),
        owner_id: "o".into(),
        filename: "a.mp4".into(),
        preset: "v2".into(),
        idempotency_key: None,
    };
    jobs.create(&new_job).await.unwrap();
    let Claim::Claimed(claimed) = jobs.claim("job1", Duration::from_secs(60)).await.unwrap() else { panic!("not claimed") };
    let written = blobs.stat(Bucket::Videos, "running").await.unwrap().written_at;
    tests::eventually("the TTL to pass", DEADLINE, || async { (SystemTime::now() > written + ttl * 2).then_some(()) }).await;
    assert_eq!(sweeper.run_once().await.unwrap(), Swept::default(), "a running job's video, and one in its grace, stay");

    let error = JobError { code: "corrupt_input".into(), message: "bad".into() };
    assert!(jobs.fail("job1", Some(claimed.claim), &error).await.unwrap());
    assert_eq!(sweeper.run_once().await.unwrap(), Swept::default(), "the TTL counts from the job's end");
    let swept = first_deleting_sweep(&sweeper).await;
    assert_eq!(swept, Swept { videos: 1, mp3s: 0, bytes: 9 }, "the failed job's video goes, its TTL after the failure");
    assert!(blobs.stat(Bucket::Videos, "running").await.is_err());
    assert!(blobs.stat(Bucket::Videos, "unclaimed").await.is_ok(), "no job names it: it waits for the grace");

    let sweeper = Sweeper { unclaimed_grace: Duration::ZERO, ..sweeper };
    assert_eq!(sweeper.run_once().await.unwrap(), Swept { videos: 1, mp3s: 0, bytes: 9 });
    assert!(blobs.stat(Bucket::Mp3s, "an_mp3").await.is_ok(), "MP3s have no TTL here");
}
