//! Where the real services are: `local-dev/services.sh start` starts them and
//! `local-dev/services.sh env` prints these variables (`local-dev/test.sh` does both).

/// The URL in `variable`; fails the test with what to do when it is not set.
pub fn url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run the tests with ./local-dev/test.sh, or `eval \"$(./local-dev/services.sh env)\"` after `./local-dev/services.sh start`")
    })
}

/// A name no other test uses (databases, buckets, exchanges).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", platform::new_id())
}
