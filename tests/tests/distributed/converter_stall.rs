//! A converter that stalls past its lease (SIGSTOP: a frozen node, a suspended pod) while a
//! redelivery of its event reaches another converter: the other one takes the job over once
//! the lease has run out, and when the stalled one wakes up (SIGCONT) every write it makes
//! under its old claim is refused. One MP3, the job succeeded once, by the second converter.
//! The stalled converter holds mid-way at its `fault-injection` fault point
//! (`MP3CONVERT_FAULT_POINT=mid_conversion`) until it learns it lost the job, so that it is
//! surely frozen mid-conversion however fast the machine converts.

use std::time::Duration;

use mongodb::bson::doc;
use serde_json::json;
use tests::cluster::{Cluster, Options};
use tests::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converter_stalled_past_its_lease_changes_nothing_when_it_wakes() {
    let convert_env = vec![("MP3CONVERT_FAULT_POINT".to_owned(), "mid_conversion".to_owned())];
    let mut cluster = Cluster::start_with(Options { convert_env, ..Options::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    // Long enough to be caught mid-way, quick to make (audio only).
    let audio = fixtures::audio(dir.path(), "lecture.m4a", 300.0);
    let user = cluster.user().await;
    let uploaded: serde_json::Value = cluster.upload(&user, &audio).await.json().await.unwrap();
    let job_id = uploaded["job_id"].as_str().expect("job_id").to_owned();
    let job = tests::eventually("the conversion held a tenth of the way", Duration::from_secs(60), || async {
        let job = cluster.job(&user, &job_id).await;
        (job["status"] == "processing" && job["progress"].as_f64().unwrap_or(0.0) >= 0.1).then_some(job)
    })
    .await;
    cluster.convert.pause();
    // The replica (a copy of the converter) runs straight through.
    cluster.convert.set_env("MP3CONVERT_FAULT_POINT", None);
    let stalled = &cluster.convert;

    // The broker would redeliver after its delivery timeout; here the test does, at once, to
    // a second converter (another pod of the Service).
    let replica = cluster.convert_replica();
    let event = json!({
        "job_id": job_id, "video_id": job["video_id"], "owner_id": user.id,
        "filename": job["filename"], "preset": job["preset"],
    });
    let redelivery = cluster
        .client
        .post(&replica.url)
        .header("ce-specversion", "1.0")
        .header("ce-id", format!("{job_id}.redelivered"))
        .header("ce-source", "/test/redelivery")
        .header("ce-type", "mp3convert.video.uploaded")
        .header("content-type", "application/json")
        .body(event.to_string())
        .send();
    let redelivery = tokio::spawn(redelivery);

    // The replica waits out the stalled converter's lease, then claims the job.
    let jobs = cluster.mongo.collection::<mongodb::bson::Document>("jobs");
    tests::eventually("the replica to take the job over", Duration::from_secs(60), || async {
        let doc = jobs.find_one(doc! { "_id": &job_id }).await.unwrap()?;
        (doc.get_i64("claim").unwrap_or(0) >= 2).then_some(())
    })
    .await;
    stalled.resume();

    let reply = redelivery.await.unwrap().expect("the replica answers");
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
    let job = cluster.finished_job(&user, &job_id, Duration::from_secs(240)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    tests::eventually("the stalled converter to notice it lost the job", Duration::from_secs(60), || async {
        (cluster.metric(stalled, "mp3convert_jobs_superseded_total").await == 1).then_some(())
    })
    .await;
    assert_eq!(cluster.metric(stalled, "mp3convert_jobs_succeeded_total").await, 0, "the stalled converter recorded a success");
    cluster.assert_metric_reaches(&replica, "mp3convert_jobs_succeeded_total", 1).await;

    let mp3s = cluster.mongo.collection::<mongodb::bson::Document>("mp3s.files");
    let files: Vec<String> = {
        let mut cursor = mp3s.find(doc! {}).await.unwrap();
        let mut ids = Vec::new();
        while cursor.advance().await.unwrap() {
            ids.push(cursor.current().get_str("_id").unwrap().to_owned());
        }
        ids
    };
    assert_eq!(files, [job["mp3_id"].as_str().unwrap()], "one MP3, the job's");
    let out = dir.path().join("lecture.mp3");
    cluster.download_mp3(&user, &files[0], &out).await;
    fixtures::assert_mp3(&out, fixtures::audio_duration(&audio));
    drop(replica);
    cluster.stop().await;
}
