//! ASF: WMA has no decoder yet, so WMV/WMA files fail naming it; other codecs in ASF decode.

use media::{MediaError, Preset};

use crate::formats::converts;
use crate::support::{Dir, args, sound, video};

fn unsupported(name: &str, codec_args: &[&str], with_video: bool) -> String {
    let dir = Dir::new();
    let mut parts = vec![sound(44100, 1.0, "stereo", 2)];
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

#[test]
fn wmv_with_wma_v2_is_unsupported_and_named() {
    assert_eq!(unsupported("in.wmv", &["-c:v", "wmv2", "-c:a", "wmav2", "-shortest"], true), "wma");
}

#[test]
fn wma_v1_is_unsupported_and_named() {
    assert_eq!(unsupported("in.wma", &["-c:a", "wmav1"], false), "wma");
}

#[test]
fn asf_with_mp3_converts() {
    converts("in.asf", 44100, false, &["-c:a", "libmp3lame", "-ac", "2"], "mp3", 2);
}
