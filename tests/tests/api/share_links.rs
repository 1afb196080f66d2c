//! `POST /api/v1/mp3s/{id}/links` and the link it hands out: the MP3 with no token until it
//! expires; a tampered link 403, an expired one 410, another user's MP3 404.

use std::time::Duration;

use serde_json::{Value, json};
use tests::app::{TestApp, TestUser};
use tests::fixtures;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn new_link(app: &TestApp, user: &TestUser, mp3_id: &str, body: Value) -> reqwest::Response {
    app.client.post(app.at(&format!("/api/v1/mp3s/{mp3_id}/links"))).bearer_auth(&user.token).json(&body).send().await.unwrap()
}

/// A link's URL and expiry, from a `201`.
async fn link(app: &TestApp, user: &TestUser, mp3_id: &str, expires_in: u64) -> (String, OffsetDateTime) {
    let response = new_link(app, user, mp3_id, json!({ "expires_in": expires_in })).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let expires_at = OffsetDateTime::parse(body["expires_at"].as_str().unwrap(), &Rfc3339).unwrap();
    (body["url"].as_str().unwrap().to_owned(), expires_at)
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_link_downloads_the_mp3_without_a_token_until_it_expires() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, seconds) = app.converted_mp3(&user).await;

    let before = OffsetDateTime::now_utc();
    let (url, expires_at) = link(&app, &user, &mp3_id, 3600).await;
    assert!(url.starts_with(&app.at(&format!("/api/v1/mp3s/{mp3_id}/shared?"))), "{url}");
    let lives = (expires_at - before).whole_seconds();
    assert!((3599..=3601).contains(&lives), "expires_at is {lives} s away");

    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "audio/mpeg");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"clip.mp3\""));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shared.mp3");
    std::fs::write(&out, response.bytes().await.unwrap()).unwrap();
    fixtures::assert_mp3(&out, seconds);
    let range = app.client.get(&url).header("range", "bytes=0-9").send().await.unwrap();
    assert_eq!((range.status().as_u16(), range.bytes().await.unwrap().len()), (206, 10));

    // A one-second link stops working: 410 from then on.
    let (short, _) = link(&app, &user, &mp3_id, 1).await;
    let gone = tests::eventually("the one-second link to expire", Duration::from_secs(10), || async {
        let response = app.client.get(&short).send().await.unwrap();
        (response.status() != 200).then_some(response)
    })
    .await;
    assert_eq!(error_code(gone).await, (410, "link_expired".to_owned()));
}

#[tokio::test]
async fn a_tampered_link_is_403() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    let (other_id, _) = app.converted_mp3(&user).await;
    let (url, _) = link(&app, &user, &mp3_id, 600).await;
    let (path, query) = url.split_once('?').unwrap();
    let expires: i64 = query.split('&').find_map(|p| p.strip_prefix("expires=")).unwrap().parse().unwrap();
    let sig = query.split('&').find_map(|p| p.strip_prefix("sig=")).unwrap();
    let flipped = format!("{}{}", &sig[..sig.len() - 1], if sig.ends_with('A') { 'B' } else { 'A' });
    for tampered in [
        format!("{path}?expires={}&sig={sig}", expires + 86_400),
        format!("{path}?expires={expires}&sig={flipped}"),
        format!("{path}?expires={expires}"),
        format!("{path}?sig={sig}"),
        format!("{path}?expires=soon&sig={sig}"),
        url.replace(&mp3_id, &other_id),
    ] {
        let response = app.client.get(&tampered).send().await.unwrap();
        assert_eq!(error_code(response).await, (403, "invalid_link".to_owned()), "{tampered}");
    }
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200, "the real link still works");
}

#[tokio::test]
async fn links_are_only_for_the_owner_and_last_from_a_second_to_30_days() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user().await, app.user().await);
    let (mp3_id, _) = app.converted_mp3(&alice).await;
    assert_eq!(error_code(new_link(&app, &bob, &mp3_id, json!({ "expires_in": 60 })).await).await, (404, "not_found".to_owned()));
    assert_eq!(new_link(&app, &alice, "nope", json!({ "expires_in": 60 })).await.status(), 404);
    let anonymous =
        app.client.post(app.at(&format!("/api/v1/mp3s/{mp3_id}/links"))).json(&json!({ "expires_in": 60 })).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    for expires_in in [json!(0), json!(30 * 24 * 3600 + 1)] {
        let response = new_link(&app, &alice, &mp3_id, json!({ "expires_in": expires_in })).await;
        assert_eq!(error_code(response).await, (400, "invalid_expires_in".to_owned()), "{expires_in}");
    }
    for body in [json!({}), json!({ "expires_in": -5 }), json!({ "expires_in": "soon" })] {
        let response = new_link(&app, &alice, &mp3_id, body.clone()).await;
        assert_eq!(error_code(response).await.1, "invalid_json", "{body}");
    }
    link(&app, &alice, &mp3_id, 30 * 24 * 3600).await;
}

#[tokio::test]
async fn a_deleted_mp3_s_link_is_404() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    let (url, _) = link(&app, &user, &mp3_id, 600).await;
    let deleted = app.client.delete(app.at(&format!("/api/v1/mp3s/{mp3_id}"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn the_public_url_is_the_links_base() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_PUBLIC_URL", "https://mp3.example.com/")]).await;
    let user = app.user().await;
    let (mp3_id, _) = app.converted_mp3(&user).await;
    let (url, _) = link(&app, &user, &mp3_id, 60).await;
    assert!(url.starts_with(&format!("https://mp3.example.com/api/v1/mp3s/{mp3_id}/shared?expires=")), "{url}");
    // The same link on this server's own address works: the signature is over the id and expiry.
    let local = url.replace("https://mp3.example.com", &app.url);
    assert_eq!(app.client.get(&local).send().await.unwrap().status(), 200);
}
