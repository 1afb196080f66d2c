//! Parallel gapless encoding: the MP3 that several LAME instances make of one stream, spliced,
//! against the serial encode of the same source. At every MP3 rate, VBR and CBR, mono and
//! stereo, on signals that stress a splice (a sine sweep, speech-like noise, steady noise,
//! silence cut by onsets right where the streams are spliced), each MP3 must decode in ffmpeg
//! and mpg123 without a warning to exactly the source's samples, be as close to the source as
//! the serial encode (SNR within 0.3 dB), and have no click where it was spliced: no 50 ms
//! window within 50 ms of where a splice may be has more error than the serial encode's same
//! window by more than 1 dB, and, for steady noise, than the median window of the second
//! around it by more than 1 dB. (A median is no yardstick for the other signals, even for one
//! LAME instance: a sweep's error comes and goes with its frequency (the serial encode of the
//! 32 kHz sweep has a window at -61 dB near the first splice, the second around it a median
//! of -78 dB), speech's and onsets' with their level.)

use std::path::{Path, PathBuf};
use std::process::Command;

use media::{Options, PARALLEL_NEAR_FRAMES, PARALLEL_SEGMENT_FRAMES, Preset, Report};

use crate::support::{Dir, decode_planar, decoded_samples};

/// Instances for the parallel encode: more than the segments in flight on two cores.
const THREADS: usize = 3;
/// Splices per file.
const SPLICES: usize = 2;

#[derive(Clone, Copy, Debug)]
enum Signal {
    /// A sine sweeping from 50 Hz to a quarter of the rate (the other channel sweeping down).
    Sweep,
    /// Noise in syllables: bursts three to four times a second.
    Speech,
    /// Noise at one level throughout.
    Noise,
    /// Silent up to just after each splice point, then loud: an onset where streams meet.
    Onsets,
}

fn frame_len(rate: u32) -> usize {
    if rate >= 32000 { 1152 } else { 576 }
}

/// A source of `SPLICES` splices and a half segment more, at `rate`.
fn source(dir: &Dir, signal: Signal, rate: u32, channels: usize) -> PathBuf {
    let segment = (PARALLEL_SEGMENT_FRAMES * frame_len(rate)) as f64 / f64::from(rate);
    let seconds = segment * (SPLICES as f64 + 0.5);
    let top = f64::from(rate) / 4.0 - 50.0;
    let exprs: [String; 2] = match signal {
        Signal::Sweep => {
            [format!("0.5*sin(2*PI*(50*t+{top}*t*t/(2*{seconds})))"), format!("0.5*sin(2*PI*(({top}+50)*t-{top}*t*t/(2*{seconds})))")]
        }
        Signal::Speech => {
            ["(random(0)-0.5)*1.2*sin(2*PI*1.7*t)*sin(2*PI*1.7*t)".into(), "(random(1)-0.5)*1.2*sin(2*PI*2.1*t+1)*sin(2*PI*2.1*t+1)".into()]
        }
        Signal::Noise => ["(random(0)-0.5)*0.5".into(), "(random(1)-0.5)*0.5".into()],
        Signal::Onsets => {
            // Silent through the second half of each segment, loud from one frame past its end.
            let onset = frame_len(rate) as f64 / f64::from(rate);
            let loud = |seed: u32| format!("(0.4*sin(2*PI*440*t)+(random({seed})-0.5)*0.4)");
            let gate = format!("between(mod(t\\,{segment})\\,{onset}\\,{half})", half = segment / 2.0);
            [format!("{gate}*{}", loud(0)), format!("{gate}*{}", loud(1))]
        }
    };
    let exprs = if channels == 2 { format!("{}|{}", exprs[0], exprs[1]) } else { exprs[0].clone() };
    let lavfi = format!("aevalsrc=exprs={exprs}:s={rate}:d={seconds:.3}");
    dir.ffmpeg(&format!("{signal:?}-{rate}-{channels}.wav"), &["-f", "lavfi", "-i", &lavfi, "-c:a", "pcm_s16le"])
}

fn convert(dir: &Dir, source: &Path, preset: Preset, threads: usize) -> (PathBuf, Report) {
    let out = dir.path(&format!("{}-{threads}.mp3", source.file_stem().unwrap().to_str().unwrap()));
    let options = Options { encode_threads: threads, ..Options::for_path(source, preset) };
    let report = media::convert_file(source, &out, &options, None)
        .unwrap_or_else(|e| panic!("converting {} on {threads} threads failed: [{}] {e}", source.display(), e.code()));
    (out, report)
}

/// What ffmpeg prints at `-v warning` while decoding the whole file.
fn ffmpeg_warnings(mp3: &Path) -> String {
    let res =
        Command::new("ffmpeg").args(["-v", "warning", "-nostdin", "-i"]).arg(mp3).args(["-f", "null", "-"]).output().expect("run ffmpeg");
    assert!(res.status.success(), "ffmpeg could not decode {}", mp3.display());
    String::from_utf8_lossy(&res.stderr).trim().to_string()
}

/// Samples per channel mpg123 decodes (gapless, as it does by default), and what it printed.
fn mpg123(mp3: &Path) -> (usize, String) {
    let found = Command::new("mpg123").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "`mpg123` is not on PATH: these tests need it (local-dev/install-deps.sh, or apt-get install mpg123)");
    let res = Command::new("mpg123").args(["-q", "-s", "--mono"]).arg(mp3).output().expect("run mpg123");
    assert!(res.status.success(), "mpg123 could not decode {}: {}", mp3.display(), String::from_utf8_lossy(&res.stderr));
    (res.stdout.len() / 2, String::from_utf8_lossy(&res.stderr).trim().to_string())
}

fn db(power: f64) -> f64 {
    10.0 * power.max(1e-20).log10()
}

/// Signal-to-noise ratio of `decoded` against `source`, all channels.
fn snr(source: &[Vec<f32>], decoded: &[Vec<f32>]) -> f64 {
    let (mut signal, mut noise) = (0.0, 0.0);
    for (s, d) in source.iter().zip(decoded) {
        for (a, b) in s.iter().zip(d) {
            signal += f64::from(*a).powi(2);
            noise += f64::from(a - b).powi(2);
        }
    }
    db(signal) - db(noise)
}

/// Error power (dB) of each 50 ms window starting at `starts`, all channels.
fn window_errors(source: &[Vec<f32>], decoded: &[Vec<f32>], rate: u32, starts: impl Iterator<Item = usize>) -> Vec<f64> {
    let window = rate as usize / 20;
    starts
        .map(|at| {
            let mut power = 0.0;
            for (s, d) in source.iter().zip(decoded) {
                let end = (at + window).min(s.len()).min(d.len());
                power += s[at.min(end)..end].iter().zip(&d[at.min(end)..end]).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
            }
            db(power / (window * source.len()) as f64)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Window starts, a quarter window apart, covering 50 ms either side of every frame splice `k`
/// is first looked for at segment boundary `s` (the decoded sample of frame `k` is
/// `k * frame - 576`); only where none joins there does it go further into the overlap.
fn near_splices(rate: u32, len: usize) -> Vec<(usize, usize)> {
    let (frame, window) = (frame_len(rate), rate as usize / 20);
    (1..=SPLICES)
        .flat_map(|s| {
            let first = (s * PARALLEL_SEGMENT_FRAMES * frame).saturating_sub(576 + 2 * window);
            let last = ((s * PARALLEL_SEGMENT_FRAMES + PARALLEL_NEAR_FRAMES + 1) * frame + window).saturating_sub(576);
            (first..last.min(len - window)).step_by(window / 4).map(move |at| (s, at))
        })
        .collect()
}

/// Error power (dB of full scale) of a window, no lower than this: differences below it are
/// inaudible (a click is tens of dB above) and would make near-silent windows look like failures.
const FLOOR_DB: f64 = -70.0;

fn check(signal: Signal, rate: u32, channels: usize, preset: Preset) {
    let dir = Dir::new();
    let src = source(&dir, signal, rate, channels);
    let (serial, _) = convert(&dir, &src, preset, 1);
    let (parallel, report) = convert(&dir, &src, preset, THREADS);
    let case = format!("{signal:?}, {rate} Hz, {channels} channel(s), {preset}");
    let original = decode_planar(&src, channels as u8, rate);
    let n = original[0].len();

    // Gapless, and clean in two decoders. (Where LAME has no room for its tag, a frame too
    // small, neither encode is gapless: the parallel one is then as long as the serial one.)
    let tagged = std::fs::read(&serial).unwrap().windows(4).take(1 << 16).any(|w| w == b"Info" || w == b"Xing");
    let length = if tagged { n } else { decoded_samples(&serial) as usize };
    assert_eq!(decoded_samples(&parallel) as usize, length, "{case}: ffmpeg decodes the parallel MP3 to the source's samples");
    assert_eq!(report.samples as usize, n, "{case}: the report counts the source's samples");
    let mut warned = ffmpeg_warnings(&parallel);
    if !tagged {
        // Without a tag, ffmpeg notes that it guesses the length; not a decoding warning.
        warned = warned.lines().filter(|l| !l.contains("Estimating duration from bitrate")).collect();
    }
    assert_eq!(warned, "", "{case}: ffmpeg warns decoding the parallel MP3");
    let (samples, warnings) = mpg123(&parallel);
    assert_eq!(warnings, "", "{case}: mpg123 warns decoding the parallel MP3");
    assert_eq!(samples, length, "{case}: mpg123 decodes the parallel MP3 to the source's samples");

    // As close to the source as one LAME instance gets.
    let untagged_delay = if tagged { 0 } else { 576 + 529 };
    let ours: Vec<Vec<f32>> = decode_planar(&parallel, channels as u8, rate).into_iter().map(|c| c[untagged_delay..].to_vec()).collect();
    let theirs: Vec<Vec<f32>> = decode_planar(&serial, channels as u8, rate).into_iter().map(|c| c[untagged_delay..].to_vec()).collect();
    let (snr_parallel, snr_serial) = (snr(&original, &ours), snr(&original, &theirs));
    assert!(snr_parallel >= snr_serial - 0.3, "{case}: SNR {snr_parallel:.2} dB, the serial encode's {snr_serial:.2} dB");

    // No click at a splice: near every one, no window with more error than the serial
    // encode's same window by more than 1 dB.
    let near = near_splices(rate, n);
    let near_ours = window_errors(&original, &ours, rate, near.iter().map(|w| w.1));
    let near_theirs = window_errors(&original, &theirs, rate, near.iter().map(|w| w.1));
    for ((splice, at), (o, t)) in near.iter().zip(near_ours.iter().zip(&near_theirs)) {
        assert!(
            o.max(FLOOR_DB) <= t.max(FLOOR_DB) + 1.0,
            "{case}: 50 ms window at sample {at} near splice {splice}: error {o:.1} dB, the serial encode's {t:.1} dB"
        );
    }
    // Where the signal is steady, nor more than the median window of the second around it by
    // more than 1 dB.
    if matches!(signal, Signal::Noise) {
        let window = rate as usize / 20;
        for splice in 1..=SPLICES {
            let centre = splice * PARALLEL_SEGMENT_FRAMES * frame_len(rate);
            let around = (centre.saturating_sub(rate as usize)..(centre + rate as usize).min(n - window)).step_by(window);
            let typical = median(window_errors(&original, &ours, rate, around));
            for ((s, at), o) in near.iter().zip(&near_ours).filter(|((s, _), _)| *s == splice) {
                assert!(
                    o.max(FLOOR_DB) <= typical.max(FLOOR_DB) + 1.0,
                    "{case}: 50 ms window at sample {at} near splice {s}: error {o:.1} dB, the median window around it {typical:.1} dB"
                );
            }
        }
    }
}

#[test]
fn a_sweep_at_every_mp3_rate_vbr_stereo_and_cbr_mono() {
    for rate in media::MP3_RATES {
        check(Signal::Sweep, rate, 2, Preset::Vbr(2));
        check(Signal::Sweep, rate, 1, Preset::Cbr(if rate >= 32000 { 128 } else { 64 }));
    }
}

#[test]
fn a_sweep_vbr_mono_and_cbr_stereo() {
    check(Signal::Sweep, 44100, 1, Preset::Vbr(0));
    check(Signal::Sweep, 48000, 2, Preset::Cbr(320));
    check(Signal::Sweep, 22050, 2, Preset::Cbr(64));
    // No room for LAME's tag in a 156-byte frame.
    check(Signal::Sweep, 22050, 1, Preset::Cbr(48));
}

#[test]
fn steady_noise() {
    check(Signal::Noise, 44100, 2, Preset::Vbr(2));
    check(Signal::Noise, 44100, 2, Preset::Cbr(192));
    check(Signal::Noise, 16000, 1, Preset::Vbr(5));
}

#[test]
fn speech_like_noise() {
    check(Signal::Speech, 44100, 2, Preset::Vbr(2));
    check(Signal::Speech, 44100, 1, Preset::Cbr(128));
    check(Signal::Speech, 24000, 2, Preset::Vbr(0));
    check(Signal::Speech, 11025, 1, Preset::Cbr(32));
}

#[test]
fn onsets_where_the_streams_are_spliced() {
    check(Signal::Onsets, 44100, 2, Preset::Vbr(2));
    check(Signal::Onsets, 44100, 1, Preset::Cbr(128));
    check(Signal::Onsets, 22050, 2, Preset::Cbr(64));
    check(Signal::Onsets, 8000, 1, Preset::Vbr(4));
}
