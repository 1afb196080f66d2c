use std::process::Command;

use tests::fixtures;
use tests::process::binary;

#[test]
fn convert_turns_a_file_into_an_mp3() {
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "in.mp4", 1.5);
    let out = dir.path().join("out.mp3");
    let status = Command::new(binary()).args(["convert", "--preset", "v4"]).arg(&video).arg(&out).status().unwrap();
    assert!(status.success());
    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));
}

#[test]
fn convert_exits_non_zero_with_the_error_code_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"this is not a video, just some text that goes on for a while").unwrap();
    let out = dir.path().join("out.mp3");
    let output = Command::new(binary()).arg("convert").arg(&junk).arg(&out).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("corrupt_input"), "{stderr}");
    assert!(!out.exists(), "a failed conversion left an output file");
}

#[test]
fn production_mode_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("MP3CONVERT_MODE", "production")
        .env_remove("MP3CONVERT_JWT_PRIVATE_KEY")
        .env_remove("MP3CONVERT_JWT_PRIVATE_KEY_FILE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MP3CONVERT_JWT_PRIVATE_KEY"), "{stderr}");
}
