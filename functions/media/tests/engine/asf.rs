//! ASF: WMA v1 and v2 in WMV and WMA files decode, at every rate ffmpeg's encoder makes, with
//! and without noise coding (`decode::wma`). Other codecs in ASF decode.

use crate::formats::{converts, converts_beside_video};

/// ffmpeg's decode of WMA drops the source's first frame (see `decode::wma`), so the length is
/// not checked against it.
#[test]
fn wmv_with_wma_v2_converts() {
    converts_beside_video("in.wmv", &["-c:v", "wmv2", "-c:a", "wmav2", "-shortest"], "wma");
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
