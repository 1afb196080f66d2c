use std::time::Duration;

use serde_json::Value;
use tests::cluster::Cluster;
use tests::{curl, fixtures};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_curl_flow_across_the_functions_and_the_broker() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "holiday.mp4", 2.5);
    let user = cluster.user().await;

    // The seed's three commands, each against its own function.
    let (auth, upload, download) = (&cluster.auth.url, &cluster.upload.url, &cluster.download.url);
    let jwt = curl(&["-X", "POST", "-u", &format!("{}:{}", user.email, user.password), &format!("{auth}/login")]);
    let uploaded: Value = serde_json::from_str(&curl(&[
        "-X",
        "POST",
        "-F",
        &format!("file=@{}", video.display()),
        "-H",
        &format!("Authorization: Bearer {jwt}"),
        &format!("{upload}/upload"),
    ]))
    .unwrap();
    let job_id = uploaded["job_id"].as_str().expect("job_id");
    assert!(uploaded["video_fid"].is_string());

    let job = cluster.finished_job(&user, job_id, Duration::from_secs(120)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let mp3_id = job["mp3_id"].as_str().unwrap();
    let out = dir.path().join("out.mp3");
    curl(&["-o", out.to_str().unwrap(), "-H", &format!("Authorization: Bearer {jwt}"), &format!("{download}/download?fid={mp3_id}")]);
    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));

    // The converter's reply was re-published by the broker and reached the job-status Trigger.
    tests::eventually("the mp3.converted reply at upload's /events/job-status", Duration::from_secs(30), || async {
        (cluster.metric(&cluster.upload, "mp3convert_events_received_total").await >= 1).then_some(())
    })
    .await;
    assert_eq!(cluster.gridfs_files("mp3s").await, 1);
    cluster.stop().await;
}
