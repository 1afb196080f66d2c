//! The common inputs convert to an MP3 as long as the source audio, decoding without errors.

use media::Preset;

use crate::support::{
    Dir, args, assert_same_duration, assert_same_level, assert_sounds_like_source, decoded_samples, lame_tag_kind, sine, sound, video,
};

/// Makes `name` with ffmpeg from a test sound of `expect_channels` channels (and optionally a
/// video), converts at V2, checks the length and that it sounds like the source.
pub fn converts(name: &str, rate: u32, with_video: bool, codec_args: &[&str], expect_codec: &str, expect_channels: u8) {
    let dir = Dir::new();
    let layout = if expect_channels == 1 { "mono" } else { "stereo" };
    let mut parts = vec![sound(rate, 2.5, layout, usize::from(expect_channels))];
    if with_video {
        parts.push(video(2.5));
    }
    let src = dir.ffmpeg(name, &args(&parts, codec_args));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.source_codec, expect_codec);
    assert_eq!(report.channels, expect_channels);
    assert!(!report.truncated);
    assert_same_duration(&src, &mp3, &report);
    assert_same_level(&src, &mp3);
    assert_sounds_like_source(&src, &mp3, &report);
    assert_eq!(lame_tag_kind(&mp3), "Xing");
}

/// As [`converts`], for 2.5 s of stereo at 44.1 kHz beside a video, in a container whose
/// duration ffprobe takes from the video (WMV, Matroska): the length is checked against the
/// 2.5 s the sound was made with.
pub fn converts_beside_video(name: &str, codec_args: &[&str], expect_codec: &str) {
    let dir = Dir::new();
    let src = dir.ffmpeg(name, &args(&[sound(44100, 2.5, "stereo", 2), video(2.5)], codec_args));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels, report.truncated), (expect_codec, 2, false));
    let samples = decoded_samples(&mp3) as i64;
    assert!((samples - 110_250).abs() <= 1152, "MP3 has {samples} samples, the source 110250");
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn mp4_video_with_stereo_aac() {
    converts("in.mp4", 44100, true, &["-c:v", "libx264", "-c:a", "aac", "-ac", "2", "-shortest"], "aac", 2);
}

#[test]
fn mp4_video_with_mono_aac_at_48k() {
    converts("in.mp4", 48000, true, &["-c:v", "libx264", "-c:a", "aac", "-ac", "1", "-shortest"], "aac", 1);
}

#[test]
fn m4a_aac_at_8k() {
    converts("in.m4a", 8000, false, &["-c:a", "aac", "-ac", "2"], "aac", 2);
}

#[test]
fn mov_aac_at_22050() {
    converts("in.mov", 22050, true, &["-c:v", "libx264", "-c:a", "aac", "-shortest"], "aac", 1);
}

#[test]
fn m4a_aac_at_96k_is_resampled_to_48k() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.m4a", &args(&[sine(96000, 2.5)], &["-c:a", "aac", "-ac", "2"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.sample_rate, 48000);
    assert_same_duration(&src, &mp3, &report);
}

#[test]
fn wav_pcm_stereo() {
    converts("in.wav", 48000, false, &["-c:a", "pcm_s16le", "-ac", "2"], "pcm", 2);
}

#[test]
fn wav_pcm_24_bit_mono() {
    converts("in.wav", 44100, false, &["-c:a", "pcm_s24le"], "pcm", 1);
}

#[test]
fn flac() {
    converts("in.flac", 44100, false, &["-c:a", "flac", "-ac", "2"], "flac", 2);
}

#[test]
fn ogg_vorbis() {
    converts("in.ogg", 44100, false, &["-c:a", "libvorbis", "-ac", "2"], "vorbis", 2);
}

#[test]
fn mp3_reencode_keeps_gapless_length() {
    converts("in.mp3", 44100, false, &["-c:a", "libmp3lame", "-q:a", "4"], "mp3", 1);
}

#[test]
fn mkv_video_with_vorbis() {
    converts("in.mkv", 44100, true, &["-c:v", "libx264", "-c:a", "libvorbis", "-ac", "2", "-shortest"], "vorbis", 2);
}

#[test]
fn webm_video_with_vorbis() {
    converts("in.webm", 48000, true, &["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libvorbis", "-shortest"], "vorbis", 1);
}

#[test]
fn mkv_with_flac() {
    converts("in.mkv", 48000, false, &["-c:a", "flac", "-ac", "2"], "flac", 2);
}

#[test]
fn mov_with_pcm_converts_quickly() {
    let started = std::time::Instant::now();
    converts("in.mov", 48000, true, &["-c:v", "libx264", "-c:a", "pcm_s16le", "-ac", "2", "-shortest"], "pcm", 2);
    assert!(started.elapsed().as_secs() < 20, "PCM in MOV took {:?}", started.elapsed());
}

#[test]
fn aiff_pcm() {
    converts("in.aiff", 44100, false, &["-c:a", "pcm_s16be", "-ac", "2"], "pcm", 2);
}

#[test]
fn avi_video_with_pcm() {
    converts("in.avi", 44100, true, &["-c:v", "mpeg4", "-c:a", "pcm_s16le", "-ac", "2", "-shortest"], "pcm", 2);
}

#[test]
fn avi_with_24_bit_mono_pcm() {
    converts("in.avi", 48000, false, &["-c:a", "pcm_s24le"], "pcm", 1);
}

#[test]
fn ogg_opus() {
    converts("in.opus", 48000, false, &["-c:a", "libopus", "-ac", "2"], "opus", 2);
}

#[test]
fn webm_video_with_opus() {
    converts("in.webm", 48000, true, &["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-ac", "1", "-shortest"], "opus", 1);
}

#[test]
fn mkv_with_opus_from_a_44k_source() {
    converts("in.mkv", 44100, false, &["-c:a", "libopus", "-ac", "2"], "opus", 2);
}

#[test]
fn alac_in_mov_written_by_ffmpeg() {
    converts("in.mov", 44100, false, &["-c:a", "alac", "-ac", "2"], "alac", 2);
}

#[test]
fn alac_in_m4a() {
    converts("in.m4a", 48000, false, &["-c:a", "alac"], "alac", 1);
}

#[test]
fn mov_with_24_bit_little_endian_pcm() {
    converts("in.mov", 48000, false, &["-c:a", "pcm_s24le", "-ac", "2"], "pcm", 2);
}

#[test]
fn mov_with_big_endian_16_bit_pcm() {
    converts("in.mov", 44100, true, &["-c:v", "libx264", "-c:a", "pcm_s16be", "-shortest"], "pcm", 1);
}

/// Past 65,535 Hz ffmpeg writes a version 2 `lpcm` sample entry.
#[test]
fn mov_with_96k_pcm() {
    converts("in.mov", 96000, false, &["-c:a", "pcm_s16le", "-ac", "2"], "pcm", 2);
}

#[test]
fn mov_with_float_pcm() {
    converts("in.mov", 44100, false, &["-c:a", "pcm_f32le"], "pcm", 1);
}

#[test]
fn mp2_elementary_stream() {
    converts("in.mp2", 48000, false, &["-c:a", "mp2", "-ac", "2"], "mp2", 2);
}

/// Codecs without a Matroska ID of their own come as `A_MS/ACM`, a WAVEFORMATEX in the track's
/// private data (which symphonia's demuxer drops: `demux::mkv` reads it).
#[test]
fn mkv_video_with_wma_v2_in_acm_form() {
    converts_beside_video("in.mkv", &["-c:v", "mpeg4", "-c:a", "wmav2", "-shortest"], "wma");
}

#[test]
fn mkv_video_with_mp2() {
    converts("in.mkv", 44100, true, &["-c:v", "mpeg4", "-c:a", "mp2", "-ac", "2", "-shortest"], "mp2", 2);
}
