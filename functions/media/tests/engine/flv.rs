//! Flash Video: AAC, MP3 and video tags; a file cut short converts what it holds.

use media::{MediaError, Preset};

use crate::formats::converts;
use crate::support::{Dir, args, assert_as_long_as_ffmpeg_decodes, assert_sounds_like_source, sound, video};

#[test]
fn flv_with_aac() {
    converts("in.flv", 44100, false, &["-c:a", "aac", "-ac", "2"], "aac", 2);
}

#[test]
fn flv_with_mp3() {
    converts("in.flv", 44100, false, &["-c:a", "libmp3lame", "-ar", "44100"], "mp3", 1);
}

#[test]
fn flv_with_sorenson_video_and_mp3() {
    converts("in.flv", 22050, true, &["-c:v", "flv", "-c:a", "libmp3lame", "-ar", "22050", "-ac", "2", "-shortest"], "mp3", 2);
}

/// ffprobe gives this file the video's longer duration.
#[test]
fn flv_with_h264_video_and_aac() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.flv", &args(&[sound(48000, 2.5, "mono", 1), video(2.5)], &["-c:v", "libx264", "-c:a", "aac", "-shortest"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels, report.truncated), ("aac", 1, false));
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn flv_cut_in_half_converts_the_readable_part() {
    let dir = Dir::new();
    let src =
        dir.ffmpeg("in.flv", &args(&[sound(44100, 3.0, "stereo", 2), video(3.0)], &["-c:v", "flv", "-c:a", "libmp3lame", "-shortest"]));
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path("cut.flv");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (_, report) = dir.convert(&cut, Preset::default());
    assert!(report.truncated, "report says truncated");
    assert!(report.duration_ms > 500 && report.duration_ms < 2900, "{} ms", report.duration_ms);
}

#[test]
fn flv_with_pcm() {
    converts("in.flv", 44100, false, &["-c:a", "pcm_s16le", "-ac", "2"], "pcm", 2);
}

#[test]
fn flv_with_nellymoser_is_unsupported_and_named() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.flv", &args(&[sound(22050, 1.0, "mono", 1)], &["-c:a", "nellymoser"]));
    let out = dir.path("out.mp3");
    match media::convert_file(&src, &out, &media::Options::for_path(&src, Preset::default()), None) {
        Err(MediaError::UnsupportedCodec { codec }) => assert_eq!(codec, "nellymoser"),
        other => panic!("expected unsupported_codec, got {other:?}"),
    }
}
