//! Webhooks in the distributed form: a job's end travels from the converter through the
//! Broker's notify Triggers to the notify function, which delivers it signed; and in
//! production mode an endpoint on loopback is refused.

use std::time::Duration;

use serde_json::{Value, json};
use tests::cluster::{Cluster, ClusterUser, Options};
use tests::webhooks::{Receiver, assert_signed};

async fn register(cluster: &Cluster, user: &ClusterUser, url: &str) -> reqwest::Response {
    let body = json!({ "url": url, "events": ["job.succeeded", "job.failed"] });
    cluster.client.post(format!("{}/api/v1/webhooks", cluster.notify.url)).bearer_auth(&user.token).json(&body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_end_reaches_its_webhook_through_the_broker() {
    // Dev mode for notify alone: the test's receiver is on loopback.
    let notify_env = vec![("MP3CONVERT_MODE".to_owned(), "dev".to_owned())];
    let cluster = Cluster::start_with(Options { notify_env, ..Options::default() }).await;
    let user = cluster.user().await;
    let (receiver, url) = Receiver::start(&[]).await;
    let response = register(&cluster, &user, &url).await;
    assert_eq!(response.status(), 201);
    let webhook: Value = response.json().await.unwrap();

    let job = cluster.converted_job(&user).await;
    let job_id = job["job_id"].as_str().unwrap().to_owned();

    let request = receiver.wait_for(1).await.remove(0);
    assert_signed(&request, webhook["secret"].as_str().unwrap());
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!((body["type"].as_str(), body["data"]["job_id"].as_str()), (Some("job.succeeded"), Some(job_id.as_str())));
    assert_eq!(body["data"]["mp3_id"], job["mp3_id"]);
    // The Broker may deliver the event more than once; the webhook still gets one delivery.
    tests::eventually("the delivery recorded", Duration::from_secs(10), || async {
        let url = format!("{}/api/v1/webhooks/{}/deliveries", cluster.notify.url, webhook["id"].as_str().unwrap());
        let listed: Value = cluster.client.get(url).bearer_auth(&user.token).send().await.unwrap().json().await.unwrap();
        (listed["deliveries"][0]["state"] == "delivered").then_some(())
    })
    .await;
    assert_eq!(receiver.received().len(), 1);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_an_endpoint_on_loopback() {
    let cluster = Cluster::start().await;
    let user = cluster.user().await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook"] {
        let response = register(&cluster, &user, url).await;
        assert_eq!(response.status(), 422, "{url}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "url_not_allowed", "{url}");
    }
    cluster.stop().await;
}
