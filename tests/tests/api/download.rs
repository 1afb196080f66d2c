use tests::app::TestApp;
use tests::fixtures;

#[tokio::test]
async fn the_seed_download_is_an_attachment_named_after_the_video() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, seconds) = app.converted_mp3(&user).await;
    let response = app.client.get(app.at(&format!("/download?fid={mp3_id}"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "audio/mpeg");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"clip.mp3\""), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp3");
    std::fs::write(&out, &bytes).unwrap();
    fixtures::assert_mp3(&out, seconds);
}

#[tokio::test]
async fn the_seed_download_needs_a_fid_and_hides_unknown_ones() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    assert_eq!(app.client.get(app.at("/download")).bearer_auth(&user.token).send().await.unwrap().status(), 400);
    assert_eq!(app.client.get(app.at("/download?fid=")).bearer_auth(&user.token).send().await.unwrap().status(), 400);
    assert_eq!(app.client.get(app.at("/download?fid=nope")).bearer_auth(&user.token).send().await.unwrap().status(), 404);
    assert_eq!(
        app.client.get(app.at("/download?fid=..%2F..%2Fmp3convert.db")).bearer_auth(&user.token).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn another_users_mp3_is_404_everywhere() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user().await, app.user().await);
    let (mp3_id, _) = app.converted_mp3(&alice).await;
    for (method, path) in [
        ("GET", format!("/download?fid={mp3_id}")),
        ("GET", format!("/api/v1/mp3s/{mp3_id}")),
        ("HEAD", format!("/api/v1/mp3s/{mp3_id}")),
        ("DELETE", format!("/api/v1/mp3s/{mp3_id}")),
    ] {
        let response = app.client.request(method.parse().unwrap(), app.at(&path)).bearer_auth(&bob.token).send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    let still_there = app.client.get(app.at(&format!("/api/v1/mp3s/{mp3_id}"))).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(still_there.status(), 200);
}

#[tokio::test]
async fn ranges_are_served_as_206_and_bad_ones_as_416() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    let url = app.at(&format!("/api/v1/mp3s/{mp3_id}"));
    let whole = app.client.get(&url).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let whole = whole.bytes().await.unwrap();
    let size = whole.len();

    let part = app.client.get(&url).bearer_auth(&user.token).header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 10-19/{size}").as_str());
    assert_eq!(part.bytes().await.unwrap(), whole.slice(10..20));

    let tail = app.client.get(&url).bearer_auth(&user.token).header("range", "bytes=-100").send().await.unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), whole.slice(size - 100..));

    let beyond = app.client.get(&url).bearer_auth(&user.token).header("range", format!("bytes={size}-")).send().await.unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(beyond.headers()["content-range"], format!("bytes */{size}").as_str());
}

#[tokio::test]
async fn etag_head_and_if_none_match() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    let url = app.at(&format!("/api/v1/mp3s/{mp3_id}"));
    let head = app.client.head(&url).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let etag = head.headers()["etag"].to_str().unwrap().to_owned();
    let length: usize = head.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert!(length > 1000);
    assert!(head.bytes().await.unwrap().is_empty());

    let cached = app.client.get(&url).bearer_auth(&user.token).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), 304);
    let stale = app.client.get(&url).bearer_auth(&user.token).header("if-none-match", "\"other\"").send().await.unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes().await.unwrap().len(), length);
}

#[tokio::test]
async fn a_deleted_mp3_is_gone() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    let url = app.at(&format!("/api/v1/mp3s/{mp3_id}"));
    assert_eq!(app.client.delete(&url).bearer_auth(&user.token).send().await.unwrap().status(), 204);
    assert_eq!(app.client.get(&url).bearer_auth(&user.token).send().await.unwrap().status(), 404);
    assert_eq!(app.client.delete(&url).bearer_auth(&user.token).send().await.unwrap().status(), 404);
    assert_eq!(app.stored_files("mp3s"), 0);
}
