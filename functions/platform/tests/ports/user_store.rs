use platform::model::User;
use platform::user_store::mysql::MySqlUserStore;
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

/// Runs `test` on a MySQL store in a database of its own, dropped afterwards (also when the
/// test fails).
async fn with_mysql_store(test: impl AsyncFnOnce(&dyn UserStore)) {
    use futures_util::FutureExt;

    let base_url = crate::services::url("MP3CONVERT_MYSQL_URL");
    let database = crate::services::unique("mp3convert_test");
    let admin = sqlx::MySqlPool::connect(&base_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE `{database}`")).execute(&admin).await.unwrap();
    let (server, _) = base_url.rsplit_once('/').expect("a database in MP3CONVERT_MYSQL_URL");
    let pool = platform::mysql::open_mysql(&format!("{server}/{database}")).await.unwrap();
    let store = MySqlUserStore::new(pool.clone());
    let outcome = std::panic::AssertUnwindSafe(test(&store as &dyn UserStore)).catch_unwind().await;
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE `{database}`")).execute(&admin).await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
async fn mysql_create_and_find() {
    with_mysql_store(async |store| create_and_find(store).await).await;
}

#[tokio::test]
async fn mysql_emails_are_unique() {
    with_mysql_store(async |store| emails_are_unique(store).await).await;
}
