//! Conformance suites: every adapter of a port must pass the same tests. Each module has
//! the suite (functions taking the port) and one `#[tokio::test]` per adapter and behaviour.
//! Adapters of real services (MongoDB/FerretDB, MySQL/MariaDB, RabbitMQ) find them through
//! [`services`].

mod blob_store;
mod event_bus;
mod job_store;
mod services;
mod user_store;
mod webhook_store;
