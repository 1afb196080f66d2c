//! `mp3convert convert` on crafted and hostile input: a precise error code, never a crash,
//! and the process (with its conversion worker) within its memory bound.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tests::crafted::wav;
use tests::fixtures;
use tests::process::{Measured, binary, fake_converter, measured};

const MIB: u64 = 1024 * 1024;

fn convert(input: &Path, envs: &[(&str, &str)]) -> (Measured, PathBuf) {
    let out = input.with_extension("out.mp3");
    let mut command = Command::new(binary());
    command.arg("convert").arg(input).arg(&out).envs(envs.iter().copied());
    (measured(&command, Duration::from_secs(60)), out)
}

/// Fails the test unless the conversion failed with `code` (exit status 1, no output file).
fn assert_refused(result: &(Measured, PathBuf), code: &str) {
    let (run, out) = result;
    assert_eq!(run.status.and_then(|s| s.code()), Some(1), "exit status; stderr: {}", run.stderr);
    assert!(run.stderr.contains(&format!("mp3convert: {code}: ")), "expected {code}: {}", run.stderr);
    assert!(!out.exists(), "a failed conversion left an output file");
}

/// The run's peak memory, which GNU time must have reported.
fn peak(run: &Measured) -> u64 {
    run.peak_rss_bytes.expect("GNU time reported the peak memory")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_wav_declaring_4_ghz_is_refused_within_the_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "4ghz.wav", &wav(4_294_967_291, 1, 16, &[0; 6]));
    let result = convert(&input, &[]);
    assert_refused(&result, "unsupported_sample_rate");
    assert!(peak(&result.0) <= 64 * MIB, "peak {} MiB", peak(&result.0) / MIB);
}

#[test]
fn a_wav_declaring_1_hz_is_refused_within_the_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "1hz.wav", &wav(1, 1, 16, &[0x10; 8000]));
    let result = convert(&input, &[]);
    assert_refused(&result, "unsupported_sample_rate");
    assert!(peak(&result.0) <= 64 * MIB, "peak {} MiB", peak(&result.0) / MIB);
}

#[test]
fn audio_past_the_duration_cap_is_too_long() {
    let dir = tempfile::tempdir().unwrap();
    let video = fixtures::video(dir.path(), "in.mp4", 3.0);
    assert_refused(&convert(&video, &[("MP3CONVERT_MAX_DURATION_SECS", "1")]), "too_long");
}

#[test]
fn a_conversion_past_its_memory_limit_fails_cleanly_and_stays_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let ogg = fixtures::ogg_with_a_big_cover(dir.path());
    let result = convert(&ogg, &[]);
    assert_refused(&result, "memory_limit");
    assert!(peak(&result.0) <= 64 * MIB, "peak {} MiB over the limit", peak(&result.0) / MIB);
    // The same file converts when more memory is allowed.
    let (run, out) = convert(&ogg, &[("MP3CONVERT_CONVERSION_MEMORY_BYTES", &(256 * MIB).to_string())]);
    assert!(run.status.is_some_and(|s| s.success()), "{}", run.stderr);
    fixtures::assert_mp3(&out, 2.0);
}

#[test]
fn big_covers_and_attachments_are_left_out_and_the_audio_converts_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        fixtures::with_big_cover(dir.path(), "covered.mp3", "libmp3lame"),
        fixtures::with_big_cover(dir.path(), "covered.m4a", "aac"),
        fixtures::with_big_cover(dir.path(), "covered.flac", "flac"),
        fixtures::mkv_with_big_attachments(dir.path()),
    ];
    for input in inputs {
        let (run, out) = convert(&input, &[]);
        assert!(run.status.is_some_and(|s| s.success()), "{}: {}", input.display(), run.stderr);
        assert!(peak(&run) <= 24 * MIB, "{}: peak {} MiB", input.display(), peak(&run) / MIB);
        fixtures::assert_mp3(&out, 2.0);
    }
}

#[test]
fn a_converter_that_crashes_is_a_converter_crashed_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_converter(dir.path(), "echo 'thread main panicked: boom' >&2; kill -SEGV $$");
    let video = fixtures::video(dir.path(), "in.mp4", 1.0);
    let result = convert(&video, &[("MP3CONVERT_CONVERTER_EXE", fake.to_str().unwrap())]);
    assert_refused(&result, "converter_crashed");
    assert!(result.0.stderr.contains("signal 11"), "the message says how it died: {}", result.0.stderr);
}

#[test]
fn a_converter_that_hangs_is_killed_at_its_time_budget() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_converter(dir.path(), "exec sleep 600");
    let video = fixtures::video(dir.path(), "in.mp4", 1.0);
    let started = Instant::now();
    let result = convert(&video, &[("MP3CONVERT_CONVERTER_EXE", fake.to_str().unwrap()), ("MP3CONVERT_CONVERSION_TIMEOUT_SECS", "1")]);
    assert_refused(&result, "conversion_timeout");
    assert!(started.elapsed() < Duration::from_secs(20), "killed after {:?}", started.elapsed());
}
