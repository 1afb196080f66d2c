//! The MongoDB-compatible server (FerretDB) down for a while in the middle of conversions:
//! every accepted job still succeeds once, no function needs a restart, and no job spends
//! more than two attempts on it. (Here the MongoDB driver's server selection, 30 s, waits
//! the outage out; a longer one cuts runs short, which give their attempts back.)
//!
//! Its own test binary: taking the database away would break the clusters of tests running
//! beside it (cargo runs test binaries one after another).

use std::time::Duration;

use mongodb::bson::doc;
use tests::cluster::Cluster;
use tests::fixtures;

/// Longer than the seed's retry loop would survive, shorter than the Broker's delivery
/// retries (1 + 2 + 4 + 8 + 16 s).
const DOWN_SECS: u32 = 12;

fn restart_ferretdb(down_secs: u32) {
    tests::cluster::services_sh(&["restart-ferretdb", &down_secs.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_mid_conversion_loses_no_job_and_needs_no_function_restart() {
    let mut cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let audio = fixtures::audio(dir.path(), "talk.m4a", 120.0);
    let user = cluster.user().await;

    let mut job_ids = Vec::new();
    for _ in 0..3 {
        let response = cluster.upload(&user, &audio).await;
        assert_eq!(response.status(), 200);
        job_ids.push(response.json::<serde_json::Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned());
    }
    tests::eventually("a conversion under way", Duration::from_secs(60), || async {
        let job = cluster.job(&user, &job_ids[0]).await;
        (job["status"] == "processing" && job["progress"].as_f64().unwrap_or(0.0) > 0.0).then_some(())
    })
    .await;
    restart_ferretdb(DOWN_SECS);

    for job_id in &job_ids {
        let job = cluster.finished_job(&user, job_id, Duration::from_secs(300)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        let stored = cluster.mongo.collection::<mongodb::bson::Document>("jobs").find_one(doc! { "_id": job_id }).await.unwrap().unwrap();
        let attempts = stored.get_i64("attempts").unwrap();
        assert!(attempts <= 2, "job {job_id} used {attempts} attempts for one outage");
    }
    assert_eq!(cluster.gridfs_files("mp3s").await, job_ids.len() as u64, "one MP3 per job");
    let first = cluster.job(&user, &job_ids[0]).await;
    let out = dir.path().join("talk.mp3");
    cluster.download_mp3(&user, first["mp3_id"].as_str().unwrap(), &out).await;
    fixtures::assert_mp3(&out, fixtures::audio_duration(&audio));
    for proc in [&mut cluster.auth, &mut cluster.upload, &mut cluster.convert, &mut cluster.download, &mut cluster.broker] {
        assert!(proc.is_running(), "{} exited", proc.name);
    }
    cluster.stop().await;
}
