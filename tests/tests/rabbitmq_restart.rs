//! RabbitMQ restarted while the distributed form is busy: no event it had accepted is lost,
//! and every function and the local broker carry on without being restarted.
//!
//! Its own test binary: restarting RabbitMQ would break the clusters of tests running beside
//! it (cargo runs test binaries one after another).

use std::time::Duration;

use tests::cluster::Cluster;
use tests::fixtures;

fn restart_rabbitmq() {
    tests::cluster::services_sh(&["restart-rabbitmq"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_restart_loses_no_event_and_needs_no_function_restart() {
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

    // After it: uploads work again once the broker has reconnected (until then they are
    // refused with 503 and nothing is kept).
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
