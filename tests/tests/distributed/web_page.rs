//! On Knative the auth function is the public host's front door: it serves the web page and
//! the API's description (the ingress sends `/`, `/assets/` and `/api/v1/openapi.json` there).

use serde_json::Value;
use tests::cluster::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_function_serves_the_page_and_the_description() {
    let cluster = Cluster::start().await;
    let auth = &cluster.auth.url;
    let client = reqwest::Client::new();

    let page = client.get(format!("{auth}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert!(page.text().await.unwrap().contains("<script src=\"/assets/app.js\" defer></script>"));
    for (asset, kind) in [("/assets/app.js", "text/javascript"), ("/assets/style.css", "text/css")] {
        let response = client.get(format!("{auth}{asset}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind), "{asset}");
    }

    let served: Value = client.get(format!("{auth}/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let generated: Value = serde_json::from_str(&mp3convert::api_doc::openapi_json()).unwrap();
    assert!(served == generated, "the auth function does not serve the generated description");
    cluster.stop().await;
}
