//! The engine's limits on crafted input: sample rates and channel counts it will not size
//! buffers for, and the cap on the MP3's length. The crafted files are built here.

use std::path::Path;
use std::time::Duration;

use media::{MediaError, Options, Preset};

use crate::support::{Dir, args, assert_same_duration, assert_same_level, sine};

// The crafted-file builders the cross-function tests use too.
#[path = "../../../../tests/src/crafted.rs"]
mod crafted;
use crafted::{aiff, wav};

fn convert(src: &Path, options: &Options) -> Result<media::Report, MediaError> {
    let out = src.with_extension("out.mp3");
    let result = media::convert_file(src, &out, options, None);
    if result.is_err() {
        assert!(!out.exists(), "no half-written MP3 is left behind");
    }
    result
}

fn write(dir: &Dir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_50_byte_wav_declaring_4_ghz_is_an_unsupported_sample_rate() {
    let dir = Dir::new();
    let bytes = wav(4_294_967_291, 1, 16, &[0; 6]);
    assert_eq!(bytes.len(), 50);
    let src = write(&dir, "4ghz.wav", &bytes);
    match convert(&src, &Options::default()) {
        Err(MediaError::UnsupportedSampleRate { rate }) => assert_eq!(rate, 4_294_967_291),
        other => panic!("expected unsupported_sample_rate, got {other:?}"),
    }
}

#[test]
fn an_8_kb_wav_declaring_1_hz_is_an_unsupported_sample_rate() {
    let dir = Dir::new();
    let src = write(&dir, "1hz.wav", &wav(1, 1, 16, &[0x10; 8000]));
    let err = convert(&src, &Options::default()).expect_err("refused");
    assert_eq!((err.code(), err.to_string().contains("1 Hz")), ("unsupported_sample_rate", true), "{err}");
}

#[test]
fn the_edges_of_the_rate_range_convert() {
    let dir = Dir::new();
    for rate in [1_000u32, 768_000] {
        let frames = rate as usize / 10;
        let samples: Vec<u8> = (0..frames).flat_map(|i| (((i as f32 * 0.05).sin() * 8000.0) as i16).to_le_bytes()).collect();
        let src = write(&dir, &format!("r{rate}.wav"), &wav(rate, 1, 16, &samples));
        let report = convert(&src, &Options::default()).unwrap_or_else(|e| panic!("{rate} Hz: [{}] {e}", e.code()));
        assert_eq!(report.duration_ms, 100, "{rate} Hz keeps its length");
    }
}

#[test]
fn more_than_32_channels_are_too_many() {
    let dir = Dir::new();
    for channels in [40u16, 20_000] {
        let src = write(&dir, &format!("{channels}ch.aiff"), &aiff(channels, 4));
        match convert(&src, &Options::default()) {
            Err(MediaError::TooManyChannels { channels: n }) => assert_eq!(n, u64::from(channels)),
            other => panic!("{channels} channels: expected too_many_channels, got {other:?}"),
        }
    }
    let src = write(&dir, "2ch.aiff", &aiff(2, 4800));
    assert_eq!(convert(&src, &Options::default()).expect("2 channels convert").duration_ms, 100);
}

#[test]
fn pcm_in_avi_declaring_4_ghz_is_refused_before_it_is_read() {
    let dir = Dir::new();
    let avi = dir.ffmpeg("in.avi", &args(&[sine(8000, 0.5)], &["-c:a", "pcm_s16le"]));
    let mut bytes = std::fs::read(&avi).unwrap();
    // WAVEFORMATEX in the audio stream's `strf`: tag 1, 1 channel, 8000 Hz.
    let at = bytes.windows(8).position(|w| w == [1, 0, 1, 0, 0x40, 0x1f, 0, 0]).expect("the audio strf") + 4;
    bytes[at..at + 4].copy_from_slice(&4_294_967_291u32.to_le_bytes());
    let src = write(&dir, "4ghz.avi", &bytes);
    assert_eq!(convert(&src, &Options::default()).expect_err("refused").code(), "unsupported_sample_rate");
}

#[test]
fn audio_longer_than_the_cap_is_too_long_and_shorter_converts() {
    let dir = Dir::new();
    let src = dir.ffmpeg("five.wav", &args(&[sine(44_100, 5.0)], &[]));
    let capped = Options { max_duration: Some(Duration::from_secs(2)), ..Options::for_path(&src, Preset::default()) };
    match convert(&src, &capped) {
        Err(MediaError::TooLong { limit_secs }) => assert_eq!(limit_secs, 2),
        other => panic!("expected too_long, got {other:?}"),
    }
    let enough = Options { max_duration: Some(Duration::from_secs(6)), ..capped };
    let out = dir.path("five.mp3");
    let report = media::convert_file(&src, &out, &enough, None).expect("under the cap");
    assert_same_duration(&src, &out, &report);
}

#[test]
fn awkward_rates_are_resampled_with_little_memory_and_sound_the_same() {
    let dir = Dir::new();
    // 352,801 Hz shares no useful factor with 48 kHz (an FFT resampler would need ~50 MiB).
    let src = dir.ffmpeg("odd.wav", &args(&[sine(352_801, 1.0)], &["-c:a", "pcm_s16le"]));
    let out = dir.path("odd.mp3");
    let report = media::convert_file(&src, &out, &Options::for_path(&src, Preset::default()), None).expect("converts");
    assert_eq!(report.sample_rate, 48_000);
    assert_same_duration(&src, &out, &report);
    assert_same_level(&src, &out);
}
