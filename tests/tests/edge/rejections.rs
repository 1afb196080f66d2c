//! Every rejection is the contract's JSON error: unknown routes, wrong methods, malformed
//! queries, paths and multipart bodies, on the all-in-one server.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::Edge;

async fn json_error(response: reqwest::Response) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let (status, headers) = (response.status(), response.headers().clone());
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.unwrap();
    assert_eq!(content_type, "application/json", "{status}: {text:?}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text:?}"));
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error.code: {text}")).to_owned();
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{text}");
    (status, code, headers)
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_malformed_requests_answer_json() {
    let edge = Edge::start(&[]);
    let token = edge.token().await;
    let client = reqwest::Client::new();

    let (status, code, _) = json_error(client.get(edge.url("/no/such/route")).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "not_found"));

    let (status, code, headers) = json_error(client.request(Method::DELETE, edge.url("/login")).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    assert_eq!(headers["allow"], "POST");

    let bad_query = client.post(edge.url("/api/v1/videos?preset=v2&preset=v3")).bearer_auth(&token).body("x").send().await.unwrap();
    let (status, code, _) = json_error(bad_query).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_query"));

    // The download function's own `Query` rejection, turned into JSON at the edge.
    let bad_query = client.get(edge.url("/download?fid=a&fid=b")).bearer_auth(&token).send().await.unwrap();
    let (status, code, _) = json_error(bad_query).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "bad_request"));

    let bad_path = client.get(edge.url("/api/v1/jobs/%FF%FE")).bearer_auth(&token).send().await.unwrap();
    let (status, code, _) = json_error(bad_path).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_path"));

    let no_boundary =
        client.post(edge.url("/upload")).bearer_auth(&token).header("content-type", "multipart/form-data").body("x").send().await.unwrap();
    let (status, code, _) = json_error(no_boundary).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_multipart"));

    let bad_json = client.post(edge.url("/api/v1/users")).header("content-type", "application/json").body("{").send().await.unwrap();
    let (status, code, _) = json_error(bad_json).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_REQUEST, "invalid_json"));
}
