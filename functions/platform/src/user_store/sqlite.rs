//! Users in the embedded SQLite database.

use async_trait::async_trait;
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{UserStore, UserStoreError};
use crate::model::User;

pub struct SqliteUserStore {
    pool: SqlitePool,
}

impl SqliteUserStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: sqlx::Error) -> UserStoreError {
    UserStoreError::Unavailable(e.into())
}

#[async_trait]
impl UserStore for SqliteUserStore {
    async fn create(&self, user: &User) -> Result<(), UserStoreError> {
        let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let result = sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(now)
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(UserStoreError::EmailTaken),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<User>, UserStoreError> {
        let row = sqlx::query("SELECT id, email, password_hash FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(row.map(|row| User { id: row.get("id"), email: row.get("email"), password_hash: row.get("password_hash") }))
    }
}
