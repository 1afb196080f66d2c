//! The codecs symphonia does not decode, through our own decoders (functions/media/src/decode):
//! AC-3, E-AC-3, DTS, multichannel AAC and Opus. Each sounds like the source (per channel,
//! against ffmpeg's own conversion), stereo and 5.1 alike.

use media::Preset;

use crate::support::{Dir, args, assert_same_duration, assert_sounds_like_source, sound, video};

/// A `layout` test sound of `channels` channels (with a video track when `with_video`) in
/// `name`, encoded with `codec_args`, converts to an MP3 that sounds like the source.
fn converts(name: &str, layout: &str, channels: usize, with_video: bool, codec_args: &[&str], expect_codec: &str) {
    let dir = Dir::new();
    let mut parts = vec![sound(48000, 3.0, layout, channels)];
    if with_video {
        parts.push(video(3.0));
    }
    let src = dir.ffmpeg(name, &args(&parts, codec_args));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.source_codec, expect_codec);
    assert_eq!(report.channels, 2);
    assert!(!report.truncated);
    assert_same_duration(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn ac3_stereo_in_mp4_with_video() {
    converts("in.mp4", "stereo", 2, true, &["-c:v", "libx264", "-c:a", "ac3", "-shortest"], "ac3");
}

#[test]
fn ac3_5_1_in_mkv() {
    converts("in.mkv", "5.1", 6, false, &["-c:a", "ac3"], "ac3");
}

#[test]
fn eac3_5_1_in_mp4() {
    converts("in.mp4", "5.1", 6, false, &["-c:a", "eac3"], "eac3");
}

#[test]
fn eac3_stereo_in_mkv() {
    converts("in.mkv", "stereo", 2, false, &["-c:a", "eac3"], "eac3");
}

#[test]
fn dts_stereo_in_mkv() {
    converts("in.mkv", "stereo", 2, false, &["-strict", "-2", "-c:a", "dca"], "dts");
}

#[test]
fn dts_5_1_in_mkv() {
    converts("in.mkv", "5.1", 6, false, &["-strict", "-2", "-c:a", "dca"], "dts");
}

#[test]
fn aac_5_1_in_mp4_with_video() {
    converts("in.mp4", "5.1", 6, true, &["-c:v", "libx264", "-c:a", "aac", "-shortest"], "aac");
}

#[test]
fn aac_5_1_in_adts() {
    converts("in.aac", "5.1", 6, false, &["-c:a", "aac"], "aac");
}

#[test]
fn opus_5_1_in_ogg() {
    converts("in.opus", "5.1", 6, false, &["-c:a", "libopus"], "opus");
}

#[test]
fn opus_5_1_in_webm_with_video() {
    converts("in.webm", "5.1", 6, true, &["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-shortest"], "opus");
}

/// MP4 carries the Opus header as a big-endian `dOps` box and trims the pre-skip by its edit
/// list (read as an Ogg header, the pre-skip came out 14,337 samples and the MP3 0.3 s short).
#[test]
fn opus_stereo_in_mp4_with_video() {
    converts("in.mp4", "stereo", 2, true, &["-c:v", "libx264", "-c:a", "libopus", "-shortest"], "opus");
}

#[test]
fn opus_7_1_in_mkv() {
    converts("in.mkv", "7.1", 8, false, &["-c:a", "libopus"], "opus");
}

#[test]
fn bare_ac3_5_1_stream() {
    converts("in.ac3", "5.1", 6, false, &["-c:a", "ac3"], "ac3");
}

#[test]
fn bare_eac3_stream() {
    converts("in.eac3", "stereo", 2, false, &["-c:a", "eac3"], "eac3");
}

#[test]
fn bare_dts_stream() {
    converts("in.dts", "stereo", 2, false, &["-strict", "-2", "-c:a", "dca"], "dts");
}
