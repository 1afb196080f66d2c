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

/// The MP3 gets 0666 less the umask, as every tool's new file does (not a temporary file's 0600).
#[test]
fn convert_honours_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "in.mp4", 0.5);
    for (umask, mode) in [("022", 0o644), ("027", 0o640)] {
        let out = dir.path().join(format!("out-{umask}.mp3"));
        let status = Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" convert \"$1\" \"$2\"")])
            .arg(binary())
            .arg(&video)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, mode, "umask {umask}");
    }
}

/// `mp3convert serve` in dev mode on a free port, with everything in `data_dir` (not in the
/// services the test command exports for other tests).
fn serve(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(binary());
    command.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"]).arg(data_dir).env("MP3CONVERT_MODE", "dev");
    command.env_remove("MP3CONVERT_MYSQL_URL").env_remove("MP3CONVERT_MONGODB_URL");
    command
}

/// Starts the server and waits for its "ready on" line; returns it and its URL.
fn started(mut command: Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut server = command.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready on") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the server exited before it was ready");
    }
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_owned();
    (server, url)
}

/// Logs written to a pipe or a file carry no ANSI colour codes.
#[test]
fn logs_to_a_pipe_are_not_coloured() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = serve(dir.path());
    command.env("RUST_LOG", "info").env_remove("NO_COLOR").stderr(std::process::Stdio::piped());
    let (mut server, _) = started(command);
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("generated a dev JWT key pair"), "the first start logs its new keys: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI escapes in piped logs: {stderr:?}");
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

/// On a terminal (`script` gives it one), `convert` draws its progress; the bar moves through
/// the file (a WMA's, whose packets are timed from its bit rate). Through a pipe, only the
/// final line.
#[test]
fn convert_shows_progress_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let wma = dir.path().join("in.wma");
    fixtures::ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=120", "-ac", "2", "-c:a", "wmav2"], &wma);
    let out = dir.path().join("out.mp3");
    let command = format!("'{}' convert '{}' '{}'", binary().display(), wma.display(), out.display());
    let on_terminal = Command::new("script").args(["-qec", &command, "/dev/null"]).output().unwrap();
    assert!(on_terminal.status.success(), "{on_terminal:?}");
    let screen = String::from_utf8_lossy(&on_terminal.stdout);
    let shown: Vec<u32> = screen.split('\r').filter_map(|draw| draw.split("] ").nth(1)?.split('%').next()?.trim().parse().ok()).collect();
    assert!(shown.iter().any(|p| (1..100).contains(p)), "no progress between 0 and 100% drawn: {shown:?}");
    assert!(screen.contains("s of wma audio"), "the final line follows the bar: {screen:?}");

    let piped = Command::new(binary()).arg("convert").arg(&wma).arg(&out).output().unwrap();
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("converting") && !stderr.contains('\r') && !stderr.contains('\u{1b}'), "a bar in piped output: {stderr:?}");
}

/// `mp3convert upload` against a running server: the MP3 arrives and decodes; a wrong token
/// and an unreachable server each end with exit status 1 and a line that says so.
#[test]
fn upload_sends_a_file_to_a_server_and_brings_back_its_mp3() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = serve(&dir.path().join("data"));
    command.env("MP3CONVERT_WORKERS", "1").stderr(std::process::Stdio::null());
    let (mut server, url) = started(command);
    let body = serde_json::json!({ "email": format!("{}@example.com", platform::new_id()), "password": "a long password" }).to_string();
    tests::curl(&["-X", "POST", "-H", "content-type: application/json", "-d", &body, &format!("{url}/api/v1/users")]);
    let tokens: serde_json::Value = serde_json::from_str(&tests::curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        &body,
        &format!("{url}/api/v1/tokens"),
    ]))
    .unwrap();
    let token = tokens["access_token"].as_str().unwrap();

    let video = fixtures::video(dir.path(), "talk.mp4", 2.0);
    let out = dir.path().join("talk.mp3");
    let done = Command::new(binary())
        .args(["upload", "--server", &url, "--preset", "v4", "-o"])
        .arg(&out)
        .arg(&video)
        .env("MP3CONVERT_TOKEN", token)
        .output()
        .unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    fixtures::assert_mp3(&out, fixtures::audio_duration(&video));

    let refused = Command::new(binary()).args(["upload", "--server", &url, "--token", "not-a-token"]).arg(&video).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("invalid_token"), "{}", String::from_utf8_lossy(&refused.stderr));
    server.kill().unwrap();
    let _ = server.wait();

    let gone = Command::new(binary()).args(["upload", "--server", &url, "--token", token]).arg(&video).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("cannot reach"), "{}", String::from_utf8_lossy(&gone.stderr));
}
