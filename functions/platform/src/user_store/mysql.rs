//! Users in MySQL/MariaDB (the distributed form); schema in `migrations/mysql`.
//!
//! Case-insensitivity comes from the `email` column's collation, so lookups use plain `=`
//! and the unique key rejects `Carol@Example.com` next to `carol@example.com`.

use async_trait::async_trait;
use sqlx::{MySqlPool, Row};

use super::{UserStore, UserStoreError};
use crate::model::User;

pub struct MySqlUserStore {
    pool: MySqlPool,
}

impl MySqlUserStore {
    /// A store on `pool`, whose schema [`crate::mysql::open_mysql`] has brought up to date.
    pub fn new(pool: MySqlPool) -> Self {
        Self { pool }
    }
}

fn unavailable(e: sqlx::Error) -> UserStoreError {
    UserStoreError::Unavailable(e.into())
}

#[async_trait]
impl UserStore for MySqlUserStore {
    async fn create(&self, user: &User) -> Result<(), UserStoreError> {
        let result = sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))")
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
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
        row.map(|row| {
            Ok(User {
                id: row.try_get("id").map_err(unavailable)?,
                email: row.try_get("email").map_err(unavailable)?,
                password_hash: row.try_get("password_hash").map_err(unavailable)?,
            })
        })
        .transpose()
    }
}
