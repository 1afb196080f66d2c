//! The MySQL (MariaDB) database of the distributed form, which holds the users, with its
//! migrations (`migrations/mysql`).

use std::time::Duration;

use anyhow::Context;
use sqlx::MySqlPool;
use sqlx::mysql::MySqlPoolOptions;

/// Connects to `url` (`mysql://user:pass@host:port/database`) and brings the schema up to date.
pub async fn open_mysql(url: &str) -> anyhow::Result<MySqlPool> {
    let pool = MySqlPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("connecting to MySQL")?;
    sqlx::migrate!("migrations/mysql").run(&pool).await.context("running the MySQL migrations")?;
    Ok(pool)
}

/// Whether the database answers.
pub async fn ping(pool: &MySqlPool) -> bool {
    sqlx::query("SELECT 1").execute(pool).await.is_ok()
}
