//! Conformance suites: every adapter of a port must pass the same tests. Each module has
//! the suite (functions taking the port) and one `#[tokio::test]` per adapter and behaviour.

mod blob_store;
mod job_store;
mod user_store;
