//! MPEG program streams (MPEG-1 `.mpg`, MPEG-2 `.vob`) made by ffmpeg convert to an MP3 as long
//! as the audio and sounding like it; DVD LPCM and AC-3 included; cut files convert.

use media::Preset;

use crate::mpegts::converts;
use crate::support::{Dir, args, decoded_samples, sound, video};

#[test]
fn mpeg1_system_stream_with_mp2() {
    converts("in.mpg", &["-c:v", "mpeg1video", "-r", "25"], &["-c:a", "mp2", "-f", "mpeg"], "mp2", 2);
}

#[test]
fn mpeg1_system_stream_with_mp2_only() {
    converts("in.mpg", &[], &["-c:a", "mp2", "-f", "mpeg"], "mp2", 2);
}

#[test]
fn vob_with_mp2() {
    converts("in.vob", &["-c:v", "mpeg2video"], &["-c:a", "mp2", "-f", "vob"], "mp2", 2);
}

#[test]
fn vob_with_16_bit_dvd_lpcm() {
    converts("in.vob", &["-c:v", "mpeg2video"], &["-c:a", "pcm_dvd", "-f", "vob"], "pcm", 2);
}

#[test]
fn vob_with_24_bit_dvd_lpcm() {
    converts("in.vob", &[], &["-c:a", "pcm_dvd", "-sample_fmt", "s32", "-f", "vob"], "pcm", 2);
}

#[test]
fn vob_with_mono_24_bit_dvd_lpcm() {
    converts("in.vob", &[], &["-c:a", "pcm_dvd", "-sample_fmt", "s32", "-f", "vob"], "pcm", 1);
}

#[test]
fn vob_with_ac3() {
    converts("in.vob", &["-c:v", "mpeg2video"], &["-c:a", "ac3", "-f", "vob"], "ac3", 2);
}

#[test]
fn vob_cut_in_half_converts_the_readable_part() {
    let dir = Dir::new();
    let src = dir.ffmpeg(
        "in.vob",
        &args(&[sound(48000, 3.0, "stereo", 2), video(3.0)], &["-c:v", "mpeg2video", "-c:a", "mp2", "-f", "vob", "-shortest"]),
    );
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path("cut.vob");
    // Inside a 2 KiB pack, as a cut usually is.
    std::fs::write(&cut, &bytes[..bytes.len() / 2 / 2048 * 2048 + 1000]).unwrap();
    let (mp3, report) = dir.convert(&cut, Preset::default());
    assert!(report.truncated, "report says truncated");
    let got = decoded_samples(&mp3);
    assert!(got > 48000 && got < 2 * 48000, "{got} samples");
    assert_eq!(report.samples, got);
}
