//! A function binary on AWS Lambda: with `AWS_LAMBDA_RUNTIME_API` set it polls the Lambda
//! Runtime API for invocations instead of listening on a port. Lambda cannot run here, so a
//! stand-in of the Runtime API (its documented HTTP interface: `GET .../invocation/next`,
//! `POST .../invocation/{id}/response`) hands `mp3convert-auth` API Gateway v2 events.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[derive(Clone)]
struct RuntimeApi {
    events: Arc<tokio::sync::Mutex<mpsc::Receiver<(String, Value)>>>,
    responses: mpsc::Sender<(String, Value)>,
    init_errors: Arc<Mutex<Vec<String>>>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, axum::Json<Value>) {
    // Blocks until the test queues an invocation, as the real API does.
    let (id, event) = api.events.lock().await.recv().await.expect("the test ended");
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", "4102444800000".parse().unwrap());
    headers.insert("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:123456789012:function:auth".parse().unwrap());
    (headers, axum::Json(event))
}

async fn response(State(api): State<RuntimeApi>, Path(id): Path<String>, body: axum::body::Bytes) -> axum::http::StatusCode {
    let _ = api.responses.send((id, serde_json::from_slice(&body).unwrap_or(Value::Null))).await;
    axum::http::StatusCode::ACCEPTED
}

fn api_gateway_event(method: &str, path: &str, body: &Value) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "fn", "domainName": "fn.lambda-url.eu-west-1.on.aws", "domainPrefix": "fn",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "req", "routeKey": "$default", "stage": "$default",
            "time": "24/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_500_000_000u64
        },
        "body": body.to_string(), "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_binary_serves_lambda_invocations_when_the_runtime_api_is_set() {
    let (event_tx, event_rx) = mpsc::channel(4);
    let (response_tx, mut response_rx) = mpsc::channel(4);
    let api = RuntimeApi { events: Arc::new(tokio::sync::Mutex::new(event_rx)), responses: response_tx, init_errors: Arc::default() };
    let init_errors = api.init_errors.clone();
    let router = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route(
            "/2018-06-01/runtime/init/error",
            post(move |body: String| {
                let init_errors = init_errors.clone();
                async move { init_errors.lock().unwrap().push(body) }
            }),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = tempfile::tempdir().unwrap();
    let binary = tests::cluster::bin_dir().join("mp3convert-auth");
    let mut child = Command::new(&binary)
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "auth")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/auth")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("MP3CONVERT_DATA_DIR", dir.path())
        .env_remove("MP3CONVERT_MYSQL_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e} (cargo build --workspace --bins)", binary.display()));

    let credentials = json!({"email": "lambda-bin@example.com", "password": "lambda password"});
    event_tx.send(("inv-1".into(), api_gateway_event("POST", "/api/v1/users", &credentials))).await.unwrap();
    event_tx
        .send((
            "inv-2".into(),
            api_gateway_event("POST", "/api/v1/tokens", &json!({"email": "lambda-bin@example.com", "password": "wrong password"})),
        ))
        .await
        .unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let answer = tokio::time::timeout(Duration::from_secs(30), response_rx.recv()).await.expect("an invocation response").unwrap();
        answers.push(answer);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(api.init_errors.lock().unwrap().is_empty(), "init errors: {:?}", api.init_errors.lock().unwrap());

    let (id, created) = &answers[0];
    assert_eq!(id, "inv-1");
    assert_eq!(created["statusCode"], 201, "{created}");
    let body: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["email"], "lambda-bin@example.com");
    let (id, refused) = &answers[1];
    assert_eq!(id, "inv-2");
    assert_eq!(refused["statusCode"], 401, "{refused}");
}
