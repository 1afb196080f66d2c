use tests::app::TestApp;

#[tokio::test]
async fn liveness_and_readiness_answer_200() {
    let app = TestApp::spawn().await;
    for path in ["/health/liveness", "/health/readiness"] {
        assert_eq!(app.client.get(app.at(path)).send().await.unwrap().status(), 200, "{path}");
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.at("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let body = response.text().await.unwrap();
    assert!(body.contains("# TYPE mp3convert_uploads_total counter"), "{body}");
    assert!(body.contains("mp3convert_jobs_succeeded_total "), "{body}");
}
