//! The converter killed mid-conversion (SIGKILL: a crash, an OOM kill, a lost node): the
//! broker's delivery fails, it retries per the Broker's delivery spec, the restarted
//! converter takes the job over once the dead one's lease has run out, and the job succeeds
//! once, with one MP3. The converter holds mid-way at its `fault-injection` fault point
//! (`MP3CONVERT_FAULT_POINT=mid_conversion`): a fast machine could otherwise finish the
//! conversion between the test seeing progress and the kill.

use std::time::Duration;

use tests::cluster::{Cluster, Options};
use tests::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converter_killed_mid_conversion_is_redelivered_to_and_the_job_succeeds_once() {
    let convert_env = vec![("MP3CONVERT_FAULT_POINT".to_owned(), "mid_conversion".to_owned())];
    let mut cluster = Cluster::start_with(Options { convert_env, ..Options::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    // Long enough to be caught mid-way, quick to make (audio only).
    let audio = fixtures::audio(dir.path(), "lecture.m4a", 300.0);
    let user = cluster.user().await;
    let uploaded: serde_json::Value = cluster.upload(&user, &audio).await.json().await.unwrap();
    let job_id = uploaded["job_id"].as_str().expect("job_id").to_owned();

    tests::eventually("the conversion held a tenth of the way", Duration::from_secs(60), || async {
        let job = cluster.job(&user, &job_id).await;
        (job["status"] == "processing" && job["progress"].as_f64().unwrap_or(0.0) >= 0.1).then_some(())
    })
    .await;
    cluster.convert.kill();
    let progress_at_kill = cluster.job(&user, &job_id).await["progress"].as_f64().unwrap();
    assert!(progress_at_kill < 1.0, "killed mid-way ({progress_at_kill})");
    cluster.convert.set_env("MP3CONVERT_FAULT_POINT", None);
    cluster.convert.start();

    let job = cluster.finished_job(&user, &job_id, Duration::from_secs(240)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // The new converter got the redelivery and converted the job once.
    assert!(cluster.metric(&cluster.convert, "mp3convert_events_received_total").await >= 1);
    cluster.assert_metric_reaches(&cluster.convert, "mp3convert_jobs_succeeded_total", 1).await;
    assert_eq!(cluster.gridfs_files("mp3s").await, 1);
    let out = dir.path().join("lecture.mp3");
    cluster.download_mp3(&user, job["mp3_id"].as_str().unwrap(), &out).await;
    fixtures::assert_mp3(&out, fixtures::audio_duration(&audio));
    cluster.stop().await;
}
