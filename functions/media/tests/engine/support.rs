//! Fixture generation and MP3 inspection through the ffmpeg/ffprobe command-line tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use media::{Preset, Report};

fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("-version").output().is_ok_and(|o| o.status.success());
    assert!(found, "`{name}` is not on PATH: the media tests need ffmpeg/ffprobe (apt-get install ffmpeg)");
    Command::new(name)
}

/// A temporary directory for one test's fixture and output.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Runs `ffmpeg -y -v error <args> <dir>/<name>` and returns the output path.
    pub fn ffmpeg(&self, name: &str, args: &[&str]) -> PathBuf {
        let out = self.path(name);
        let res = tool("ffmpeg").args(["-y", "-v", "error", "-nostdin"]).args(args).arg(&out).output().expect("run ffmpeg");
        assert!(res.status.success(), "ffmpeg {args:?} failed: {}", String::from_utf8_lossy(&res.stderr));
        out
    }

    /// Converts with `media::convert_file` to `<dir>/out.mp3`, panicking with the error code on failure.
    pub fn convert(&self, input: &Path, preset: Preset) -> (PathBuf, Report) {
        let out = self.path("out.mp3");
        let report = media::convert_file(input, &out, &media::Options::for_path(input, preset), None)
            .unwrap_or_else(|e| panic!("converting {} failed: [{}] {e}", input.display(), e.code()));
        (out, report)
    }
}

/// `key=value` lines of `ffprobe -show_entries <entries>` for the first audio stream.
pub fn probe(path: &Path, entries: &str) -> Vec<(String, String)> {
    let res = tool("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries", entries, "-of", "default=nw=1"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(res.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&res.stderr));
    String::from_utf8_lossy(&res.stdout).lines().filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))).collect()
}

pub fn probe_one(path: &Path, entries: &str, key: &str) -> Option<String> {
    probe(path, entries).into_iter().find(|(k, v)| k == key && v != "N/A").map(|(_, v)| v)
}

/// Duration in seconds of the source's first audio stream (stream duration, else the format's).
pub fn source_seconds(path: &Path) -> f64 {
    probe_one(path, "stream=duration", "duration")
        .or_else(|| probe_one(path, "format=duration", "duration"))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration for {}", path.display()))
}

/// Decodes the whole MP3 with ffmpeg (which honours the LAME tag's gapless delay and padding),
/// asserting that it decodes without a single error, and returns the samples per channel.
pub fn decoded_samples(mp3: &Path) -> u64 {
    let res = tool("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(mp3)
        .args(["-f", "s16le", "-ac", "1", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(res.status.success(), "ffmpeg could not decode {}", mp3.display());
    let errors = String::from_utf8_lossy(&res.stderr);
    assert!(errors.trim().is_empty(), "decoding the MP3 printed errors: {errors}");
    res.stdout.len() as u64 / 2
}

/// The MP3 decodes cleanly and is as long as the source audio (within one MP3 frame).
/// For an MP3 source, ffprobe's duration includes the encoder delay and padding, so the truth is
/// what ffmpeg decodes (it honours the LAME tag); for other sources it is ffprobe's duration
/// (ffmpeg 5.1 does not cut AAC's trailing padding when decoding MP4).
pub fn assert_same_duration(source: &Path, mp3: &Path, report: &Report) {
    let rate = u64::from(report.sample_rate);
    let expected = if source.extension().is_some_and(|e| e == "mp3") {
        decoded_samples(source) as i64
    } else {
        (source_seconds(source) * rate as f64).round() as i64
    };
    let decoded = decoded_samples(mp3) as i64;
    assert!(
        (decoded - expected).abs() <= 1152,
        "MP3 has {decoded} samples, source audio {expected} (at {rate} Hz): off by {}",
        decoded - expected
    );
    assert!((report.samples as i64 - expected).abs() <= 1152, "report says {} samples, expected {expected}", report.samples);
    assert_eq!(report.bytes, std::fs::metadata(mp3).unwrap().len(), "report.bytes is the file size");
    let probed_rate: u32 = probe_one(mp3, "stream=sample_rate", "sample_rate").unwrap().parse().unwrap();
    assert_eq!(probed_rate, report.sample_rate);
}

/// The MP3 is as long as what ffmpeg decodes of the source at the MP3's rate (within one MP3
/// frame): for sources whose declared duration ffprobe gets wrong (ADPCM in AVI, FLV with a
/// longer video, TS, whose duration it estimates from timestamps).
pub fn assert_as_long_as_ffmpeg_decodes(source: &Path, mp3: &Path, report: &Report) {
    let theirs = decode_planar(source, 1, report.sample_rate)[0].len() as i64;
    let ours = decoded_samples(mp3) as i64;
    assert!((ours - theirs).abs() <= 1152, "MP3 has {ours} samples, ffmpeg decodes {theirs} from the source");
    assert!((report.samples as i64 - theirs).abs() <= 1152, "report says {} samples, expected {theirs}", report.samples);
    assert_eq!(report.bytes, std::fs::metadata(mp3).unwrap().len(), "report.bytes is the file size");
    let rate: u32 = probe_one(mp3, "stream=sample_rate", "sample_rate").unwrap().parse().unwrap();
    assert_eq!(rate, report.sample_rate);
}

/// The tag frame at the start of the MP3 audio: "Xing" for VBR, "Info" for CBR, with a LAME
/// extension; and its frame count matches the stream.
pub fn lame_tag_kind(mp3: &Path) -> String {
    let bytes = std::fs::read(mp3).unwrap();
    let id3_len =
        if bytes.starts_with(b"ID3") { 10 + bytes[6..10].iter().fold(0usize, |acc, b| (acc << 7) | usize::from(*b & 0x7f)) } else { 0 };
    let frame = &bytes[id3_len..(id3_len + 512).min(bytes.len())];
    assert_eq!(frame[0], 0xff, "an MP3 frame starts right after the ID3 tag");
    let at = |tag: &[u8]| frame.windows(4).position(|w| w == tag);
    let (kind, pos) = match (at(b"Xing"), at(b"Info")) {
        (Some(p), _) => ("Xing", p),
        (None, Some(p)) => ("Info", p),
        _ => panic!("no Xing/Info tag in the first frame"),
    };
    assert!(at(b"LAME").is_some(), "LAME extension present");
    let flags = u32::from_be_bytes(frame[pos + 4..pos + 8].try_into().unwrap());
    assert!(flags & 1 == 1, "frame count present");
    let frames = u32::from_be_bytes(frame[pos + 8..pos + 12].try_into().unwrap());
    assert!(frames > 0, "frame count written (placeholder replaced)");
    kind.to_owned()
}

/// Format-level tags of the MP3 as ffprobe reads them.
pub fn mp3_tags(mp3: &Path) -> Vec<(String, String)> {
    probe(mp3, "format_tags").into_iter().map(|(k, v)| (k.trim_start_matches("TAG:").to_ascii_lowercase(), v)).collect()
}

/// Lavfi sine source arguments.
pub fn sine(rate: u32, secs: f32) -> Vec<String> {
    vec!["-f".into(), "lavfi".into(), "-i".into(), format!("sine=frequency=440:duration={secs}:sample_rate={rate}")]
}

/// Lavfi small video source arguments.
pub fn video(secs: f32) -> Vec<String> {
    vec!["-f".into(), "lavfi".into(), "-i".into(), format!("testsrc=size=64x64:rate=10:duration={secs}")]
}

pub fn args<'a>(parts: &'a [Vec<String>], rest: &[&'a str]) -> Vec<&'a str> {
    parts.iter().flatten().map(String::as_str).chain(rest.iter().copied()).collect()
}

/// Mean volume (dBFS) of the first audio stream, by ffmpeg's volumedetect filter.
pub fn mean_volume(path: &Path) -> f64 {
    let res = tool("ffmpeg")
        .args(["-v", "info", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let text = String::from_utf8_lossy(&res.stderr);
    let line = text.lines().find(|l| l.contains("mean_volume")).unwrap_or_else(|| panic!("no volumedetect output: {text}"));
    line.split("mean_volume:").nth(1).unwrap().trim().trim_end_matches(" dB").parse().unwrap()
}

/// The MP3 sounds as loud as the source: catches garbled samples (wrong width, endianness or
/// channel order turn a tone into loud noise) and silence.
pub fn assert_same_level(source: &Path, mp3: &Path) {
    let (src, out) = (mean_volume(source), mean_volume(mp3));
    assert!((src - out).abs() < 1.0, "mean volume {out} dB, source {src} dB");
}

/// Lavfi arguments for a test sound of `layout` (an ffmpeg channel layout: "mono", "stereo",
/// "5.1", "7.1", ...) with `channels` channels: channel c is a tone of its own pitch, quiet
/// except in its own quarter-second slots (slot k belongs to channel k mod `channels`, mod 2
/// for mono), so each
/// channel's loudness envelope is unlike every other's and a channel mixed from the wrong
/// sources shows in the envelope (see [`assert_sounds_like_source`]).
pub fn sound(rate: u32, secs: f32, layout: &str, channels: usize) -> Vec<String> {
    let slots = channels.max(2);
    let exprs: Vec<String> =
        (0..channels).map(|c| format!("(0.1+0.4*eq(mod(floor(t*4)\\,{slots})\\,{c}))*sin(2*PI*{}*t)", 220 + 110 * c)).collect();
    let source = format!("aevalsrc=exprs='{}':s={rate}:d={secs}:c={layout}", exprs.join("|"));
    vec!["-f".into(), "lavfi".into(), "-i".into(), source]
}

/// `path`'s first audio stream decoded by ffmpeg to `channels` channels at `rate` (ffmpeg's own
/// down-mix when the source has more), one Vec per channel, through 16-bit samples. Mind that to
/// an integer format ffmpeg always normalises its down-mix (7.7 dB quieter from 5.1), while its
/// conversion to MP3 mixes in the decoder's format and normalises only integer ones (see
/// `media::mix`), which is why [`assert_sounds_like_source`] compares with that conversion
/// rather than with this decode of the source.
pub fn decode_planar(path: &Path, channels: u8, rate: u32) -> Vec<Vec<f32>> {
    let res = tool("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-ac", &channels.to_string(), "-ar", &rate.to_string(), "-f", "s16le", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(res.status.success(), "ffmpeg could not decode {}: {}", path.display(), String::from_utf8_lossy(&res.stderr));
    let samples: Vec<f32> = res.stdout.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
    let n = usize::from(channels);
    (0..n).map(|c| samples.iter().skip(c).step_by(n).copied().collect()).collect()
}

/// RMS over consecutive 50 ms windows.
pub fn envelope(samples: &[f32], rate: u32) -> Vec<f64> {
    let window = (rate as usize / 20).max(1);
    samples.chunks_exact(window).map(|w| (w.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / w.len() as f64).sqrt()).collect()
}

/// Pearson correlation of two series, over their common length.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    cov / (var(a, ma) * var(b, mb)).sqrt()
}

fn rms_db(samples: &[f32]) -> f64 {
    let power = samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    10.0 * power.max(1e-20).log10()
}

/// ffmpeg's own conversion of `source` to an MP3 of `channels` at `rate`, as a user would run
/// it (`-ac N -c:a libmp3lame -q:a 2`), written to `out`.
pub fn ffmpeg_conversion(source: &Path, out: &Path, channels: u8, rate: u32) {
    let made = tool("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-i"])
        .arg(source)
        .args(["-map", "0:a:0", "-ac", &channels.to_string(), "-ar", &rate.to_string()])
        .args(["-c:a", "libmp3lame", "-q:a", "2"])
        .arg(out)
        .output()
        .expect("run ffmpeg");
    assert!(made.status.success(), "ffmpeg could not convert {}: {}", source.display(), String::from_utf8_lossy(&made.stderr));
}

/// Pearson correlation of two envelopes at the best offset of at most `MAX_LAG_WINDOWS`
/// windows either way, and that offset (positive: `a` is late).
fn best_correlation(a: &[f64], b: &[f64]) -> (f64, i32) {
    (-MAX_LAG_WINDOWS..=MAX_LAG_WINDOWS)
        .map(|lag| {
            let (a, b) = if lag >= 0 { (&a[lag as usize..], b) } else { (a, &b[(-lag) as usize..]) };
            (correlation(a, b), lag)
        })
        .fold((f64::MIN, 0), |best, c| if c.0 > best.0 { c } else { best })
}

/// How far apart two correct conversions' envelopes may start: decoders differ in the lead-in
/// they drop (ffmpeg's WMA decoder starts one frame, up to 64 ms, before the source). Two
/// 50 ms windows; [`sound`]'s channels take turns every five.
const MAX_LAG_WINDOWS: i32 = 2;

/// It sounds like the source: per output channel, the loudness envelope (RMS over 50 ms
/// windows) of the MP3 correlates ≥ 0.9 with that of ffmpeg's own conversion of the source to
/// MP3 ([`ffmpeg_conversion`]), at the best of the offsets up to [`MAX_LAG_WINDOWS`], and the
/// channel's level is within 3 dB of ffmpeg's. Catches silence, garbled samples, swapped
/// channels, down-mixes from the wrong sources and at the wrong level. The source must have an
/// envelope that varies (e.g. [`sound`]).
pub fn assert_sounds_like_source(source: &Path, mp3: &Path, report: &Report) {
    let ours = decode_planar(mp3, report.channels, report.sample_rate);
    let reference = mp3.with_extension("ffmpeg.mp3");
    ffmpeg_conversion(source, &reference, report.channels, report.sample_rate);
    let theirs = decode_planar(&reference, report.channels, report.sample_rate);
    for (c, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let (eo, et) = (envelope(o, report.sample_rate), envelope(t, report.sample_rate));
        let (r, lag) = best_correlation(&eo, &et);
        assert!(
            r >= 0.9,
            "channel {c}: loudness envelope correlates {r:.3} with ffmpeg's conversion at best (offset {lag} windows; want ≥ 0.9)"
        );
        let (lo, lt) = (rms_db(o), rms_db(t));
        assert!((lo - lt).abs() <= 3.0, "channel {c}: level {lo:.1} dB, ffmpeg's conversion {lt:.1} dB (want within 3 dB)");
    }
}
