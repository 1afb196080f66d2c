//! The functions' routers behind AWS Lambda: API Gateway v2 / Function URL events go through
//! lambda_http's own adapter (what `lambda_http::run` uses) into the router, and the
//! responses come back as Lambda responses.

use std::sync::Arc;

use base64::Engine;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use platform::auth::{KeyPair, TokenSigner, TokenVerifier};
use platform::blob_store::fs::FsBlobStore;
use platform::event_bus::memory::MemoryEventBus;
use platform::job_store::sqlite::SqliteJobStore;
use platform::user_store::sqlite::SqliteUserStore;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

/// An API Gateway HTTP API (payload 2.0) / Function URL event.
fn event(method: &str, path: &str, headers: Value, body: Option<(&[u8], bool)>) -> LambdaRequest {
    let (body, base64) = match body {
        Some((bytes, true)) => (Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)), true),
        Some((bytes, false)) => (Value::String(String::from_utf8(bytes.to_vec()).unwrap()), false),
        None => (Value::Null, false),
    };
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "fn", "domainName": "fn.lambda-url.eu-west-1.on.aws", "domainPrefix": "fn",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "24/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_500_000_000u64
        },
        "body": body,
        "isBase64Encoded": base64
    }))
    .expect("a valid API Gateway v2 event")
}

/// Runs one event through lambda_http into `router`; returns the Lambda response as JSON.
async fn invoke(router: &axum::Router, request: LambdaRequest) -> Value {
    let mut adapter = lambda_http::Adapter::from(router.clone());
    let adapter = adapter.ready().await.unwrap();
    let response = adapter.call(LambdaEvent::new(request, Context::default())).await.unwrap();
    serde_json::to_value(response).unwrap()
}

fn body_text(response: &Value) -> String {
    let body = response["body"].as_str().unwrap_or_default();
    if response["isBase64Encoded"] == true {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap()
    } else {
        body.to_owned()
    }
}

struct Functions {
    auth: axum::Router,
    upload: axum::Router,
    _dir: tempfile::TempDir,
}

async fn functions() -> Functions {
    let dir = tempfile::tempdir().unwrap();
    let pool = platform::sqlite::open(&dir.path().join("db")).await.unwrap();
    let keys = KeyPair::generate().unwrap();
    let auth = auth::router(auth::AuthState::new(
        Arc::new(SqliteUserStore::new(pool.clone())),
        Arc::new(TokenSigner::new(&keys.private_pem, "mp3convert", std::time::Duration::from_secs(60)).unwrap()),
        true,
        &platform::config::Limits::default(),
    ));
    let upload = upload::router(upload::UploadState {
        blobs: Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap()),
        jobs: Arc::new(SqliteJobStore::new(pool)),
        events: Arc::new(MemoryEventBus::new()),
        verifier: Arc::new(TokenVerifier::new(&keys.public_pem, "mp3convert").unwrap()),
        max_upload_bytes: 1 << 20,
        quota_bytes: 0,
        max_queued_jobs: 0,
        default_preset: "v2".into(),
        event_source: "/test/upload".into(),
        pending: Default::default(),
    });
    Functions { auth, upload, _dir: dir }
}

#[tokio::test]
async fn sign_up_login_and_upload_through_lambda_events() {
    let f = functions().await;
    let credentials = json!({"email": "lambda@example.com", "password": "lambda-password"}).to_string();
    let created =
        invoke(&f.auth, event("POST", "/api/v1/users", json!({"content-type": "application/json"}), Some((credentials.as_bytes(), false))))
            .await;
    assert_eq!(created["statusCode"], 201, "{created}");
    assert_eq!(serde_json::from_str::<Value>(&body_text(&created)).unwrap()["email"], "lambda@example.com");

    let basic = base64::engine::general_purpose::STANDARD.encode("lambda@example.com:lambda-password");
    let login = invoke(&f.auth, event("POST", "/login", json!({"authorization": format!("Basic {basic}")}), None)).await;
    assert_eq!(login["statusCode"], 200, "{login}");
    let jwt = body_text(&login);
    assert_eq!(jwt.split('.').count(), 3);

    let wrong = base64::engine::general_purpose::STANDARD.encode("lambda@example.com:nope");
    let refused = invoke(&f.auth, event("POST", "/login", json!({"authorization": format!("Basic {wrong}")}), None)).await;
    assert_eq!(refused["statusCode"], 401);

    // A binary body arrives base64-encoded.
    let mut video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    video.extend([0u8; 2000]);
    let headers = json!({"authorization": format!("Bearer {jwt}"), "content-type": "video/mp4"});
    let uploaded = invoke(&f.upload, event("POST", "/api/v1/videos?filename=clip.mp4", headers, Some((&video, true)))).await;
    assert_eq!(uploaded["statusCode"], 202, "{uploaded}");
    let job: Value = serde_json::from_str(&body_text(&uploaded)).unwrap();
    assert_eq!(job["status"], "queued");

    let unauthenticated = invoke(&f.upload, event("GET", "/api/v1/jobs", json!({}), None)).await;
    assert_eq!(unauthenticated["statusCode"], 401);
    assert_eq!(unauthenticated["headers"]["www-authenticate"], "Bearer");
}
