//! Outcome events and dead letters must be signed by the platform (`mp3convertsig`, keyed
//! by the cluster's `MP3CONVERT_EVENT_KEY`): one posted unsigned, or signed with another key,
//! straight to the upload function's `/events/*` is refused (401) and changes no job; the
//! same event correctly signed is taken.

use platform::event_bus::Event;
use platform::event_bus::signature::{EXTENSION, EventKey};
use serde_json::{Value, json};
use tests::cluster::{Cluster, Options};
use tests::fixtures;

/// Posts `event` in binary mode to the upload function's `path`, with `signature`.
async fn post(cluster: &Cluster, path: &str, event: &Event, signature: Option<String>) -> reqwest::Response {
    let mut request = cluster
        .client
        .post(format!("{}{path}", cluster.upload.url))
        .header("ce-specversion", "1.0")
        .header("ce-id", &event.id)
        .header("ce-source", &event.source)
        .header("ce-type", &event.ty)
        .header("ce-subject", event.subject.clone().unwrap_or_default())
        .header("content-type", "application/json")
        .body(event.data.to_string());
    if let Some(signature) = signature {
        request = request.header(format!("ce-{EXTENSION}"), signature);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_forged_outcome_events_and_dead_letters_change_no_job() {
    // Nothing takes the deliveries: the job stays queued while the test forges its outcome.
    let options = Options { convert_stand_in: Some("http://127.0.0.1:9".to_owned()), ..Options::default() };
    let cluster = Cluster::start_with(options).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = fixtures::audio(dir.path(), "voice.m4a", 5.0);
    let user = cluster.user().await;
    let uploaded: Value = cluster.upload(&user, &audio).await.json().await.unwrap();
    let (job_id, video_id) = (uploaded["job_id"].as_str().unwrap().to_owned(), uploaded["video_fid"].as_str().unwrap().to_owned());

    let failed = Event::new(
        "/mp3convert/convert",
        "mp3convert.conversion.failed",
        &video_id,
        &json!({ "job_id": job_id, "video_id": video_id, "owner_id": user.id, "code": "forged", "message": "forged" }),
    );
    let dead = Event::new(
        "/mp3convert/upload",
        "mp3convert.video.uploaded",
        &video_id,
        &json!({ "job_id": job_id, "video_id": video_id, "owner_id": user.id, "filename": "voice.m4a", "preset": "v2" }),
    );
    let other_key = EventKey::new(&"k".repeat(40)).unwrap();
    let refused = [
        ("/events/job-status", &failed, None),
        ("/events/job-status", &failed, Some(other_key.sign(&failed))),
        ("/events/dead-letter", &dead, None),
        ("/events/dead-letter", &dead, Some(other_key.sign(&dead))),
    ];
    for (path, event, signature) in refused {
        let forged = signature.is_some();
        let response = post(&cluster, path, event, signature).await;
        assert_eq!(response.status(), 401, "{path} (forged signature: {forged})");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_signature", "{body}");
        let job = cluster.job(&user, &job_id).await;
        assert_eq!(job["status"], "queued", "{path} changed the job: {job}");
    }
    assert_eq!(cluster.metric(&cluster.upload, "mp3convert_events_refused_total").await, 4);

    // The platform's own signature is taken.
    let response = post(&cluster, "/events/job-status", &failed, Some(cluster.event_key.sign(&failed))).await;
    assert_eq!(response.status(), 200);
    let job = cluster.job(&user, &job_id).await;
    assert_eq!((job["status"].as_str(), job["error"]["code"].as_str()), (Some("failed"), Some("forged")), "{job}");
    cluster.stop().await;
}
