//! Inputs that cannot be converted fail with the right error code; damaged but readable ones
//! convert what can be read.

use media::{MediaError, Preset};

use crate::support::{Dir, args, assert_same_duration, decoded_samples, sine, source_seconds, video};

fn fails(dir: &Dir, src: &std::path::Path) -> MediaError {
    let out = dir.path("out.mp3");
    let err = media::convert_file(src, &out, &media::Options::for_path(src, Preset::default()), None).expect_err("conversion should fail");
    assert!(!out.exists(), "no half-written MP3 is left behind");
    err
}

#[test]
fn random_bytes_are_corrupt_input() {
    let dir = Dir::new();
    let src = dir.path("junk.mp4");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&src, bytes).unwrap();
    assert_eq!(fails(&dir, &src).code(), "corrupt_input");
}

#[test]
fn empty_file_is_corrupt_input() {
    let dir = Dir::new();
    let src = dir.path("empty.mov");
    std::fs::write(&src, b"").unwrap();
    assert_eq!(fails(&dir, &src).code(), "corrupt_input");
}

#[test]
fn video_without_audio_has_no_audio_track() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.mp4", &args(&[video(1.0)], &["-c:v", "libx264"]));
    assert_eq!(fails(&dir, &src).code(), "no_audio_track");
    let mkv = dir.ffmpeg("in.mkv", &args(&[video(1.0)], &["-c:v", "libx264"]));
    assert_eq!(fails(&dir, &mkv).code(), "no_audio_track");
}

fn unsupported(name: &str, codec_args: &[&str], channels: &str) -> String {
    let dir = Dir::new();
    let src = dir.ffmpeg(name, &args(&[sine(48000, 1.0)], &[&["-ac", channels], codec_args].concat()));
    match fails(&dir, &src) {
        MediaError::UnsupportedCodec { codec } => codec,
        other => panic!("expected unsupported_codec, got [{}] {other}", other.code()),
    }
}

/// ADPCM in Matroska's ACM form (`demux::mkv`): symphonia's decoder would count no blocks.
#[test]
fn ima_adpcm_in_mka_is_unsupported_and_named() {
    assert_eq!(unsupported("in.mka", &["-c:a", "adpcm_ima_wav"], "2"), "wave format 0x0011");
}

#[test]
fn truehd_in_mkv_is_unsupported_and_named() {
    assert_eq!(unsupported("in.mkv", &["-strict", "-2", "-c:a", "truehd"], "2"), "truehd");
}

/// Opus in MPEG-TS has its own access-unit framing, not read yet: named, not "no audio track".
#[test]
fn opus_in_mpegts_is_unsupported_and_named() {
    assert_eq!(unsupported("in.ts", &["-c:a", "libopus"], "2"), "opus in mpeg-ts");
}

/// QuickTime's own IMA ADPCM (old Macs' recordings) has no decoder here yet.
#[test]
fn quicktime_ima4_is_unsupported_and_named() {
    assert_eq!(unsupported("in.mov", &["-c:a", "adpcm_ima_qt"], "2"), "ima4");
}

#[test]
fn mp4_without_its_index_is_corrupt_input() {
    let dir = Dir::new();
    // Without faststart the moov index is at the end; cutting the tail removes it.
    let src = dir.ffmpeg("in.mp4", &args(&[sine(44100, 2.0), video(2.0)], &["-c:v", "libx264", "-c:a", "aac", "-shortest"]));
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    assert_eq!(fails(&dir, &cut).code(), "corrupt_input");
}

#[test]
fn truncated_fast_start_mp4_converts_the_readable_part() {
    let dir = Dir::new();
    let src = dir.ffmpeg(
        "in.mp4",
        &args(&[sine(44100, 3.0), video(3.0)], &["-c:v", "libx264", "-c:a", "aac", "-shortest", "-movflags", "+faststart"]),
    );
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path("out.mp3");
    let report =
        media::convert_file(&cut, &out, &media::Options::for_path(&cut, Preset::default()), None).expect("the readable part converts");
    assert!(report.truncated, "report says truncated");
    let full = (source_seconds(&src) * 44100.0) as u64;
    let got = decoded_samples(&out);
    assert!(got > 0 && got < full, "{got} of {full} samples");
    assert_eq!(report.samples, got);
}

#[test]
fn intact_file_is_not_reported_truncated() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.mp4", &args(&[sine(44100, 1.0)], &["-c:a", "aac", "-movflags", "+faststart"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert!(!report.truncated);
    assert_same_duration(&src, &mp3, &report);
}

/// Cuts `name` (made from a 3 s tone) in half: the readable part converts and is flagged.
fn cut_file_converts_the_readable_part(name: &str, codec_args: &[&str]) {
    let dir = Dir::new();
    let src = dir.ffmpeg(name, &args(&[sine(44100, 3.0)], codec_args));
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path(&format!("cut-{name}"));
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path("out.mp3");
    let report = media::convert_file(&cut, &out, &media::Options::for_path(&cut, Preset::default()), None)
        .unwrap_or_else(|e| panic!("the readable part converts: [{}] {e}", e.code()));
    assert!(report.truncated, "report says truncated");
    let got = decoded_samples(&out);
    assert!(got > 22050 && got < 3 * 44100, "{got} samples");
    assert_eq!(report.samples, got);
}

#[test]
fn truncated_mkv_converts_the_readable_part() {
    cut_file_converts_the_readable_part("in.mkv", &["-c:a", "flac"]);
}

#[test]
fn truncated_mp3_converts_the_readable_part() {
    cut_file_converts_the_readable_part("in.mp3", &["-c:a", "libmp3lame"]);
}

#[test]
fn truncated_wav_converts_the_readable_part() {
    cut_file_converts_the_readable_part("in.wav", &[]);
}

fn unsupported_format(dir: &Dir, src: &std::path::Path) -> String {
    match fails(dir, src) {
        MediaError::UnsupportedFormat { format } => format,
        other => panic!("expected unsupported_format, got [{}] {other}", other.code()),
    }
}

#[test]
fn a_valid_file_in_a_container_we_do_not_read_is_unsupported_format_not_corrupt() {
    let dir = Dir::new();
    let nut = dir.ffmpeg("in.nut", &args(&[sine(44100, 1.0)], &["-c:a", "pcm_s16le"]));
    assert_eq!(unsupported_format(&dir, &nut), "NUT");
    let au = dir.ffmpeg("in.au", &args(&[sine(44100, 1.0)], &["-c:a", "pcm_s16be"]));
    assert_eq!(unsupported_format(&dir, &au), "Sun/NeXT AU");
}

#[test]
fn a_picture_is_unsupported_format_named() {
    let dir = Dir::new();
    let png = dir.ffmpeg("in.png", &args(&[video(0.1)], &["-frames:v", "1"]));
    assert_eq!(unsupported_format(&dir, &png), "a PNG image");
}
