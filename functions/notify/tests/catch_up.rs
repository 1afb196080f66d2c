//! `notify::catch_up` on the embedded stores: a job that ended with no event queued is
//! queued once, only for webhooks that existed when it ended, and never twice.

use std::sync::Arc;

use platform::auth::{KeyPair, TokenVerifier};
use platform::config::Webhooks;
use platform::job_store::JobStore;
use platform::job_store::sqlite::SqliteJobStore;
use platform::model::{JobError, NewJob};
use platform::webhook_store::sqlite::SqliteWebhookStore;
use platform::webhook_store::{Webhook, WebhookStore};
use time::OffsetDateTime;

#[tokio::test]
async fn a_job_no_event_announced_is_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    let pool = platform::sqlite::open(&dir.path().join("db.sqlite")).await.unwrap();
    let webhooks: Arc<dyn WebhookStore> = Arc::new(SqliteWebhookStore::new(pool.clone()));
    let jobs: Arc<dyn JobStore> = Arc::new(SqliteJobStore::new(pool));
    let keys = KeyPair::generate().unwrap();
    let state = notify::NotifyState {
        webhooks: webhooks.clone(),
        jobs: jobs.clone(),
        verifier: Arc::new(TokenVerifier::new(&keys.public_pem, "test").unwrap()),
        deliverer: notify::Deliverer::new(webhooks.clone(), &Webhooks { backoff: Vec::new(), allow_loopback: true }),
        allow_loopback: true,
    };
    let hook = |events: &[&str], created_at| Webhook {
        id: platform::new_id(),
        owner_id: "owner".into(),
        url: "http://127.0.0.1:9/hook".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: notify::signing::new_secret(),
        created_at,
    };
    let early = hook(&["job.failed"], OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let succeeded_only = hook(&["job.succeeded"], OffsetDateTime::now_utc() - time::Duration::minutes(1));
    webhooks.create(&early).await.unwrap();
    webhooks.create(&succeeded_only).await.unwrap();
    assert_eq!(notify::catch_up(&state).await.unwrap(), 0, "nothing has ended yet");

    let new_job = NewJob {
        job_id: platform::new_id(),
        video_id: platform::new_id(),
        owner_id: "owner".into(),
        filename: "a.mp4".into(),
        preset: "v2".into(),
        idempotency_key: None,
    };
    jobs.create(&new_job).await.unwrap();
    let error = JobError { code: "corrupt_input".into(), message: "bad".into() };
    assert!(jobs.fail(&new_job.job_id, None, &error).await.unwrap());
    // A webhook made after the job ended hears nothing of it.
    let late = hook(&["job.failed"], OffsetDateTime::now_utc() + time::Duration::minutes(1));
    webhooks.create(&late).await.unwrap();

    assert_eq!(notify::catch_up(&state).await.unwrap(), 1);
    assert_eq!(notify::catch_up(&state).await.unwrap(), 0, "queued twice");
    let queued = webhooks.deliveries(&early.id, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!((body["type"].as_str(), body["data"]["job_id"].as_str()), (Some("job.failed"), Some(new_job.job_id.as_str())));
    assert!(webhooks.deliveries(&succeeded_only.id, 10).await.unwrap().is_empty());
    assert!(webhooks.deliveries(&late.id, 10).await.unwrap().is_empty());
}
