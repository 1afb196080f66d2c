//! Share links on the download function in production mode, with its own link key: made and
//! checked there, no database lookup for the signature, no token to download.

use std::time::Duration;

use serde_json::{Value, json};
use tests::cluster::Cluster;
use tests::fixtures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_from_the_download_function_downloads_without_a_token() {
    let cluster = Cluster::start().await;
    let user = cluster.user().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "clip.mp4", 1.0);
    let job: Value = cluster.upload(&user, &video).await.json().await.unwrap();
    let job = cluster.finished_job(&user, job["job_id"].as_str().unwrap(), Duration::from_secs(120)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let mp3_id = job["mp3_id"].as_str().unwrap();

    let links = format!("{}/api/v1/mp3s/{mp3_id}/links", cluster.download.url);
    let made = cluster.client.post(&links).bearer_auth(&user.token).json(&json!({ "expires_in": 600 })).send().await.unwrap();
    assert_eq!(made.status(), 201);
    let url = made.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/api/v1/mp3s/{mp3_id}/shared?", cluster.download.url)), "{url}");

    let shared = cluster.client.get(&url).send().await.unwrap();
    assert_eq!(shared.status(), 200);
    let out = dir.path().join("shared.mp3");
    std::fs::write(&out, shared.bytes().await.unwrap()).unwrap();
    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));
    let tampered = url.replace("expires=", "expires=9");
    assert_eq!(cluster.client.get(&tampered).send().await.unwrap().status(), 403);

    let stranger = cluster.user().await;
    let refused = cluster.client.post(&links).bearer_auth(&stranger.token).json(&json!({ "expires_in": 600 })).send().await.unwrap();
    assert_eq!(refused.status(), 404);
    cluster.stop().await;
}
