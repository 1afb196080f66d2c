use platform::model::User;
use platform::user_store::sqlite::SqliteUserStore;
use platform::user_store::{UserStore, UserStoreError};

fn user(email: &str) -> User {
    User { id: platform::new_id(), email: email.into(), password_hash: "$argon2id$v=19$fake".into() }
}

async fn create_and_find(store: &dyn UserStore) {
    let alice = user("alice@example.com");
    store.create(&alice).await.unwrap();
    let found = store.find_by_email("ALICE@example.com").await.unwrap().expect("found case-insensitively");
    assert_eq!((found.id, found.password_hash), (alice.id, alice.password_hash));
    assert!(store.find_by_email("bob@example.com").await.unwrap().is_none());
}

async fn emails_are_unique(store: &dyn UserStore) {
    store.create(&user("carol@example.com")).await.unwrap();
    assert!(matches!(store.create(&user("Carol@Example.com")).await, Err(UserStoreError::EmailTaken)));
}

async fn sqlite_store() -> (tempfile::TempDir, SqliteUserStore) {
    let dir = tempfile::tempdir().unwrap();
    let pool = platform::sqlite::open(&dir.path().join("db.sqlite")).await.unwrap();
    (dir, SqliteUserStore::new(pool))
}

#[tokio::test]
async fn sqlite_create_and_find() {
    let (_dir, store) = sqlite_store().await;
    create_and_find(&store).await;
}

#[tokio::test]
async fn sqlite_emails_are_unique() {
    let (_dir, store) = sqlite_store().await;
    emails_are_unique(&store).await;
}
