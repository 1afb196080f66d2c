//! Retention on the upload function with GridFS and the MongoDB job store: `POST
//! /events/sweep` (a PingSource's post on Knative) deletes the files past their TTL and says
//! what it deleted.

use std::time::Duration;

use serde_json::{Value, json};
use tests::cluster::{Cluster, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_deletes_the_files_past_their_ttl_and_says_so() {
    let ttl = vec![("MP3CONVERT_VIDEO_TTL_SECS".to_owned(), "1".to_owned()), ("MP3CONVERT_MP3_TTL_SECS".to_owned(), "1".to_owned())];
    let cluster = Cluster::start_with(Options { upload_env: ttl, ..Options::default() }).await;
    let user = cluster.user().await;
    let job = cluster.converted_job(&user).await;
    let mp3 = format!("{}/api/v1/mp3s/{}", cluster.download.url, job["mp3_id"].as_str().unwrap());
    assert_eq!(cluster.client.get(&mp3).bearer_auth(&user.token).send().await.unwrap().status(), 200);
    assert_eq!((cluster.gridfs_files("videos").await, cluster.gridfs_files("mp3s").await), (1, 1));

    let sweep = format!("{}/events/sweep", cluster.upload.url);
    // The MP3's second counts from when it was written, the video's from its job's end, a
    // moment later: one sweep may take the MP3 and the next the video. The answers add up.
    let total = std::sync::Mutex::new((0, 0, 0));
    let swept = tests::eventually("sweeps that delete both files", Duration::from_secs(30), || async {
        let answer = cluster.client.post(&sweep).json(&json!({})).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let swept: Value = answer.json().await.unwrap();
        let mut total = total.lock().unwrap();
        total.0 += swept["videos"].as_u64().unwrap();
        total.1 += swept["mp3s"].as_u64().unwrap();
        total.2 += swept["bytes"].as_u64().unwrap();
        (total.0 + total.1 >= 2).then_some(*total)
    })
    .await;
    assert_eq!((swept.0, swept.1), (1, 1), "{swept:?}");
    assert!(swept.2 > 1000, "{swept:?}");
    assert_eq!((cluster.gridfs_files("videos").await, cluster.gridfs_files("mp3s").await), (0, 0));
    assert_eq!(cluster.client.get(&mp3).bearer_auth(&user.token).send().await.unwrap().status(), 404);
    assert_eq!(cluster.metric(&cluster.upload, "mp3convert_files_swept_total").await, 2);
    let again: Value = cluster.client.post(&sweep).send().await.unwrap().json().await.unwrap();
    assert_eq!(again, json!({ "videos": 0, "mp3s": 0, "bytes": 0 }));
    cluster.stop().await;
}
