//! RabbitMQ restarted while the distributed form is busy: no event it had accepted is lost,
//! and every function and the local broker carry on without being restarted.
//!
//! Also: uploads while RabbitMQ is down are accepted and converted after the outage.
//!
//! Its own test binary: restarting RabbitMQ would break the clusters of tests running beside
//! it (cargo runs test binaries one after another).

use std::time::Duration;

use tests::cluster::{Cluster, Options, services_sh};
use tests::fixtures;

/// One outage at a time: the tests here share the one RabbitMQ.
static RABBITMQ: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn restart_rabbitmq() {
    services_sh(&["restart-rabbitmq"]);
}

/// RabbitMQ stopped until [`Outage::end`], or until dropped (a failing test leaves it running).
struct Outage(bool);

impl Outage {
    fn start() -> Self {
        services_sh(&["stop-rabbitmq"]);
        Self(true)
    }

    fn end(mut self) {
        self.0 = false;
        services_sh(&["start-rabbitmq"]);
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        if self.0 {
            services_sh(&["start-rabbitmq"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_restart_loses_no_event_and_needs_no_function_restart() {
    let _alone = RABBITMQ.lock().await;
    let mut cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let audio = fixtures::audio(dir.path(), "talk.m4a", 120.0);
    let user = cluster.user().await;

    // Accepted before the restart: in the queue or being converted when RabbitMQ goes.
    let mut job_ids = Vec::new();
    for _ in 0..3 {
        let response = cluster.upload(&user, &audio).await;
        assert_eq!(response.status(), 200);
        job_ids.push(response.json::<serde_json::Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned());
    }
    restart_rabbitmq();

    // After it: uploads are accepted throughout (one the broker could not take yet is
    // announced again by the re-drive).
    let after = tests::eventually("an upload accepted after the restart", Duration::from_secs(60), || async {
        let response = cluster.upload(&user, &audio).await;
        match response.status().as_u16() {
            200 => Some(response.json::<serde_json::Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned()),
            503 => None,
            other => panic!("upload during recovery answered {other}"),
        }
    })
    .await;
    job_ids.push(after);

    for job_id in &job_ids {
        let job = cluster.finished_job(&user, job_id, Duration::from_secs(300)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    assert_eq!(cluster.gridfs_files("mp3s").await, job_ids.len() as u64);
    for proc in [&mut cluster.auth, &mut cluster.upload, &mut cluster.convert, &mut cluster.download, &mut cluster.broker] {
        assert!(proc.is_running(), "{} exited", proc.name);
    }
    cluster.stop().await;
}

/// RabbitMQ down while users upload: every upload is accepted (202), its job waits queued,
/// and the re-drive announces it once RabbitMQ is back. Each converts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_during_a_rabbitmq_outage_are_accepted_and_converted_after_it() {
    let _alone = RABBITMQ.lock().await;
    let upload_env = vec![("MP3CONVERT_REDRIVE_AFTER_SECS".to_owned(), "2".to_owned())];
    let mut cluster = Cluster::start_with(Options { upload_env, ..Options::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = fixtures::audio(dir.path(), "note.m4a", 10.0);
    let user = cluster.user().await;

    let outage = Outage::start();
    let mut job_ids = Vec::new();
    for _ in 0..10 {
        let response = cluster.upload_raw(&user, &audio).await;
        assert_eq!(response.status(), 202, "an upload during the outage");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "queued", "{body}");
        job_ids.push(body["job_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(cluster.metric(&cluster.upload, "mp3convert_uploads_unannounced_total").await, 10);
    outage.end();

    for job_id in &job_ids {
        let job = cluster.finished_job(&user, job_id, Duration::from_secs(300)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    assert_eq!(cluster.gridfs_files("mp3s").await, 10, "one MP3 per job");
    let out = dir.path().join("note.mp3");
    let last = cluster.job(&user, &job_ids[9]).await;
    cluster.download_mp3(&user, last["mp3_id"].as_str().unwrap(), &out).await;
    fixtures::assert_mp3(&out, fixtures::audio_duration(&audio));
    for proc in [&mut cluster.auth, &mut cluster.upload, &mut cluster.convert, &mut cluster.download, &mut cluster.broker] {
        assert!(proc.is_running(), "{} exited", proc.name);
    }
    cluster.stop().await;
}
