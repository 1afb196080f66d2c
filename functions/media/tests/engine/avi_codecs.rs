//! Compressed audio in AVI: MPEG audio, ADPCM, AAC, AC-3 and DTS decode; a file cut short
//! converts what it holds.

use media::Preset;

use crate::formats::converts;
use crate::support::{Dir, args, assert_as_long_as_ffmpeg_decodes, assert_sounds_like_source, sound, video};

#[test]
fn avi_with_cbr_mp3() {
    converts("in.avi", 44100, false, &["-c:a", "libmp3lame", "-b:a", "128k", "-ac", "2"], "mp3", 2);
}

#[test]
fn avi_with_vbr_mp3() {
    converts("in.avi", 22050, false, &["-c:a", "libmp3lame", "-q:a", "4"], "mp3", 1);
}

#[test]
fn avi_video_with_mp3() {
    converts("in.avi", 48000, true, &["-c:v", "mpeg4", "-c:a", "libmp3lame", "-ac", "2", "-shortest"], "mp3", 2);
}

#[test]
fn avi_with_mp2() {
    converts("in.avi", 48000, false, &["-c:a", "mp2", "-ac", "2"], "mp2", 2);
}

/// G.711 (telephone and old webcam recordings): symphonia refused the track while it was
/// given the coded width.
#[test]
fn avi_with_a_law() {
    converts("in.avi", 8000, false, &["-c:a", "pcm_alaw", "-ac", "1"], "pcm", 1);
}

#[test]
fn avi_with_mu_law() {
    converts("in.avi", 8000, false, &["-c:a", "pcm_mulaw", "-ac", "1"], "pcm", 1);
}

/// ADPCM in AVI: ffprobe misreads its duration (7.1 s for 2.5 s of IMA ADPCM).
fn converts_adpcm(rate: u32, codec: &str, channels: u8) {
    let dir = Dir::new();
    let layout = if channels == 1 { "mono" } else { "stereo" };
    let src = dir.ffmpeg("in.avi", &args(&[sound(rate, 2.5, layout, usize::from(channels))], &["-c:a", codec]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels, report.truncated), ("adpcm", channels, false));
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn avi_with_ima_adpcm() {
    converts_adpcm(44100, "adpcm_ima_wav", 2);
}

#[test]
fn avi_with_ms_adpcm() {
    converts_adpcm(22050, "adpcm_ms", 1);
}

#[test]
fn avi_with_aac() {
    converts("in.avi", 44100, false, &["-c:a", "aac", "-ac", "2"], "aac", 2);
}

#[test]
fn avi_with_5_1_ac3() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.avi", &args(&[sound(48000, 3.0, "5.1", 6)], &["-c:a", "ac3"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels), ("ac3", 2));
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn avi_cut_in_half_converts_the_readable_part() {
    let dir = Dir::new();
    let src =
        dir.ffmpeg("in.avi", &args(&[sound(44100, 3.0, "stereo", 2), video(3.0)], &["-c:v", "mpeg4", "-c:a", "libmp3lame", "-shortest"]));
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path("cut.avi");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (_, report) = dir.convert(&cut, Preset::default());
    assert!(report.truncated, "report says truncated");
    assert!(report.duration_ms > 500 && report.duration_ms < 2900, "{} ms", report.duration_ms);
}

#[test]
fn avi_with_dts() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.avi", &args(&[sound(48000, 3.0, "stereo", 2)], &["-strict", "-2", "-c:a", "dca"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.source_codec, "dts");
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}
