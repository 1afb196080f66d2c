//! Inputs with more than two channels come out as a stereo down-mix made from the right
//! sources: left from the left and centre channels, right from the right and centre, whatever
//! order the codec stores its channels in (checked per output channel against ffmpeg's own
//! down-mix, see `assert_sounds_like_source`).

use media::Preset;

use crate::support::{Dir, args, assert_same_duration, assert_sounds_like_source, decode_planar, ffmpeg_conversion, sound};

/// A `layout` sound of `channels` channels in `name`, encoded with `codec_args`, converts to a
/// stereo MP3 that sounds like ffmpeg's own stereo down-mix of it.
fn downmixes(name: &str, layout: &str, channels: usize, codec_args: &[&str], expect_codec: &str) {
    let dir = Dir::new();
    let src = dir.ffmpeg(name, &args(&[sound(48000, 3.0, layout, channels)], codec_args));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.source_codec, expect_codec);
    assert_eq!(report.channels, 2);
    assert_same_duration(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn wav_5_1_pcm() {
    downmixes("in.wav", "5.1", 6, &["-c:a", "pcm_s16le"], "pcm");
}

#[test]
fn wav_7_1_pcm() {
    downmixes("in.wav", "7.1", 8, &["-c:a", "pcm_s24le"], "pcm");
}

#[test]
fn flac_5_1() {
    downmixes("in.flac", "5.1", 6, &["-c:a", "flac"], "flac");
}

#[test]
fn mkv_with_5_1_flac_24_bit() {
    downmixes("in.mkv", "5.1", 6, &["-c:a", "flac", "-sample_fmt", "s32"], "flac");
}

#[test]
fn mkv_with_5_1_vorbis() {
    downmixes("in.mkv", "5.1", 6, &["-c:a", "libvorbis"], "vorbis");
}

#[test]
fn ogg_5_1_vorbis() {
    downmixes("in.ogg", "5.1", 6, &["-c:a", "libvorbis"], "vorbis");
}

#[test]
fn avi_5_1_pcm() {
    downmixes("in.avi", "5.1", 6, &["-c:a", "pcm_s16le"], "pcm");
}

#[test]
fn m4a_5_1_alac() {
    downmixes("in.m4a", "5.1", 6, &["-c:a", "alac"], "alac");
}

#[test]
fn mov_5_1_pcm() {
    downmixes("in.mov", "5.1", 6, &["-c:a", "pcm_s16le"], "pcm");
}

#[test]
fn mov_7_1_pcm_24_bit() {
    downmixes("in.mov", "7.1", 8, &["-c:a", "pcm_s24le"], "pcm");
}

/// Share of a decode's samples at full scale (clipped), over both channels.
fn clipped_share(mp3: &std::path::Path) -> f64 {
    let planes = decode_planar(mp3, 2, 48000);
    let total: usize = planes.iter().map(Vec::len).sum();
    let clipped = planes.iter().flatten().filter(|s| s.abs() >= 32767.0 / 32768.0).count();
    clipped as f64 / total as f64
}

/// Loud, correlated 5.1 (every channel a 0.9 sine) sums to 2.2x full scale with ffmpeg's
/// coefficients: ffmpeg's own conversion clips, ours turns the level down instead.
#[test]
fn loud_5_1_ac3_is_limited_not_clipped() {
    let dir = Dir::new();
    let source = "aevalsrc=exprs=0.9*sin(2*PI*440*t):s=48000:d=3:c=5.1";
    let src = dir.ffmpeg("in.mkv", &["-f", "lavfi", "-i", source, "-c:a", "ac3", "-b:a", "640k"]);
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.channels, 2);
    let theirs = dir.path("ffmpeg.mp3");
    ffmpeg_conversion(&src, &theirs, 2, 48000);
    let (ours, ffmpeg) = (clipped_share(&mp3), clipped_share(&theirs));
    assert!(ffmpeg > 0.05, "the source is loud enough to clip ffmpeg's conversion ({:.1}% clipped)", ffmpeg * 100.0);
    assert!(ours < 0.001, "{:.2}% of our samples clip", ours * 100.0);
    let peak = decode_planar(&mp3, 2, 48000).iter().flatten().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.8, "limited, not attenuated: peak {peak}");
}
