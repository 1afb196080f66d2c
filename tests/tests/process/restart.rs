use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use tests::fixtures;
use tests::process::Server;

async fn sign_up(client: &reqwest::Client, url: &str) -> String {
    let creds = json!({"email": "restart@example.com", "password": "restart-password"});
    let response = client.post(format!("{url}/api/v1/users")).json(&creds).send().await.unwrap();
    assert!(response.status() == 201 || response.status() == 409);
    let token: Value = client.post(format!("{url}/api/v1/tokens")).json(&creds).send().await.unwrap().json().await.unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

async fn jobs(client: &reqwest::Client, url: &str, token: &str) -> Vec<Value> {
    let list: Value = client.get(format!("{url}/api/v1/jobs")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    list["jobs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn jobs_queued_and_running_at_a_crash_all_succeed_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let client = reqwest::Client::new();
    // Long enough that a conversion is still running when the server is killed.
    let audio = fixtures::audio(dir.path(), "long.m4a", 240.0);
    let seconds = fixtures::audio_duration(&audio);
    let bytes = std::fs::read(&audio).unwrap();

    let server = Server::start(&data, &[("MP3CONVERT_WORKERS", "1")]);
    let token = sign_up(&client, &server.url).await;
    for i in 0..3 {
        let response = client
            .post(format!("{}/api/v1/videos?filename=long{i}.m4a", server.url))
            .bearer_auth(&token)
            .header("content-type", "audio/mp4")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    // One running (with progress) and the others queued: then a crash.
    tests::eventually("a conversion in progress", Duration::from_secs(60), || async {
        let jobs = jobs(&client, &server.url, &token).await;
        let running = jobs.iter().any(|j| j["status"] == "processing" && j["progress"].as_f64().unwrap_or(0.0) > 0.0);
        let queued = jobs.iter().filter(|j| j["status"] == "queued").count();
        (running && queued >= 1).then_some(())
    })
    .await;
    server.kill();

    let server = Server::start(&data, &[("MP3CONVERT_WORKERS", "1")]);
    let done = tests::eventually("every job to finish after the restart", Duration::from_secs(180), || async {
        let jobs = jobs(&client, &server.url, &token).await;
        jobs.iter().all(|j| j["status"] == "succeeded" || j["status"] == "failed").then_some(jobs)
    })
    .await;
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|j| j["status"] == "succeeded"), "{done:?}");
    let mp3_ids: HashSet<&str> = done.iter().map(|j| j["mp3_id"].as_str().unwrap()).collect();
    assert_eq!(mp3_ids.len(), 3);
    let stored = std::fs::read_dir(data.join("blobs/mp3s"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(stored, 3, "one MP3 per job, no more");
    for id in mp3_ids {
        let body = client.get(format!("{}/api/v1/mp3s/{id}", server.url)).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
        let out = dir.path().join(format!("{id}.mp3"));
        std::fs::write(&out, &body).unwrap();
        fixtures::assert_mp3(&out, seconds);
    }
}

#[tokio::test]
async fn sigterm_requeues_the_running_job_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let client = reqwest::Client::new();
    let audio = std::fs::read(fixtures::audio(dir.path(), "long.m4a", 240.0)).unwrap();

    let server = Server::start(&data, &[("MP3CONVERT_WORKERS", "1")]);
    let token = sign_up(&client, &server.url).await;
    let response = client
        .post(format!("{}/api/v1/videos?filename=a.m4a", server.url))
        .bearer_auth(&token)
        .header("content-type", "audio/mp4")
        .body(audio)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    tests::eventually("the conversion to start", Duration::from_secs(60), || async {
        jobs(&client, &server.url, &token).await.iter().any(|j| j["status"] == "processing").then_some(())
    })
    .await;
    let status = server.terminate();
    assert!(status.success(), "mp3convert did not exit cleanly on SIGTERM: {status}");

    let server = Server::start(&data, &[("MP3CONVERT_WORKERS", "1")]);
    let jobs_after = tests::eventually("the re-queued job to succeed", Duration::from_secs(120), || async {
        let jobs = jobs(&client, &server.url, &token).await;
        (jobs[0]["status"] == "succeeded").then_some(jobs)
    })
    .await;
    assert_eq!(jobs_after.len(), 1);
}

/// Every restart cuts the running conversion short (SIGTERM: a deploy, a laptop shut for the
/// night). Such a run gives its attempt back, so more restarts than `MAX_ATTEMPTS` never
/// fail the job `too_many_attempts`: attempts count only runs that may have crashed.
#[tokio::test]
async fn a_job_cut_short_by_more_restarts_than_it_has_attempts_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let client = reqwest::Client::new();
    let audio = fixtures::audio(dir.path(), "long.m4a", 240.0);
    let seconds = fixtures::audio_duration(&audio);

    let mut token = None;
    for restart in 0..=convert::run::MAX_ATTEMPTS {
        let server = Server::start(&data, &[("MP3CONVERT_WORKERS", "1")]);
        let token = match &token {
            Some(token) => token,
            None => {
                let signed_up = sign_up(&client, &server.url).await;
                let response = client
                    .post(format!("{}/api/v1/videos?filename=a.m4a", server.url))
                    .bearer_auth(&signed_up)
                    .header("content-type", "audio/mp4")
                    .body(std::fs::read(&audio).unwrap())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 202);
                token.insert(signed_up)
            }
        };
        let status = tests::eventually(&format!("the conversion to start again (restart {restart})"), Duration::from_secs(60), || async {
            let status = jobs(&client, &server.url, token).await[0]["status"].as_str().unwrap_or_default().to_owned();
            (status != "queued").then_some(status)
        })
        .await;
        assert_eq!(status, "processing", "restart {restart}: {:?}", jobs(&client, &server.url, token).await);
        let status = server.terminate();
        assert!(status.success(), "mp3convert did not exit cleanly on SIGTERM: {status}");
    }

    let server = Server::start(&data, &[("MP3CONVERT_WORKERS", "1")]);
    let token = token.unwrap();
    let job = tests::eventually("the job to finish", Duration::from_secs(120), || async {
        let job = jobs(&client, &server.url, &token).await.remove(0);
        matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
    })
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let body = client
        .get(format!("{}/api/v1/mp3s/{}", server.url, job["mp3_id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let out = dir.path().join("a.mp3");
    std::fs::write(&out, &body).unwrap();
    fixtures::assert_mp3(&out, seconds);
}
