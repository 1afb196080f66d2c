//! The user store port: accounts with an email and an argon2id password hash.
//!
//! Adapters: [`sqlite`] (embedded default) and [`mysql`] (MySQL/MariaDB, distributed form).

pub mod mysql;
pub mod sqlite;

use async_trait::async_trait;

use crate::model::User;

#[derive(Debug, thiserror::Error)]
pub enum UserStoreError {
    #[error("email already registered")]
    EmailTaken,
    #[error("user store unavailable")]
    Unavailable(#[source] anyhow::Error),
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Errors: [`UserStoreError::EmailTaken`] if the email (case-insensitive) exists.
    async fn create(&self, user: &User) -> Result<(), UserStoreError>;

    /// The user with this email (case-insensitive), if any.
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, UserStoreError>;
}
