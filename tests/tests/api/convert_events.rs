//! The convert function's CloudEvents entry point (`POST /`), as a Knative Trigger calls it.

use std::sync::Arc;

use bytes::Bytes;
use convert::ConvertState;
use futures_util::stream;
use platform::blob_store::fs::FsBlobStore;
use platform::blob_store::{BlobMeta, BlobStore, Bucket};
use platform::event_bus::Event;
use platform::event_bus::memory::MemoryEventBus;
use platform::event_bus::signature::{EXTENSION, EventKey};
use platform::job_store::JobStore;
use platform::job_store::sqlite::SqliteJobStore;
use serde_json::{Value, json};
use tests::fixtures;

struct ConvertApp {
    url: String,
    blobs: Arc<FsBlobStore>,
    jobs: Arc<SqliteJobStore>,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl ConvertApp {
    async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
        let jobs = Arc::new(SqliteJobStore::new(platform::sqlite::open(&dir.path().join("db")).await.unwrap()));
        let state = ConvertState {
            blobs: blobs.clone(),
            jobs: jobs.clone(),
            events: Arc::new(MemoryEventBus::new()),
            event_source: "/test/convert".into(),
            event_key: Some(key()),
            lease: std::time::Duration::from_secs(60),
            sandbox: Some(media::isolate::Sandbox::new(tests::process::binary(), 64 << 20, std::time::Duration::from_secs(60))),
            max_duration: media::DEFAULT_MAX_DURATION,
            encode_threads: 0,
            stopping: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, convert::router(state)).await });
        Self { url, blobs, jobs, dir, client: reqwest::Client::new() }
    }

    /// Stores `bytes` as a video owned by `owner` and returns its id.
    async fn video(&self, owner: &str, bytes: Vec<u8>) -> String {
        let id = platform::new_id();
        let meta = BlobMeta {
            owner_id: owner.into(),
            content_type: "video/mp4".into(),
            filename: "film.mp4".into(),
            video_id: None,
            job_id: None,
        };
        let data = Box::pin(stream::iter([Ok(Bytes::from(bytes))]));
        self.blobs.put(Bucket::Videos, &id, meta, data, u64::MAX).await.unwrap();
        id
    }

    /// Delivers a `video.uploaded` event in binary mode, as the RabbitMQ Broker's dispatcher does.
    async fn deliver_binary(&self, event_id: &str, data: &Value) -> reqwest::Response {
        self.deliver_signed(event_id, data, None).await
    }

    /// The same, with `signature` as the `mp3convertsig` extension.
    async fn deliver_signed(&self, event_id: &str, data: &Value, signature: Option<String>) -> reqwest::Response {
        let mut request = self.client.post(&self.url);
        if let Some(signature) = signature {
            request = request.header(format!("ce-{EXTENSION}"), signature);
        }
        request
            .header("ce-specversion", "1.0")
            .header("ce-id", event_id)
            .header("ce-source", "/other/system")
            .header("ce-type", "mp3convert.video.uploaded")
            .header("content-type", "application/json")
            .body(data.to_string())
            .send()
            .await
            .unwrap()
    }

    fn mp3_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("blobs/mp3s"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".json"))
            .count()
    }
}

/// The key the converter signs its replies and checks signed deliveries with.
fn key() -> EventKey {
    EventKey::new(&"c".repeat(40)).unwrap()
}

fn uploaded(video_id: &str) -> Value {
    json!({"video_id": video_id, "owner_id": "owner-1", "filename": "film.mp4", "preset": "v2"})
}

#[tokio::test]
async fn a_binary_mode_event_is_converted_and_answered_with_mp3_converted() {
    let app = ConvertApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "film.mp4", 1.0);
    let video_id = app.video("owner-1", std::fs::read(&video).unwrap()).await;

    let response = app.deliver_binary("evt-1", &uploaded(&video_id)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["ce-type"], "mp3convert.mp3.converted");
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["video_id"], video_id.as_str());
    assert_eq!(reply["owner_id"], "owner-1");
    assert!(reply["duration_ms"].as_u64().is_some_and(|ms| (950..=1100).contains(&ms)), "{reply}");

    let mp3 = dir.path().join("out.mp3");
    let info = app.blobs.stat(Bucket::Mp3s, reply["mp3_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(info.size, reply["bytes"].as_u64().unwrap());
    assert_eq!((info.meta.video_id.as_deref(), info.meta.owner_id.as_str()), (Some(video_id.as_str()), "owner-1"));
    std::fs::copy(app.dir.path().join("blobs/mp3s").join(reply["mp3_id"].as_str().unwrap()), &mp3).unwrap();
    fixtures::assert_mp3(&mp3, fixtures::audio_duration(&video));
}

#[tokio::test]
async fn a_structured_mode_event_is_accepted_too() {
    let app = ConvertApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let video_id = app.video("owner-1", std::fs::read(fixtures::video(dir.path(), "film.mp4", 0.5)).unwrap()).await;
    let event = json!({
        "specversion": "1.0", "id": "evt-s", "source": "/other/system", "type": "mp3convert.video.uploaded",
        "datacontenttype": "application/json", "data": uploaded(&video_id),
    });
    let response =
        app.client.post(&app.url).header("content-type", "application/cloudevents+json").body(event.to_string()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["ce-type"], "mp3convert.mp3.converted");
}

#[tokio::test]
async fn three_concurrent_deliveries_make_one_mp3_and_the_same_reply() {
    let app = ConvertApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let video_id = app.video("owner-1", std::fs::read(fixtures::audio(dir.path(), "a.m4a", 30.0)).unwrap()).await;
    let data = uploaded(&video_id);

    let deliveries = (0..3).map(|_| app.deliver_binary("evt-dup", &data));
    let responses = futures_util::future::join_all(deliveries).await;
    let mut replies = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        let id = response.headers()["ce-id"].to_str().unwrap().to_owned();
        replies.push((id, response.json::<Value>().await.unwrap()));
    }
    assert!(replies.windows(2).all(|w| w[0] == w[1]), "replies differ: {replies:?}");
    assert_eq!(app.mp3_files(), 1);
    let job = app.jobs.get(replies[0].1["job_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1, "converted more than once");

    // A late redelivery replays the same reply without converting again.
    let again = app.deliver_binary("evt-dup", &data).await;
    assert_eq!(again.headers()["ce-id"].to_str().unwrap(), replies[0].0);
    assert_eq!(app.jobs.get(&job.job_id).await.unwrap().unwrap().attempts, 1);
}

#[tokio::test]
async fn a_corrupt_video_is_a_conversion_failed_reply_not_an_error() {
    let app = ConvertApp::spawn().await;
    let mut junk = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    junk.extend((0..20_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let video_id = app.video("owner-1", junk).await;
    let response = app.deliver_binary("evt-bad", &uploaded(&video_id)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["ce-type"], "mp3convert.conversion.failed");
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["code"], "corrupt_input");
    assert_eq!(app.mp3_files(), 0);
}

#[tokio::test]
async fn a_missing_video_is_a_conversion_failed_reply() {
    let app = ConvertApp::spawn().await;
    let response = app.deliver_binary("evt-missing", &uploaded("0123456789abcdef")).await;
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["code"], "video_not_found");
}

#[tokio::test]
async fn other_event_types_and_bad_data_are_400() {
    let app = ConvertApp::spawn().await;
    let wrong_type = app
        .client
        .post(&app.url)
        .header("ce-specversion", "1.0")
        .header("ce-id", "x")
        .header("ce-source", "/s")
        .header("ce-type", "something.else")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
    let bad_data = app.deliver_binary("evt-x", &json!({"nothing": true})).await;
    assert_eq!(bad_data.status(), 400);
    let not_an_event = app.client.post(&app.url).body("hello").send().await.unwrap();
    assert_eq!(not_an_event.status(), 400);
    let body: Value = not_an_event.json().await.expect("a JSON error, not the SDK's plain text");
    assert_eq!(body["error"]["code"], "invalid_event");
}

#[tokio::test]
async fn an_event_naming_someone_elses_video_fails_owner_mismatch_and_stores_nothing() {
    let app = ConvertApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let video_id = app.video("owner-a", std::fs::read(fixtures::video(dir.path(), "film.mp4", 0.5)).unwrap()).await;

    // owner-1 (the forger) names owner-a's video as theirs.
    let response = app.deliver_binary("evt-forged", &uploaded(&video_id)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["ce-type"], "mp3convert.conversion.failed");
    let reply: Value = response.json().await.unwrap();
    assert_eq!((reply["code"].as_str(), reply["owner_id"].as_str()), (Some("owner_mismatch"), Some("owner-1")), "{reply}");
    assert_eq!(app.mp3_files(), 0, "no MP3 for the forger");
    let job = app.jobs.get(reply["job_id"].as_str().unwrap()).await.unwrap().expect("the job");
    assert_eq!(job.error.map(|e| e.code).as_deref(), Some("owner_mismatch"));
}

/// The delivery's request goes away mid-conversion (the Broker's timeout, a dropped
/// connection): the conversion is cancelled and the job re-queued for the redelivery.
/// Before, it went on detached, renewing its lease, and stored an MP3 for no request.
#[tokio::test]
async fn a_delivery_whose_request_goes_away_cancels_its_conversion_and_requeues_the_job() {
    let app = Arc::new(ConvertApp::spawn().await);
    let dir = tempfile::tempdir().unwrap();
    let video_id = app.video("owner-1", std::fs::read(fixtures::audio(dir.path(), "long.m4a", 600.0)).unwrap()).await;
    let job_id = platform::new_id();
    let mut data = uploaded(&video_id);
    data["job_id"] = json!(job_id);
    let delivery = tokio::spawn({
        let app = app.clone();
        async move { app.deliver_binary("evt-gone", &data).await }
    });
    tests::eventually("the conversion under way", std::time::Duration::from_secs(60), || async {
        let job = app.jobs.get(&job_id).await.unwrap()?;
        (job.status == platform::model::JobStatus::Processing && job.progress > 0.0).then_some(())
    })
    .await;
    delivery.abort();

    let job = tests::eventually("the job back in the queue", std::time::Duration::from_secs(30), || async {
        let job = app.jobs.get(&job_id).await.unwrap()?;
        (job.status == platform::model::JobStatus::Queued).then_some(job)
    })
    .await;
    assert_eq!((job.attempts, job.progress), (0, 0.0), "the cut-short run's attempt is given back");
    assert_eq!(app.mp3_files(), 0, "the cancelled conversion stored an MP3");
}

/// An unsigned delivery is another system's and is converted (the owner check guards it); a
/// signed one must carry the platform's signature. The reply is signed.
#[tokio::test]
async fn a_delivery_signed_with_another_key_is_refused_and_the_reply_is_signed() {
    let app = ConvertApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "film.mp4", 1.0);
    let video_id = app.video("owner-1", std::fs::read(&video).unwrap()).await;
    let data = uploaded(&video_id);
    let mut sent = Event::new("/other/system", "mp3convert.video.uploaded", "", &data);
    sent.id = "evt-forged".into();
    sent.subject = None;
    let forged = EventKey::new(&"f".repeat(40)).unwrap().sign(&sent);

    let response = app.deliver_signed("evt-forged", &data, Some(forged)).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "invalid_signature");
    assert_eq!(app.mp3_files(), 0, "a refused delivery converted");

    let response = app.deliver_binary("evt-unsigned", &data).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let mut reply = Event::new(&header("ce-source").unwrap(), &header("ce-type").unwrap(), "", &Value::Null);
    reply.id = header("ce-id").unwrap();
    reply.subject = header("ce-subject");
    let signature = header(&format!("ce-{EXTENSION}")).expect("a signed reply");
    reply.data = response.json().await.unwrap();
    assert_eq!(signature, key().sign(&reply), "the reply's signature does not match it");
}
