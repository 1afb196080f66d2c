//! MPEG transport streams (TS, M2TS) made by ffmpeg convert to an MP3 as long as the audio and
//! sounding like it, AC-3, E-AC-3 and DTS included; cut and padded files convert.

use std::sync::atomic::AtomicBool;

use media::{Preset, Report};

use crate::support::{Dir, args, assert_as_long_as_ffmpeg_decodes, assert_sounds_like_source, decoded_samples, sound, video};

/// Makes `name` with ffmpeg from a 2.5 s test sound of `channels` channels at 48 kHz (with a
/// video track alongside when `video_args` are given), converts it and checks it.
pub fn converts(name: &str, video_args: &[&str], codec_args: &[&str], expect_codec: &str, channels: u8) -> Report {
    let dir = Dir::new();
    let layout = if channels == 1 { "mono" } else { "stereo" };
    let mut parts = vec![sound(48000, 2.5, layout, usize::from(channels))];
    if !video_args.is_empty() {
        parts.push(video(2.5));
    }
    let src = dir.ffmpeg(name, &args(&parts, &[video_args, codec_args, &["-shortest"]].concat()));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.source_codec, expect_codec);
    assert_eq!(report.channels, channels);
    assert!(!report.truncated);
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
    report
}

const MPEG2_VIDEO: &[&str] = &["-c:v", "mpeg2video"];

#[test]
fn ts_video_with_adts_aac() {
    converts("in.ts", MPEG2_VIDEO, &["-c:a", "aac"], "aac", 2);
}

#[test]
fn ts_with_mono_adts_aac() {
    converts("in.ts", &[], &["-c:a", "aac"], "aac", 1);
}

#[test]
fn ts_with_latm_aac() {
    converts("in.ts", &[], &["-c:a", "aac", "-mpegts_flags", "latm"], "aac", 2);
}

#[test]
fn ts_video_with_mp2() {
    converts("in.ts", MPEG2_VIDEO, &["-c:a", "mp2"], "mp2", 2);
}

#[test]
fn ts_video_with_mp3() {
    converts("in.ts", &["-c:v", "libx264"], &["-c:a", "libmp3lame"], "mp3", 2);
}

#[test]
fn m2ts_video_with_aac() {
    converts("in.m2ts", MPEG2_VIDEO, &["-c:a", "aac", "-mpegts_m2ts_mode", "1"], "aac", 2);
}

#[test]
fn m2ts_with_bluray_lpcm() {
    converts("in.m2ts", &[], &["-c:a", "pcm_bluray", "-mpegts_m2ts_mode", "1"], "pcm", 2);
}

#[test]
fn m2ts_with_mono_bluray_lpcm_drops_the_padding_channel() {
    converts("in.m2ts", &[], &["-c:a", "pcm_bluray", "-mpegts_m2ts_mode", "1"], "pcm", 1);
}

#[test]
fn ts_with_ac3() {
    converts("in.ts", &[], &["-c:a", "ac3"], "ac3", 2);
}

#[test]
fn dvb_ts_with_ac3_by_descriptor() {
    converts("in.ts", &[], &["-c:a", "ac3", "-mpegts_flags", "system_b"], "ac3", 2);
}

#[test]
fn ts_with_eac3() {
    converts("in.ts", &[], &["-c:a", "eac3"], "eac3", 2);
}

#[test]
fn ts_with_dts() {
    converts("in.ts", &[], &["-c:a", "dca", "-strict", "-2"], "dts", 2);
}

/// A broadcast recording: MPEG-2 video and 5.1 AC-3, down-mixed from the right sources.
#[test]
fn ts_video_with_5_1_ac3() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.ts", &args(&[sound(48000, 3.0, "5.1", 6), video(3.0)], &["-c:v", "mpeg2video", "-c:a", "ac3", "-shortest"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!((report.source_codec.as_str(), report.channels), ("ac3", 2));
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
    assert_sounds_like_source(&src, &mp3, &report);
}

#[test]
fn the_first_audio_track_is_taken() {
    let dir = Dir::new();
    let src =
        dir.ffmpeg("in.ts", &args(&[sound(48000, 2.5, "stereo", 2)], &["-map", "0:a", "-map", "0:a", "-c:a:0", "ac3", "-c:a:1", "aac"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.source_codec, "ac3");
    assert!(decoded_samples(&mp3) > 100_000);
}

#[test]
fn ts_cut_in_half_converts_the_readable_part() {
    let dir = Dir::new();
    let src =
        dir.ffmpeg("in.ts", &args(&[sound(48000, 3.0, "stereo", 2), video(3.0)], &["-c:v", "mpeg2video", "-c:a", "aac", "-shortest"]));
    let bytes = std::fs::read(&src).unwrap();
    // Inside a packet, as a cut usually is.
    let half = bytes.len() / 2 / 188 * 188 + 100;
    let cut = dir.path("cut.ts");
    std::fs::write(&cut, &bytes[..half]).unwrap();
    let (mp3, report) = dir.convert(&cut, Preset::default());
    assert!(report.truncated, "report says truncated");
    let got = decoded_samples(&mp3);
    assert!(got > 48000 && got < 2 * 48000, "{got} samples");
    assert_eq!(report.samples, got);
}

#[test]
fn garbage_after_a_ts_is_passed_over() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.ts", &args(&[sound(48000, 2.5, "stereo", 2)], &["-c:a", "aac"]));
    let mut bytes = std::fs::read(&src).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    bytes.extend((0..100_000).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as u8
    }));
    let padded = dir.path("padded.ts");
    std::fs::write(&padded, &bytes).unwrap();
    let (mp3, report) = dir.convert(&padded, Preset::default());
    assert!(!report.truncated);
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
}

#[test]
fn ts_progress_rises_to_one() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.ts", &args(&[sound(48000, 3.0, "stereo", 2)], &["-c:a", "aac"]));
    let mut seen = Vec::new();
    let mut out = Vec::new();
    media::convert(
        Box::new(std::fs::File::open(&src).unwrap()),
        &mut MemSink(&mut out),
        &media::Options::default(),
        &mut |p| seen.push(p),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(seen.len() >= 10, "{} progress calls: {seen:?}", seen.len());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "monotonic: {seen:?}");
    assert_eq!(seen.last().copied(), Some(1.0));
}

#[test]
fn ts_from_an_unseekable_source_converts() {
    let dir = Dir::new();
    let src =
        dir.ffmpeg("in.ts", &args(&[sound(48000, 2.5, "stereo", 2), video(2.5)], &["-c:v", "mpeg2video", "-c:a", "aac", "-shortest"]));
    let mut out = Vec::new();
    let source = Box::new(Unseekable(std::fs::File::open(&src).unwrap()));
    let report = media::convert(source, &mut MemSink(&mut out), &media::Options::default(), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let mp3 = dir.path("out.mp3");
    std::fs::write(&mp3, &out).unwrap();
    assert_as_long_as_ffmpeg_decodes(&src, &mp3, &report);
}

/// A source that can only be read forward, as an upload streamed in.
struct Unseekable(std::fs::File);

impl std::io::Read for Unseekable {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl std::io::Seek for Unseekable {
    fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

impl media::MediaSource for Unseekable {
    fn is_seekable(&self) -> bool {
        false
    }

    fn byte_len(&self) -> Option<u64> {
        None
    }
}

struct MemSink<'a>(&'a mut Vec<u8>);

impl std::io::Write for MemSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl media::Mp3Sink for MemSink<'_> {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let at = offset as usize;
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }
}
