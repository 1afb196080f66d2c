use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tests::app::TestApp;
use tests::fixtures;

fn form_with(parts: &[(&str, Option<&str>, Vec<u8>)]) -> Form {
    parts.iter().fold(Form::new(), |form, (field, file_name, bytes)| {
        let part = Part::bytes(bytes.clone());
        let part = match file_name {
            Some(name) => part.file_name(name.to_string()),
            None => part,
        };
        form.part(field.to_string(), part)
    })
}

#[tokio::test]
async fn seed_upload_answers_the_video_and_job_ids_and_the_job_succeeds() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    let video = std::fs::read(fixtures::video(dir.path(), "clip.mp4", 1.0)).unwrap();

    let response = app
        .client
        .post(app.at("/upload"))
        .bearer_auth(&user.token)
        .multipart(form_with(&[("file", Some("clip.mp4"), video)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let job_id = body["job_id"].as_str().unwrap();
    assert!(body["video_fid"].as_str().is_some_and(|id| !id.is_empty()));

    let job = app.finished_job(&user, job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"], 1.0);
    assert_eq!(job["video_id"], body["video_fid"]);
    assert!(job["mp3_id"].as_str().is_some());
    assert!(job["error"].is_null());
}

#[tokio::test]
async fn an_upload_without_exactly_one_file_is_400_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    let video = std::fs::read(fixtures::video(dir.path(), "clip.mp4", 0.5)).unwrap();

    let none = form_with(&[("note", None, b"just a field".to_vec())]);
    let response = app.client.post(app.at("/upload")).bearer_auth(&user.token).multipart(none).send().await.unwrap();
    assert_eq!(response.status(), 400);

    let two = form_with(&[("a", Some("a.mp4"), video.clone()), ("b", Some("b.mp4"), video)]);
    let response = app.client.post(app.at("/upload")).bearer_auth(&user.token).multipart(two).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_files");
    assert_eq!(app.stored_files("videos"), 0);
}

#[tokio::test]
async fn what_is_clearly_not_media_is_415() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00".to_vec();
    for (name, bytes) in [("notes.txt", b"hello, I am plain text and not a video at all\n".to_vec()), ("pic.png", png)] {
        let response = app
            .client
            .post(app.at("/upload"))
            .bearer_auth(&user.token)
            .multipart(form_with(&[("file", Some(name), bytes)]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{name}");
    }
    let raw_text = app
        .client
        .post(app.at("/api/v1/videos"))
        .bearer_auth(&user.token)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(raw_text.status(), 415);
    assert_eq!(app.stored_files("videos"), 0);
}

#[tokio::test]
async fn an_oversized_upload_is_413_and_leaves_no_file() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_MAX_UPLOAD_BYTES", "100000")]).await;
    let user = app.user().await;
    // Media-looking bytes (an MP4 header) so only the size can be the reason.
    let mut big = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    big.resize(300_000, 7);

    let multipart = app
        .client
        .post(app.at("/upload"))
        .bearer_auth(&user.token)
        .multipart(form_with(&[("file", Some("big.mp4"), big.clone())]))
        .send()
        .await
        .unwrap();
    assert_eq!(multipart.status(), 413);
    let raw = app
        .client
        .post(app.at("/api/v1/videos?filename=big.mp4"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 413);
    // Without a Content-Length the limit is found while streaming.
    let streamed = app
        .client
        .post(app.at("/api/v1/videos?filename=big.mp4"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(unsized_body(big))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
    let body: Value = streamed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(app.stored_files("videos"), 0);
    assert_eq!(app.temp_files(), 0);
}

/// A body stream without a known length.
fn unsized_body(bytes: Vec<u8>) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn a_raw_body_upload_with_a_preset_is_202_and_converts() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    let video = std::fs::read(fixtures::video(dir.path(), "raw.mp4", 1.0)).unwrap();
    let response = app
        .client
        .post(app.at("/api/v1/videos?filename=raw.mp4&preset=cbr128"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(video)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    let job = app.finished_job(&user, body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["preset"], "cbr128");
}

#[tokio::test]
async fn an_unknown_preset_is_422() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app
        .client
        .post(app.at("/api/v1/videos?filename=a.mp4&preset=v11"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_job_and_stores_nothing_new() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let dir = tempfile::tempdir().unwrap();
    let video = std::fs::read(fixtures::video(dir.path(), "same.mp4", 0.5)).unwrap();
    let send = || {
        app.client
            .post(app.at("/api/v1/videos?filename=same.mp4"))
            .bearer_auth(&user.token)
            .header("content-type", "video/mp4")
            .header("idempotency-key", "upload-1")
            .body(video.clone())
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), 202);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["job_id"], second["job_id"]);
    assert_eq!(first["video_id"], second["video_id"]);
    assert_eq!(app.stored_files("videos"), 1);

    // The same key from another user is another upload.
    let other = app.user().await;
    let theirs = app
        .client
        .post(app.at("/api/v1/videos?filename=same.mp4"))
        .bearer_auth(&other.token)
        .header("content-type", "video/mp4")
        .header("idempotency-key", "upload-1")
        .body(video.clone())
        .send()
        .await
        .unwrap();
    let theirs: Value = theirs.json().await.unwrap();
    assert_ne!(theirs["job_id"], first["job_id"]);
}

#[tokio::test]
async fn jobs_are_listed_newest_first_and_only_to_their_owner() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user().await, app.user().await);
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "mine.mp4", 0.5);
    let first: Value = app.upload(&alice, &video).await.json().await.unwrap();
    let second: Value = app.upload(&alice, &video).await.json().await.unwrap();

    let list: Value = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&alice.token).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = list["jobs"].as_array().unwrap().iter().map(|j| j["job_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second["job_id"].as_str().unwrap(), first["job_id"].as_str().unwrap()]);

    let bobs: Value = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&bob.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(bobs["jobs"].as_array().unwrap().len(), 0);
    let peek = app
        .client
        .get(app.at(&format!("/api/v1/jobs/{}", first["job_id"].as_str().unwrap())))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(peek.status(), 404);
    let unknown = app.client.get(app.at("/api/v1/jobs/nope")).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// `GET /api/v1/jobs?limit=N&cursor=C`: pages of the caller's jobs, newest first, with
/// the `next` cursor; bad limits and cursors are 400 with a code.
#[tokio::test]
async fn jobs_are_listed_in_pages() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user().await, app.user().await);
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "mine.mp4", 0.5);
    let mut created = Vec::new();
    for _ in 0..5 {
        let job: Value = app.upload(&alice, &video).await.json().await.unwrap();
        created.push(job["job_id"].as_str().unwrap().to_owned());
    }
    app.upload(&bob, &video).await;
    created.reverse();

    let get = |query: String| {
        let request = app.client.get(app.at(&format!("/api/v1/jobs{query}"))).bearer_auth(&alice.token);
        async move { request.send().await.unwrap() }
    };
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_owned(),
        };
        let page: Value = get(query).await.json().await.unwrap();
        pages += 1;
        seen.extend(page["jobs"].as_array().unwrap().iter().map(|j| j["job_id"].as_str().unwrap().to_owned()));
        match &page["next"] {
            Value::Null => break,
            next => cursor = Some(next.as_str().expect("next is a string cursor").to_owned()),
        }
    }
    assert_eq!((seen, pages), (created.clone(), 3), "three pages of 2, 2 and 1, newest first");

    let all: Value = get(String::new()).await.json().await.unwrap();
    assert_eq!((all["jobs"].as_array().unwrap().len(), &all["next"]), (5, &Value::Null), "the default page holds all five");

    for (query, code) in [
        ("?limit=0", "invalid_limit"),
        ("?limit=201", "invalid_limit"),
        ("?limit=many", "invalid_limit"),
        ("?cursor=abc", "invalid_cursor"),
        ("?cursor=-4", "invalid_cursor"),
    ] {
        let response = get(query.to_owned()).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{query}");
    }
    assert_eq!(get("?limit=200".to_owned()).await.status(), 200);
}

#[tokio::test]
async fn a_video_is_deleted_by_its_owner_only() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user().await, app.user().await);
    let dir = tempfile::tempdir().unwrap();
    let uploaded: Value = app.upload(&alice, &fixtures::video(dir.path(), "v.mp4", 0.5)).await.json().await.unwrap();
    let path = format!("/api/v1/videos/{}", uploaded["video_id"].as_str().unwrap());

    assert_eq!(app.client.delete(app.at(&path)).bearer_auth(&bob.token).send().await.unwrap().status(), 404);
    assert_eq!(app.client.delete(app.at(&path)).bearer_auth(&alice.token).send().await.unwrap().status(), 204);
    assert_eq!(app.client.delete(app.at(&path)).bearer_auth(&alice.token).send().await.unwrap().status(), 404);
    assert_eq!(app.stored_files("videos"), 0);
}

#[tokio::test]
async fn a_corrupt_video_fails_its_job_with_a_code() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let mut junk = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    junk.extend((0..50_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let response = app
        .client
        .post(app.at("/api/v1/videos?filename=junk.mp4"))
        .bearer_auth(&user.token)
        .header("content-type", "video/mp4")
        .body(junk)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    let job = app.finished_job(&user, body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "corrupt_input", "{job}");
    assert!(job["mp3_id"].is_null());
    assert_eq!(app.stored_files("mp3s"), 0);
}
