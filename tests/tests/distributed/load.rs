//! 50 uploads at once through the distributed form (5 users × 10, within the per-user
//! limit of queued jobs): every job succeeds, each converted once, one MP3 each. The
//! upload → succeeded latencies are printed (p50/p95), not asserted: speed is measured by
//! `local-dev/bench-load.sh`, not timed in tests.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::cluster::Cluster;
use tests::fixtures;

const USERS: usize = 5;
const UPLOADS_PER_USER: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_uploads_each_convert_once() {
    let cluster = Arc::new(Cluster::start().await);
    let dir = tempfile::tempdir().unwrap();
    let audio = fixtures::audio(dir.path(), "clip.m4a", 10.0);
    let mut users = Vec::new();
    for _ in 0..USERS {
        users.push(Arc::new(cluster.user().await));
    }

    let mut runs = Vec::new();
    for (owner, user) in users.iter().enumerate() {
        for _ in 0..UPLOADS_PER_USER {
            let (cluster, user, audio) = (cluster.clone(), user.clone(), audio.clone());
            runs.push(tokio::spawn(async move {
                let started = Instant::now();
                let response = cluster.upload_raw(&user, &audio).await;
                assert_eq!(response.status(), 202);
                let job_id = response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
                let job = cluster.finished_job(&user, &job_id, Duration::from_secs(600)).await;
                (owner, job, started.elapsed())
            }));
        }
    }
    let mut mp3_ids = HashSet::new();
    let mut latencies = Vec::new();
    let mut last = None;
    for run in runs {
        let (owner, job, latency) = run.await.unwrap();
        last = Some((owner, job["mp3_id"].as_str().unwrap().to_owned()));
        assert_eq!(job["status"], "succeeded", "{job}");
        assert!(mp3_ids.insert(job["mp3_id"].as_str().unwrap().to_owned()), "two jobs name one MP3: {job}");
        latencies.push(latency);
    }
    let jobs = USERS * UPLOADS_PER_USER;
    assert_eq!(mp3_ids.len(), jobs);
    assert_eq!(cluster.gridfs_files("mp3s").await, jobs as u64, "an MP3 stored that no job names");
    // More would be a job converted twice.
    cluster.assert_metric_reaches(&cluster.convert, "mp3convert_jobs_succeeded_total", jobs as u64).await;
    assert_eq!(cluster.metric(&cluster.convert, "mp3convert_jobs_superseded_total").await, 0);
    let out = dir.path().join("clip.mp3");
    let (owner, mp3_id) = last.unwrap();
    cluster.download_mp3(&users[owner], &mp3_id, &out).await;
    fixtures::assert_mp3(&out, fixtures::audio_duration(&audio));

    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    eprintln!("{jobs} concurrent uploads, upload -> succeeded: p50 {:?}, p95 {:?}, max {:?}", at(0.5), at(0.95), at(1.0));
    Arc::into_inner(cluster).expect("every run has ended").stop().await;
}
