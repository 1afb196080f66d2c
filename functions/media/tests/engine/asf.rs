//! ASF: WMA v1 and v2 in WMV and WMA files decode, at every rate ffmpeg's encoder makes, with
//! and without noise coding (`decode::wma`). Other codecs in ASF decode.

use media::Preset;

use crate::formats::converts;
use crate::support::{Dir, args, assert_sounds_like_source, decoded_samples, sound, video};

/// ffprobe's duration of a WMV is off by up to a tenth of a second (its video's), and ffmpeg's
/// decode of WMA drops the source's first frame (see `decode::wma`), so the length is checked
/// against the 2.5 s the source was made with.
#[test]
fn wmv_with_wma_v2_converts() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.wmv", &args(&[sound(44100, 2.5, "stereo", 2), video(2.5)], &["-c:v", "wmv2", "-c:a", "wmav2", "-shortest"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels, report.truncated), ("wma", 2, false));
    let samples = decoded_samples(&mp3) as i64;
    assert!((samples - 110_250).abs() <= 1152, "MP3 has {samples} samples, the source 110250");
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn wma_v2_at_48k_and_192_kbps_converts() {
    converts("in.wma", 48000, false, &["-c:a", "wmav2", "-b:a", "192k"], "wma", 2);
}

#[test]
fn wma_v2_at_48_kbps_converts() {
    converts("in.wma", 44100, false, &["-c:a", "wmav2", "-b:a", "48k"], "wma", 2);
}

#[test]
fn mono_wma_v2_at_22k_converts() {
    converts("in.wma", 22050, false, &["-c:a", "wmav2", "-b:a", "32k"], "wma", 1);
}

#[test]
fn mono_wma_v2_at_8k_converts() {
    converts("in.wma", 8000, false, &["-c:a", "wmav2", "-b:a", "24k"], "wma", 1);
}

#[test]
fn wma_v1_converts() {
    converts("in.wma", 44100, false, &["-c:a", "wmav1"], "wma", 2);
}

#[test]
fn mono_wma_v1_at_22k_converts() {
    converts("in.wma", 22050, false, &["-c:a", "wmav1", "-b:a", "32k"], "wma", 1);
}

#[test]
fn wmv_with_wma_v1_at_32k_converts() {
    converts("in.wmv", 32000, true, &["-c:v", "wmv1", "-c:a", "wmav1", "-b:a", "64k", "-shortest"], "wma", 2);
}

/// 32 kbps stereo at 44.1 kHz codes its high bands as noise.
#[test]
fn noise_coded_wma_v2_converts() {
    converts("in.wma", 44100, false, &["-c:a", "wmav2", "-b:a", "32k"], "wma", 2);
}

#[test]
fn wma_v2_at_32k_converts() {
    converts("in.wma", 32000, false, &["-c:a", "wmav2"], "wma", 2);
}

#[test]
fn noise_coded_mono_wma_v2_at_16k_and_11k_converts() {
    converts("in.wma", 16000, false, &["-c:a", "wmav2", "-b:a", "24k"], "wma", 1);
    converts("in.wma", 11025, false, &["-c:a", "wmav2", "-b:a", "24k"], "wma", 1);
}

#[test]
fn asf_with_mp3_converts() {
    converts("in.asf", 44100, false, &["-c:a", "libmp3lame", "-ac", "2"], "mp3", 2);
}
