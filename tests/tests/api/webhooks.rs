//! Webhooks on the all-in-one, against receivers served by the test: a job's end is POSTed,
//! signed per Standard Webhooks (checked here by the spec's steps, not the server's code),
//! retried with backoff under one `webhook-id`, given up after the last wait; the routes'
//! statuses, ownership and the refusal of private addresses.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tests::app::{TestApp, TestUser};
use tests::webhooks::{Receiver, assert_signed};
use tests::{eventually, fixtures};

async fn create_webhook(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.client.post(app.at("/api/v1/webhooks")).bearer_auth(&user.token).json(&body).send().await.unwrap()
}

async fn created(app: &TestApp, user: &TestUser, url: &str, events: &[&str]) -> Value {
    let response = create_webhook(app, user, json!({ "url": url, "events": events })).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, user: &TestUser, webhook_id: &str) -> Vec<Value> {
    let url = app.at(&format!("/api/v1/webhooks/{webhook_id}/deliveries"));
    let response = app.client.get(url).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["deliveries"].as_array().unwrap().clone()
}

/// A junk "MP4" that is accepted and fails its conversion (corrupt_input).
fn junk() -> Vec<u8> {
    let mut junk = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    junk.extend((0..50_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    junk
}

#[tokio::test]
async fn a_jobs_end_is_posted_signed_to_the_webhooks_that_asked_for_it() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (succeeded, succeeded_url) = Receiver::start(&[]).await;
    let (failed, failed_url) = Receiver::start(&[]).await;
    let on_success = created(&app, &user, &succeeded_url, &["job.succeeded"]).await;
    let on_failure = created(&app, &user, &failed_url, &["job.failed"]).await;
    let secret = on_success["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() >= 24, "{secret}");
    assert_eq!(on_success["events"], json!(["job.succeeded"]));
    // Another user's webhook hears nothing of this user's jobs.
    let (stranger, stranger_url) = Receiver::start(&[]).await;
    created(&app, &app.user().await, &stranger_url, &["job.succeeded", "job.failed"]).await;

    let dir = tempfile::tempdir().unwrap();
    let upload = app.upload(&user, &fixtures::video(dir.path(), "clip.mp4", 1.0)).await;
    let job_id = upload.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    let job = app.finished_job(&user, &job_id).await;
    assert_eq!(job["status"], "succeeded");

    let request = succeeded.wait_for(1).await.remove(0);
    assert_signed(&request, secret);
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["type"], "job.succeeded");
    assert_eq!(body["data"], app.job(&user, &job_id).await, "the data is the job JSON of GET /api/v1/jobs/{{id}}");
    assert!(time::OffsetDateTime::parse(body["timestamp"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).is_ok());
    let id = request.headers["webhook-id"].to_str().unwrap().to_owned();
    let listed = eventually("the delivery recorded", Duration::from_secs(10), || async {
        let listed = deliveries(&app, &user, on_success["id"].as_str().unwrap()).await;
        (listed.first().is_some_and(|d| d["state"] == "delivered")).then_some(listed)
    })
    .await;
    assert_eq!((listed.len(), listed[0]["id"].as_str(), listed[0]["type"].as_str()), (1, Some(id.as_str()), Some("job.succeeded")));
    assert_eq!(listed[0]["attempts"][0]["status"], 200);

    // A job that fails reaches the job.failed webhook only.
    let response = app
        .client
        .post(app.at("/api/v1/videos?filename=junk.mp4"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(junk())
        .send()
        .await
        .unwrap();
    let failed_job = response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    assert_eq!(app.finished_job(&user, &failed_job).await["status"], "failed");
    let request = failed.wait_for(1).await.remove(0);
    assert_signed(&request, on_failure["secret"].as_str().unwrap());
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!((body["type"].as_str(), body["data"]["error"]["code"].as_str()), (Some("job.failed"), Some("corrupt_input")));
    assert_eq!(succeeded.received().len(), 1, "the job.succeeded webhook heard of the failure");
    assert_eq!(failed.received().len(), 1, "the job.failed webhook heard of the success");
    assert!(stranger.received().is_empty(), "another user's webhook heard of this user's jobs");
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_backoff_under_one_id_until_the_attempts_run_out() {
    // Four waits of 1 s: five attempts at most.
    let app = TestApp::spawn_with(&[("MP3CONVERT_WEBHOOK_BACKOFF_SECS", "1,1,1,1")]).await;
    let user = app.user().await;
    let (recovers, recovers_url) = Receiver::start(&[500, 503]).await;
    let (broken, broken_url) = Receiver::start(&[500, 500, 500, 500, 500, 500, 500]).await;
    let recovering = created(&app, &user, &recovers_url, &["job.succeeded"]).await;
    let never = created(&app, &user, &broken_url, &["job.succeeded"]).await;
    app.converted_mp3(&user).await;

    let attempts = recovers.wait_for(3).await;
    let ids: Vec<&str> = attempts.iter().map(|r| r.headers["webhook-id"].to_str().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the attempts carry different ids: {ids:?}");
    assert!(attempts.iter().all(|r| r.body == attempts[0].body), "the attempts carry different bodies");
    for pair in attempts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(900), "a retry came {gap:?} after the attempt before, not after the 1 s wait");
    }
    for attempt in &attempts {
        assert_signed(attempt, recovering["secret"].as_str().unwrap());
    }
    let listed = eventually("the recovered delivery", Duration::from_secs(10), || async {
        let listed = deliveries(&app, &user, recovering["id"].as_str().unwrap()).await;
        (listed[0]["state"] == "delivered").then_some(listed)
    })
    .await;
    let statuses: Vec<&Value> = listed[0]["attempts"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);

    let listed = eventually("the broken endpoint's delivery to fail", Duration::from_secs(30), || async {
        let listed = deliveries(&app, &user, never["id"].as_str().unwrap()).await;
        (listed[0]["state"] == "failed").then_some(listed)
    })
    .await;
    assert_eq!(listed[0]["attempts"].as_array().unwrap().len(), 5);
    assert!(listed[0]["next_attempt_at"].is_null());
    assert_eq!(broken.received().len(), 5, "attempts after the last wait");
    assert_eq!(recovers.received().len(), 3, "attempts after a 2xx");
}

#[tokio::test]
async fn the_routes_answer_their_statuses_and_keep_each_users_webhooks_private() {
    let app = TestApp::spawn().await;
    let (user, other) = (app.user().await, app.user().await);
    let (_receiver, url) = Receiver::start(&[]).await;

    for (body, code) in [
        (json!({ "url": "ftp://example.com/x", "events": ["job.failed"] }), "invalid_url"),
        (json!({ "url": "not a url", "events": ["job.failed"] }), "invalid_url"),
        (json!({ "url": url, "events": ["job.started"] }), "invalid_events"),
        (json!({ "url": url, "events": [] }), "invalid_events"),
        // Private, link-local and unique-local addresses are refused even in dev mode.
        (json!({ "url": "http://10.0.0.7/hook", "events": ["job.failed"] }), "url_not_allowed"),
        (json!({ "url": "http://169.254.169.254/latest/meta-data", "events": ["job.failed"] }), "url_not_allowed"),
        (json!({ "url": "http://[fd00::1]/hook", "events": ["job.failed"] }), "url_not_allowed"),
        (json!({ "url": "http://192.168.1.1/hook", "events": ["job.failed"] }), "url_not_allowed"),
    ] {
        let response = create_webhook(&app, &user, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], code, "{body}");
    }
    let response = create_webhook(&app, &user, json!({ "url": url })).await;
    assert_eq!(response.status(), 422, "no events");
    let response = app.client.post(app.at("/api/v1/webhooks")).json(&json!({ "url": url, "events": ["job.failed"] })).send().await.unwrap();
    assert_eq!(response.status(), 401);

    let webhook = created(&app, &user, &url, &["job.failed", "job.succeeded", "job.failed"]).await;
    assert_eq!(webhook["events"], json!(["job.failed", "job.succeeded"]), "repeated events are kept once");
    let id = webhook["id"].as_str().unwrap();
    let list: Value = app.client.get(app.at("/api/v1/webhooks")).bearer_auth(&user.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(list["webhooks"][0]["id"], id);
    assert!(list["webhooks"][0].get("secret").is_none(), "the secret is shown only at creation");
    let one = app.client.get(app.at(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(one.status(), 200);
    assert_eq!(one.json::<Value>().await.unwrap()["url"], url);
    assert!(deliveries(&app, &user, id).await.is_empty());

    // Another user sees none of it.
    let theirs: Value = app.client.get(app.at("/api/v1/webhooks")).bearer_auth(&other.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["webhooks"], json!([]));
    for path in [format!("/api/v1/webhooks/{id}"), format!("/api/v1/webhooks/{id}/deliveries")] {
        let response = app.client.get(app.at(&path)).bearer_auth(&other.token).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let response = app.client.delete(app.at(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&other.token).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let response = app.client.delete(app.at(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let response = app.client.get(app.at(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = app.client.delete(app.at(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), 404, "deleted twice");
}
