use std::sync::Arc;
use std::time::Duration;

use platform::now_ms;
use platform::webhook_store::mongodb::MongoWebhookStore;
use platform::webhook_store::sqlite::SqliteWebhookStore;
use platform::webhook_store::{Attempt, DeliveryState, NewDelivery, Outcome, Webhook, WebhookStore};
use time::OffsetDateTime;

const LEASE: Duration = Duration::from_secs(60);

fn webhook(owner: &str, events: &[&str]) -> Webhook {
    Webhook {
        id: platform::new_id(),
        owner_id: owner.into(),
        url: "https://hooks.example.com/mp3".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: "whsec_c2VjcmV0".into(),
        // Whole milliseconds: what every store keeps.
        created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
    }
}

fn delivery(webhook: &Webhook, n: u32) -> NewDelivery {
    NewDelivery {
        id: format!("msg_{}_{n}", webhook.id),
        webhook_id: webhook.id.clone(),
        event_type: "job.succeeded".into(),
        body: format!("{{\"n\":{n}}}"),
    }
}

fn attempt(status: Option<u16>) -> Attempt {
    Attempt { at: OffsetDateTime::from_unix_timestamp(1_700_000_100).unwrap(), status, error: status.is_none().then(|| "refused".into()) }
}

async fn webhooks_are_kept_per_owner(store: &dyn WebhookStore) {
    let a = webhook("o", &["job.succeeded"]);
    let b = Webhook { created_at: a.created_at + Duration::from_secs(1), ..webhook("o", &["job.succeeded", "job.failed"]) };
    let other = webhook("p", &["job.failed"]);
    for w in [&a, &b, &other] {
        store.create(w).await.unwrap();
    }
    assert_eq!(store.get(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.list_for_owner("o").await.unwrap().iter().map(|w| &w.id).collect::<Vec<_>>(), [&a.id, &b.id]);
    assert_eq!(store.subscribed("o", "job.failed").await.unwrap(), std::slice::from_ref(&b));
    assert_eq!(store.owners().await.unwrap(), ["o", "p"]);
    assert_eq!(store.subscribed("o", "job.succeeded").await.unwrap().len(), 2);
    assert!(store.subscribed("nobody", "job.failed").await.unwrap().is_empty());
    assert!(store.delete(&a.id).await.unwrap());
    assert!(!store.delete(&a.id).await.unwrap(), "deleted twice");
    assert!(store.get(&a.id).await.unwrap().is_none());
    assert_eq!(store.list_for_owner("o").await.unwrap(), [b]);
}

async fn deliveries_are_claimed_once_and_retried_when_due(store: &dyn WebhookStore) {
    let hook = webhook("o", &["job.succeeded"]);
    store.create(&hook).await.unwrap();
    assert!(store.enqueue(&delivery(&hook, 1)).await.unwrap());
    assert!(!store.enqueue(&delivery(&hook, 1)).await.unwrap(), "the same delivery queued twice");
    assert!(store.enqueue(&delivery(&hook, 2)).await.unwrap());

    let claimed = store.claim_due(LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(store.claim_due(LEASE, 10).await.unwrap().is_empty(), "a held delivery was claimed again");
    let first = claimed.iter().find(|d| d.id.ends_with("_1")).unwrap();
    assert_eq!((first.body.as_str(), first.state, first.attempts.len()), ("{\"n\":1}", DeliveryState::Pending, 0));

    // The first fails and is due again at once; the second is delivered.
    store.record(&first.id, &attempt(Some(500)), Outcome::RetryAt(now_ms() - 1)).await.unwrap();
    let second = claimed.iter().find(|d| d.id.ends_with("_2")).unwrap();
    store.record(&second.id, &attempt(Some(204)), Outcome::Delivered).await.unwrap();
    let again = store.claim_due(LEASE, 10).await.unwrap();
    assert_eq!(again.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [first.id.as_str()]);
    assert_eq!(again[0].attempts, [attempt(Some(500))]);
    store.record(&first.id, &attempt(None), Outcome::GiveUp).await.unwrap();
    assert!(store.claim_due(LEASE, 10).await.unwrap().is_empty(), "given up, yet claimed");
    // A finished delivery takes no more attempts.
    store.record(&first.id, &attempt(Some(200)), Outcome::Delivered).await.unwrap();

    let listed = store.deliveries(&hook.id, 10).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [second.id.as_str(), first.id.as_str()], "newest first");
    assert_eq!((listed[0].state, listed[0].attempts.len()), (DeliveryState::Delivered, 1));
    assert_eq!(listed[1].state, DeliveryState::Failed);
    assert_eq!(listed[1].attempts, [attempt(Some(500)), attempt(None)]);
    assert_eq!(store.deliveries(&hook.id, 1).await.unwrap().len(), 1);
}

async fn a_retry_waits_for_its_time(store: &dyn WebhookStore) {
    let hook = webhook("o", &["job.failed"]);
    store.create(&hook).await.unwrap();
    store.enqueue(&delivery(&hook, 1)).await.unwrap();
    let claimed = store.claim_due(LEASE, 10).await.unwrap();
    store.record(&claimed[0].id, &attempt(Some(503)), Outcome::RetryAt(now_ms() + 60_000)).await.unwrap();
    assert!(store.claim_due(LEASE, 10).await.unwrap().is_empty(), "claimed before its retry time");
    assert_eq!(store.deliveries(&hook.id, 10).await.unwrap()[0].state, DeliveryState::Pending);
}

async fn sqlite_store() -> (tempfile::TempDir, Arc<SqliteWebhookStore>) {
    let dir = tempfile::tempdir().unwrap();
    let pool = platform::sqlite::open(&dir.path().join("db.sqlite")).await.unwrap();
    (dir, Arc::new(SqliteWebhookStore::new(pool)))
}

async fn mongo_store() -> (mongodb::Database, Arc<MongoWebhookStore>) {
    let client = mongodb::Client::with_uri_str(crate::services::url("MP3CONVERT_MONGODB_URL")).await.unwrap();
    let db = client.database(&crate::services::unique("mp3convert_test"));
    (db.clone(), Arc::new(MongoWebhookStore::open(db).await.unwrap()))
}

#[tokio::test]
async fn sqlite_webhooks_are_kept_per_owner() {
    let (_dir, store) = sqlite_store().await;
    webhooks_are_kept_per_owner(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_deliveries_are_claimed_once_and_retried_when_due() {
    let (_dir, store) = sqlite_store().await;
    deliveries_are_claimed_once_and_retried_when_due(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_a_retry_waits_for_its_time() {
    let (_dir, store) = sqlite_store().await;
    a_retry_waits_for_its_time(store.as_ref()).await;
}

#[tokio::test]
async fn mongodb_webhooks_are_kept_per_owner() {
    let (db, store) = mongo_store().await;
    webhooks_are_kept_per_owner(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_deliveries_are_claimed_once_and_retried_when_due() {
    let (db, store) = mongo_store().await;
    deliveries_are_claimed_once_and_retried_when_due(store.as_ref()).await;
    db.drop().await.unwrap();
}

#[tokio::test]
async fn mongodb_a_retry_waits_for_its_time() {
    let (db, store) = mongo_store().await;
    a_retry_waits_for_its_time(store.as_ref()).await;
    db.drop().await.unwrap();
}
