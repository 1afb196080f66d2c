//! Log-in and sign-up throttling: 429 with `Retry-After` and a JSON error, per account and
//! per client address, lifted when the window has passed.

use std::time::Duration;

use serde_json::{Value, json};
use tests::app::TestApp;

async fn token(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client.post(app.at("/api/v1/tokens")).json(&json!({"email": email, "password": password})).send().await.unwrap()
}

async fn seed_login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client.post(app.at("/login")).basic_auth(email, Some(password)).send().await.unwrap()
}

async fn sign_up(app: &TestApp, email: &str) -> reqwest::Response {
    app.client.post(app.at("/api/v1/users")).json(&json!({"email": email, "password": "longenough"})).send().await.unwrap()
}

/// Asserts a 429 with `code` and a `Retry-After` of 1 to `window_secs` seconds.
async fn assert_throttled(response: reqwest::Response, code: &str, window_secs: u64) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=window_secs).contains(&retry_after), "Retry-After: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
}

#[tokio::test]
async fn past_the_failed_log_ins_of_an_account_even_the_right_password_waits_for_the_window() {
    let window = 4;
    let app = TestApp::spawn_with(&[
        ("MP3CONVERT_LOGIN_FAILURES_PER_ACCOUNT", "3"),
        ("MP3CONVERT_THROTTLE_WINDOW_SECS", "4"),
        // Only the account's limit here: the polling below makes many attempts.
        ("MP3CONVERT_LOGINS_PER_ADDRESS", "0"),
    ])
    .await;
    let user = app.user().await;
    let first_failure = std::time::Instant::now();
    for attempt in 1..=3 {
        assert_eq!(token(&app, &user.email, "wrong password").await.status(), 401, "attempt {attempt}");
    }
    assert_throttled(token(&app, &user.email, "wrong password").await, "too_many_attempts", window).await;
    // The right password, and the same email in other case, are refused alike.
    assert_throttled(token(&app, &user.email.to_uppercase(), &user.password).await, "too_many_attempts", window).await;

    tests::eventually("the right password to work again", Duration::from_secs(20), || async {
        let response = token(&app, &user.email, &user.password).await;
        if response.status() == 429 {
            return None;
        }
        assert_eq!(response.status(), 200, "after the window");
        Some(())
    })
    .await;
    assert!(first_failure.elapsed() >= Duration::from_secs(window), "lifted after {:?}", first_failure.elapsed());
}

#[tokio::test]
async fn the_seed_login_and_the_token_route_share_an_accounts_failures() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_LOGIN_FAILURES_PER_ACCOUNT", "2")]).await;
    let user = app.user().await;
    assert_eq!(seed_login(&app, &user.email, "wrong").await.status(), 401);
    assert_eq!(token(&app, &user.email, "wrong password").await.status(), 401);
    assert_throttled(seed_login(&app, &user.email, &user.password).await, "too_many_attempts", 300).await;
    // Another account is not affected, and unknown accounts are counted alike.
    let other = app.user().await;
    assert_eq!(seed_login(&app, &other.email, &other.password).await.status(), 200);
    for _ in 0..2 {
        assert_eq!(token(&app, "nobody@example.com", "whatever1").await.status(), 401);
    }
    assert_throttled(token(&app, "nobody@example.com", "whatever1").await, "too_many_attempts", 300).await;
}

#[tokio::test]
async fn right_passwords_do_not_count_as_failures() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_LOGIN_FAILURES_PER_ACCOUNT", "2")]).await;
    let user = app.user().await;
    for _ in 0..5 {
        assert_eq!(token(&app, &user.email, &user.password).await.status(), 200);
    }
    assert_eq!(token(&app, &user.email, "wrong password").await.status(), 401);
    assert_eq!(token(&app, &user.email, &user.password).await.status(), 200);
}

#[tokio::test]
async fn an_address_is_limited_in_log_in_attempts_whatever_the_account() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_LOGINS_PER_ADDRESS", "4")]).await;
    // The sign-up's token request is the first attempt from this address.
    let user = app.user().await;
    for i in 0..2 {
        assert_eq!(token(&app, &format!("guess{i}@example.com"), "whatever1").await.status(), 401);
    }
    assert_eq!(seed_login(&app, &user.email, &user.password).await.status(), 200, "the fourth attempt");
    assert_throttled(token(&app, &user.email, &user.password).await, "too_many_attempts", 300).await;
    assert_throttled(seed_login(&app, &user.email, &user.password).await, "too_many_attempts", 300).await;
}

#[tokio::test]
async fn an_address_is_limited_in_sign_ups() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_SIGNUPS_PER_ADDRESS", "2")]).await;
    assert_eq!(sign_up(&app, "one@example.com").await.status(), 201);
    assert_eq!(sign_up(&app, "not an email").await.status(), 422, "a refused sign-up counts too");
    assert_throttled(sign_up(&app, "three@example.com").await, "too_many_signups", 300).await;
    // Log-ins are not sign-ups.
    assert_eq!(token(&app, "one@example.com", "longenough").await.status(), 200);
}
