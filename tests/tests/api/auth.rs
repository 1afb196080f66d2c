use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tests::app::TestApp;

#[tokio::test]
async fn sign_up_answers_201_with_id_and_email() {
    let app = TestApp::spawn().await;
    let response =
        app.client.post(app.at("/api/v1/users")).json(&json!({"email": "a@example.com", "password": "longenough"})).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "a@example.com");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = TestApp::spawn().await;
    let sign_up =
        |email: &'static str| app.client.post(app.at("/api/v1/users")).json(&json!({"email": email, "password": "longenough"})).send();
    assert_eq!(sign_up("b@example.com").await.unwrap().status(), 201);
    let response = sign_up("B@Example.com").await.unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "email_taken");
}

#[tokio::test]
async fn a_bad_email_or_a_short_password_is_422() {
    let app = TestApp::spawn().await;
    for (email, password, code) in [("not-an-email", "longenough", "invalid_email"), ("c@example.com", "short", "invalid_password")] {
        let response = app.client.post(app.at("/api/v1/users")).json(&json!({"email": email, "password": password})).send().await.unwrap();
        assert_eq!(response.status(), 422, "{email} / {password}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
    }
}

#[tokio::test]
async fn closed_sign_up_is_403() {
    let app = TestApp::spawn_with(&[("MP3CONVERT_SIGNUP", "closed")]).await;
    let response =
        app.client.post(app.at("/api/v1/users")).json(&json!({"email": "d@example.com", "password": "longenough"})).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "signup_closed");
}

#[tokio::test]
async fn a_malformed_body_gets_a_json_error() {
    let app = TestApp::spawn().await;
    let response = app.client.post(app.at("/api/v1/users")).header("content-type", "application/json").body("{nope").send().await.unwrap();
    assert!(response.status().is_client_error());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
}

#[tokio::test]
async fn the_password_is_stored_as_an_argon2id_hash() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let db = std::fs::read(app.data_dir.join("mp3convert.db")).unwrap_or_default();
    let wal = std::fs::read(app.data_dir.join("mp3convert.db-wal")).unwrap_or_default();
    let haystack = [db, wal].concat();
    let contains = |needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(user.password.as_bytes()), "the plain password is in the database");
    assert!(contains(b"$argon2id$"), "no argon2id hash in the database");
}

#[tokio::test]
async fn tokens_are_issued_for_the_right_password_only() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response =
        app.client.post(app.at("/api/v1/tokens")).json(&json!({"email": user.email, "password": user.password})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0));
    let jobs = app.client.get(app.at("/api/v1/jobs")).bearer_auth(body["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(jobs.status(), 200);

    for (email, password) in [(user.email.as_str(), "wrong password"), ("nobody@example.com", "whatever1")] {
        let response = app.client.post(app.at("/api/v1/tokens")).json(&json!({"email": email, "password": password})).send().await.unwrap();
        assert_eq!(response.status(), 401, "{email}");
    }
}

#[tokio::test]
async fn seed_login_takes_basic_auth_and_answers_the_bare_jwt() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let response = app.client.post(app.at("/login")).basic_auth(&user.email, Some(&user.password)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let token = response.text().await.unwrap();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    let jobs = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(jobs.status(), 200);

    let wrong = app.client.post(app.at("/login")).basic_auth(&user.email, Some("nope")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = app.client.post(app.at("/login")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Tokens that must all be refused with 401.
fn forged_tokens(app: &TestApp, valid: &str) -> Vec<(&'static str, String)> {
    let claims = json!({"sub": "someone", "email": "x@example.com", "iss": "mp3convert", "iat": now(), "exp": now() + 600});
    let private_pem = std::fs::read(app.data_dir.join("keys/jwt-ed25519.pem")).unwrap();
    let public_pem = std::fs::read(app.data_dir.join("keys/jwt-ed25519.pub.pem")).unwrap();
    let server_key = EncodingKey::from_ed_pem(&private_pem).unwrap();
    let sign = |claims: &Value| jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &server_key).unwrap();

    let alg_none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    // The classic confusion attack: HMAC keyed with the server's public key.
    let hs256 = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&public_pem)).unwrap();
    let mut bad_signature = valid.to_owned();
    let last = bad_signature.pop().unwrap();
    bad_signature.push(if last == 'A' { 'B' } else { 'A' });
    let other_key = platform::auth::KeyPair::generate().unwrap();
    let other =
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &EncodingKey::from_ed_pem(other_key.private_pem.as_bytes()).unwrap())
            .unwrap();
    let expired = sign(&json!({"sub": "someone", "email": "x@example.com", "iss": "mp3convert", "iat": now() - 7200, "exp": now() - 3600}));
    let wrong_issuer = sign(&json!({"sub": "someone", "email": "x@example.com", "iss": "evil", "iat": now(), "exp": now() + 600}));
    vec![
        ("garbage", "not.a.jwt".to_owned()),
        ("alg none", alg_none),
        ("HS256 with the public key", hs256),
        ("bad signature", bad_signature),
        ("another key", other),
        ("expired", expired),
        ("wrong issuer", wrong_issuer),
    ]
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_401() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let sanity = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(sanity.status(), 200);

    for (what, token) in forged_tokens(&app, &user.token) {
        let response = app.client.get(app.at("/api/v1/jobs")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 401, "{what} was accepted");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        let expected = if what == "expired" { "token_expired" } else { "invalid_token" };
        assert_eq!(body["error"]["code"], expected, "{what}");
    }
    let none = app.client.get(app.at("/api/v1/jobs")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let basic = app.client.get(app.at("/api/v1/jobs")).basic_auth(&user.email, Some(&user.password)).send().await.unwrap();
    assert_eq!(basic.status(), 401);
}

#[tokio::test]
async fn every_protected_route_needs_a_token() {
    let app = TestApp::spawn().await;
    let routes = [
        ("POST", "/upload"),
        ("POST", "/api/v1/videos"),
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/x"),
        ("GET", "/download?fid=x"),
        ("GET", "/api/v1/mp3s/x"),
        ("DELETE", "/api/v1/mp3s/x"),
        ("DELETE", "/api/v1/videos/x"),
    ];
    for (method, path) in routes {
        let response = app.client.request(method.parse().unwrap(), app.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
}
