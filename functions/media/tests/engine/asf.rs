//! ASF: WMA v2 in WMV and WMA files decodes, for the streams our decoder reads right (see
//! `decode::wma`); the rest fail naming the codec and why. Other codecs in ASF decode.

use media::{MediaError, Preset};

use crate::formats::converts;
use crate::support::{Dir, args, assert_as_long_as_ffmpeg_decodes, assert_sounds_like_source, sound, video};

fn unsupported(name: &str, rate: u32, codec_args: &[&str], with_video: bool) -> String {
    let dir = Dir::new();
    let mut parts = vec![sound(rate, 1.0, "stereo", 2)];
    if with_video {
        parts.push(video(1.0));
    }
    let src = dir.ffmpeg(name, &args(&parts, codec_args));
    let out = dir.path("out.mp3");
    match media::convert_file(&src, &out, &media::Options::for_path(&src, Preset::default()), None) {
        Err(MediaError::UnsupportedCodec { codec }) => codec,
        other => panic!("expected unsupported_codec, got {other:?}"),
    }
}

/// ffprobe's duration of a WMV is off by up to a tenth of a second (its video's), so the length
/// is checked against ffmpeg's decode.
#[test]
fn wmv_with_wma_v2_converts() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.wmv", &args(&[sound(44100, 2.5, "stereo", 2), video(2.5)], &["-c:v", "wmv2", "-c:a", "wmav2", "-shortest"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels, report.truncated), ("wma", 2, false));
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
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
fn wma_v1_is_unsupported_and_named() {
    assert_eq!(unsupported("in.wma", 44100, &["-c:a", "wmav1"], false), "wma (version 1)");
}

#[test]
fn noise_coded_wma_v2_is_unsupported_and_says_why() {
    assert_eq!(unsupported("in.wma", 44100, &["-c:a", "wmav2", "-b:a", "32k"], false), "wma (noise coding at 44100 Hz, 32 kbps)");
}

#[test]
fn wma_v2_at_32k_is_unsupported_and_says_why() {
    assert_eq!(unsupported("in.wma", 32000, &["-c:a", "wmav2"], false), "wma (32000 Hz)");
}

#[test]
fn asf_with_mp3_converts() {
    converts("in.asf", 44100, false, &["-c:a", "libmp3lame", "-ac", "2"], "mp3", 2);
}
