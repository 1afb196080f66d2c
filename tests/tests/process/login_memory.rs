//! Many log-ins at once cost a fixed amount of memory: argon2 (19 MiB a hash) runs
//! `MP3CONVERT_PASSWORD_HASH_CONCURRENCY` at a time, on memory that is kept and reused.

use serde_json::json;
use tests::process::Server;

const PERMITS: u64 = 2;
/// argon2id's default memory cost (m = 19456 KiB), rounded up.
const HASH_MIB: u64 = 20;
/// Everything else 80 requests at once take: connections, buffers, blocking threads.
const SLACK_MIB: u64 = 40;
const USERS: usize = 16;
const LOGINS: usize = 64;

#[tokio::test]
async fn sixty_four_concurrent_logins_all_answered_within_a_fixed_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let permits = PERMITS.to_string();
    let server = Server::start(
        &dir.path().join("data"),
        &[
            ("MP3CONVERT_PASSWORD_HASH_CONCURRENCY", permits.as_str()),
            // Many users from one address: this is about memory, not throttling.
            ("MP3CONVERT_SIGNUPS_PER_ADDRESS", "0"),
            ("MP3CONVERT_LOGINS_PER_ADDRESS", "0"),
        ],
    );
    let client = reqwest::Client::new();
    let before = server.memory_kib("VmHWM");

    let emails: Vec<String> = (0..USERS).map(|i| format!("user{i}@example.com")).collect();
    let sign_ups = emails.iter().map(|email| {
        client.post(format!("{}/api/v1/users", server.url)).json(&json!({"email": email, "password": "memory password"})).send()
    });
    for response in futures_util::future::join_all(sign_ups).await {
        assert_eq!(response.unwrap().status(), 201);
    }
    let started = std::time::Instant::now();
    let logins = (0..LOGINS).map(|i| {
        let email = &emails[i % USERS];
        let request = if i % 2 == 0 {
            client.post(format!("{}/login", server.url)).basic_auth(email, Some("memory password"))
        } else {
            client.post(format!("{}/api/v1/tokens", server.url)).json(&json!({"email": email, "password": "memory password"}))
        };
        request.send()
    });
    let answers = futures_util::future::join_all(logins).await;
    let elapsed = started.elapsed();
    let statuses: Vec<u16> = answers.into_iter().map(|r| r.expect("an answer").status().as_u16()).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    let after = server.memory_kib("VmHWM");
    let growth_mib = after.saturating_sub(before) / 1024;
    let bound = PERMITS * HASH_MIB + SLACK_MIB;
    eprintln!(
        "{USERS} sign-ups + {LOGINS} concurrent logins ({elapsed:?} for the logins): VmHWM {before} -> {after} KiB, +{growth_mib} MiB (bound {bound} MiB)"
    );
    assert!(growth_mib < bound, "peak memory grew by {growth_mib} MiB, more than {bound} MiB");
}
