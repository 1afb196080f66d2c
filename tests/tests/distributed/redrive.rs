//! The re-drive: an upload killed (kill -9) after recording its job and before announcing it
//! leaves a job no event names; the restarted upload function announces it again once it has
//! sat unclaimed for `MP3CONVERT_REDRIVE_AFTER_SECS`, and it converts.
//!
//! The stop between the two steps is the upload's `fault-injection` feature (this crate
//! enables it): `MP3CONVERT_FAULT_POINT=after_job_create`.

use std::time::Duration;

use mongodb::bson::doc;
use tests::cluster::{Cluster, Options};
use tests::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_killed_between_its_job_and_its_event_is_converted_after_the_redrive() {
    let upload_env = vec![
        ("MP3CONVERT_FAULT_POINT".to_owned(), "after_job_create".to_owned()),
        ("MP3CONVERT_REDRIVE_AFTER_SECS".to_owned(), "2".to_owned()),
    ];
    let mut cluster = Cluster::start_with(Options { upload_env, ..Options::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = fixtures::audio(dir.path(), "memo.m4a", 20.0);
    let user = cluster.user().await;

    let client = cluster.client.clone();
    let (url, token, body) =
        (format!("{}/api/v1/videos?filename=memo.m4a", cluster.upload.url), user.token.clone(), std::fs::read(&audio).unwrap());
    let request =
        tokio::spawn(async move { client.post(url).bearer_auth(token).header("content-type", "video/mp4").body(body).send().await });
    let jobs = cluster.mongo.collection::<mongodb::bson::Document>("jobs");
    let job_id = tests::eventually("the upload to record its job", Duration::from_secs(60), || async {
        let doc = jobs.find_one(doc! {}).await.unwrap()?;
        Some(doc.get_str("_id").unwrap().to_owned())
    })
    .await;
    cluster.upload.kill();
    assert!(request.await.unwrap().is_err(), "the killed upload answered");
    assert_eq!(cluster.job_doc_status(&job_id).await, "queued");

    cluster.upload.set_env("MP3CONVERT_FAULT_POINT", None);
    cluster.upload.start();
    cluster.wait_ready(&cluster.upload.url).await;
    let job = cluster.finished_job(&user, &job_id, Duration::from_secs(120)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert!(cluster.metric(&cluster.upload, "mp3convert_jobs_redriven_total").await >= 1, "converted without a re-drive");
    assert_eq!(cluster.gridfs_files("mp3s").await, 1);
    let out = dir.path().join("memo.mp3");
    cluster.download_mp3(&user, job["mp3_id"].as_str().unwrap(), &out).await;
    fixtures::assert_mp3(&out, fixtures::audio_duration(&audio));
    cluster.stop().await;
}
