use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tests::process::Server;
use tests::{curl, fixtures};

#[tokio::test]
async fn the_seed_curl_flow_turns_a_video_into_an_mp3() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let host = &server.url;
    let video = fixtures::video(dir.path(), "holiday.mp4", 2.5);
    let (email, password) = ("seed@example.com", "seed-password");
    curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        &json!({"email": email, "password": password}).to_string(),
        &format!("{host}/api/v1/users"),
    ]);

    // The seed's three commands, as its users type them.
    let jwt = curl(&["-X", "POST", "-u", &format!("{email}:{password}"), &format!("{host}/login")]);
    let uploaded: Value = serde_json::from_str(&curl(&[
        "-X",
        "POST",
        "-F",
        &format!("file=@{}", video.display()),
        "-H",
        &format!("Authorization: Bearer {jwt}"),
        &format!("{host}/upload"),
    ]))
    .unwrap();
    let job_id = uploaded["job_id"].as_str().expect("job_id").to_owned();
    let mp3_id = tests::eventually("the MP3", Duration::from_secs(60), || async {
        let job: Value =
            serde_json::from_str(&curl(&["-H", &format!("Authorization: Bearer {jwt}"), &format!("{host}/api/v1/jobs/{job_id}")])).unwrap();
        assert_ne!(job["status"], "failed", "{job}");
        job["mp3_id"].as_str().map(str::to_owned)
    })
    .await;
    let out = dir.path().join("out.mp3");
    curl(&["-o", out.to_str().unwrap(), "-H", &format!("Authorization: Bearer {jwt}"), &format!("{host}/download?fid={mp3_id}")]);

    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));
    assert_title(&out, "holiday");
}

fn assert_title(mp3: &Path, title: &str) {
    let output =
        Command::new("ffprobe").args(["-v", "error", "-show_entries", "format_tags=title", "-of", "csv=p=0"]).arg(mp3).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), title);
}
