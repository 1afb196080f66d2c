//! Real media made by ffmpeg (installed by `local-dev/install-deps.sh`), and MP3 checks.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(program: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); install it with local-dev/install-deps.sh"));
    assert!(output.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Runs `ffmpeg -v error -y ARGS OUT`.
pub fn ffmpeg(args: &[&str], out: &Path) {
    let out = out.to_str().unwrap_or_default();
    run("ffmpeg", &[&["-v", "error", "-y"], args, &[out]].concat());
}

/// A short MP4 video (MPEG-4 Part 2 video, stereo 44.1 kHz AAC audio) of `seconds`.
pub fn video(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    let duration = format!("{seconds}");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=44100:duration={duration}"),
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc=size=64x48:rate=10:duration={duration}"),
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-c:v",
            "mpeg4",
            "-shortest",
            path.to_str().unwrap_or_default(),
        ],
    );
    path
}

/// An audio-only M4A (AAC) of `seconds`: quick to make even when long.
pub fn audio(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=330:sample_rate=44100:duration={seconds}"),
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            path.to_str().unwrap_or_default(),
        ],
    );
    path
}

/// Duration in seconds of the first audio stream, as ffprobe reads it (LAME header included).
pub fn audio_duration(path: &Path) -> f64 {
    let output = run(
        "ffprobe",
        &["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path.to_str().unwrap_or_default()],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().unwrap_or_else(|_| panic!("ffprobe gave no duration for {}: {text:?}", path.display()))
}

/// Asserts that `path` is an MP3 that decodes with no errors and lasts `seconds` within one
/// MP3 frame (1152 samples). The length is what ffmpeg decodes, which honours the LAME tag's
/// encoder delay and padding; ffprobe's MP3 duration would include them.
pub fn assert_mp3(path: &Path, seconds: f64) {
    let file = path.to_str().unwrap_or_default();
    let format = run("ffprobe", &["-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", file]);
    assert_eq!(String::from_utf8_lossy(&format.stdout).trim(), "mp3", "{} is not an MP3", path.display());
    let rate = run("ffprobe", &["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate", "-of", "csv=p=0", file]);
    let rate: f64 = String::from_utf8_lossy(&rate.stdout).trim().parse().expect("sample rate");
    let decoded = run("ffmpeg", &["-v", "error", "-nostdin", "-i", file, "-f", "s16le", "-ac", "1", "-"]);
    assert!(decoded.stderr.is_empty(), "decoding {} printed errors: {}", path.display(), String::from_utf8_lossy(&decoded.stderr));
    let samples = decoded.stdout.len() as f64 / 2.0;
    let expected = seconds * rate;
    assert!(
        (samples - expected).abs() <= 1152.0,
        "{} has {samples} samples, expected {expected} ({seconds} s at {rate} Hz)",
        path.display()
    );
}

/// An MP3 whose ID3 tag carries a 12 MB cover: the demuxer holds the whole tag in memory.
pub fn mp3_with_a_big_cover(dir: &Path) -> PathBuf {
    const MIB: u64 = 1024 * 1024;
    let picture = dir.join("cover.png");
    ffmpeg(&["-f", "lavfi", "-i", "nullsrc=s=2000x2000,geq=random(1)*255:128:128", "-frames:v", "1"], &picture);
    let mp3 = dir.join("covered.mp3");
    let source = "sine=frequency=440:duration=2";
    let args =
        ["-f", "lavfi", "-i", source, "-i", picture.to_str().unwrap(), "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "copy"];
    ffmpeg(&args, &mp3);
    assert!(std::fs::metadata(&mp3).unwrap().len() > 5 * MIB, "the cover is big");
    mp3
}
