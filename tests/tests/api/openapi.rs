//! `GET /api/v1/openapi.json`: the committed description is the one the code generates, the
//! server serves it, every route it names is routed, and it is an OpenAPI 3.1 document (read
//! by an independent parser, oas3) that gives every operation its answers and every failure
//! the error body.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use tests::app::TestApp;

const COMMITTED: &str = include_str!("../../../docs/openapi.json");

fn generated() -> Value {
    serde_json::from_str(&mp3convert::api_doc::openapi_json()).expect("the generated description is JSON")
}

/// Every (method, path) the description names.
fn operations(api: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in api["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn the_committed_description_is_the_generated_one() {
    assert!(
        COMMITTED == mp3convert::api_doc::openapi_json(),
        "docs/openapi.json is not what the code describes; write it again with\n  cargo run -p mp3convert -- openapi > docs/openapi.json"
    );
}

#[tokio::test]
async fn the_server_serves_it_and_routes_every_operation_in_it() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.at("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    assert!(served == generated(), "the server does not serve the generated description");

    let operations = operations(&served);
    assert!(operations.len() >= 17, "{} operations", operations.len());
    for (method, path, _) in operations {
        let url = app.at(&path.replace("{id}", "no-such-id"));
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.client.request(method.clone(), url).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path} is described but not routed");
        assert!(!(status == 404 && body.contains("no route for")), "{method} {path} is described but not routed: {body}");
    }
}

#[test]
fn it_is_openapi_3_1_and_documents_every_answer() {
    let api = generated();
    oas3::from_json(COMMITTED).expect("oas3 reads the description");
    assert!(api["openapi"].as_str().unwrap().starts_with("3.1."), "{}", api["openapi"]);
    assert_eq!(api["info"]["license"]["identifier"], "Apache-2.0");

    // The public routes of the contract are all there.
    let described: BTreeSet<(String, String)> = operations(&api).into_iter().map(|(m, p, _)| (m, p)).collect();
    for (method, path) in [
        ("post", "/login"),
        ("post", "/api/v1/users"),
        ("post", "/api/v1/tokens"),
        ("post", "/upload"),
        ("post", "/api/v1/videos"),
        ("delete", "/api/v1/videos/{id}"),
        ("get", "/api/v1/jobs"),
        ("get", "/api/v1/jobs/{id}"),
        ("get", "/api/v1/jobs/{id}/events"),
        ("get", "/download"),
        ("get", "/api/v1/mp3s/{id}"),
        ("delete", "/api/v1/mp3s/{id}"),
        ("post", "/api/v1/mp3s/{id}/links"),
        ("get", "/api/v1/mp3s/{id}/shared"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/health/readiness"),
    ] {
        assert!(described.contains(&(method.into(), path.into())), "{method} {path} is not described");
    }

    let schemes = api["components"]["securitySchemes"].as_object().expect("security schemes");
    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&api) {
        let what = format!("{method} {path}");
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{what}: no operationId"));
        assert!(operation_ids.insert(id.to_owned()), "{what}: operationId {id} is not unique");
        let responses = operation["responses"].as_object().unwrap_or_else(|| panic!("{what}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: no success status");
        for (status, response) in responses {
            assert!(response["description"].as_str().is_some_and(|d| !d.is_empty()), "{what} {status}: no description");
            let json_error = &response["content"]["application/json"]["schema"]["$ref"];
            if status.starts_with('4') || status.starts_with('5') {
                let text = response["content"]["text/plain"].is_object();
                assert!(json_error == "#/components/schemas/ErrorBody" || text, "{what} {status}: not the error body: {response}");
            }
        }
        // A route that checks a token says so, and answers 401.
        let security = operation["security"].as_array().cloned().unwrap_or_default();
        let bearer = security.iter().any(|s| s.get("bearer").is_some());
        if path.starts_with("/api/v1/") && !["/api/v1/users", "/api/v1/tokens", "/api/v1/openapi.json"].contains(&path.as_str()) {
            let shared = path.ends_with("/shared");
            assert_eq!(bearer, !shared, "{what}: bearer security");
            assert_eq!(responses.contains_key("401"), !shared, "{what}: 401");
        }
        for requirement in &security {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{what}: unknown security scheme {name}");
            }
        }
    }

    // Every reference resolves.
    let mut refs = Vec::new();
    collect_refs(&api, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{reference}"));
        assert!(api["components"]["schemas"][name].is_object(), "{reference} does not resolve");
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}
