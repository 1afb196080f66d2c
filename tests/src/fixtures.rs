//! Real media made by ffmpeg (installed by `local-dev/install-deps.sh`), and MP3 checks.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(program: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); install it with local-dev/install-deps.sh"));
    assert!(output.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Runs `ffmpeg -v error -y ARGS OUT`.
pub fn ffmpeg(args: &[&str], out: &Path) {
    let out = out.to_str().unwrap_or_default();
    run("ffmpeg", &[&["-v", "error", "-y"], args, &[out]].concat());
}

/// A short MP4 video (MPEG-4 Part 2 video, stereo 44.1 kHz AAC audio) of `seconds`.
pub fn video(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    let duration = format!("{seconds}");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=44100:duration={duration}"),
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc=size=64x48:rate=10:duration={duration}"),
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-c:v",
            "mpeg4",
            "-shortest",
            path.to_str().unwrap_or_default(),
        ],
    );
    path
}

/// An audio-only M4A (AAC) of `seconds`: quick to make even when long.
pub fn audio(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=330:sample_rate=44100:duration={seconds}"),
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            path.to_str().unwrap_or_default(),
        ],
    );
    path
}

/// Duration in seconds of the first audio stream, as ffprobe reads it (LAME header included).
pub fn audio_duration(path: &Path) -> f64 {
    let output = run(
        "ffprobe",
        &["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration", "-of", "csv=p=0", path.to_str().unwrap_or_default()],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().unwrap_or_else(|_| panic!("ffprobe gave no duration for {}: {text:?}", path.display()))
}

/// Asserts that `path` is an MP3 that decodes with no errors and lasts `seconds` within one
/// MP3 frame (1152 samples). The length is what ffmpeg decodes, which honours the LAME tag's
/// encoder delay and padding; ffprobe's MP3 duration would include them.
pub fn assert_mp3(path: &Path, seconds: f64) {
    let file = path.to_str().unwrap_or_default();
    let format = run("ffprobe", &["-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", file]);
    assert_eq!(String::from_utf8_lossy(&format.stdout).trim(), "mp3", "{} is not an MP3", path.display());
    let rate = run("ffprobe", &["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate", "-of", "csv=p=0", file]);
    let rate: f64 = String::from_utf8_lossy(&rate.stdout).trim().parse().expect("sample rate");
    let decoded = run("ffmpeg", &["-v", "error", "-nostdin", "-i", file, "-f", "s16le", "-ac", "1", "-"]);
    assert!(decoded.stderr.is_empty(), "decoding {} printed errors: {}", path.display(), String::from_utf8_lossy(&decoded.stderr));
    let samples = decoded.stdout.len() as f64 / 2.0;
    let expected = seconds * rate;
    assert!(
        (samples - expected).abs() <= 1152.0,
        "{} has {samples} samples, expected {expected} ({seconds} s at {rate} Hz)",
        path.display()
    );
}

const MIB: u64 = 1024 * 1024;

/// A 12 MB PNG of noise (it does not compress).
fn big_picture(dir: &Path) -> PathBuf {
    let picture = dir.join("cover.png");
    if !picture.exists() {
        ffmpeg(&["-f", "lavfi", "-i", "nullsrc=s=3000x3000,geq=random(1)*255:128:128", "-frames:v", "1"], &picture);
    }
    picture
}

/// A 2 s tone in `name` (its extension picks the container) with a 12 MB cover picture, as
/// ffmpeg embeds it: an ID3 APIC frame in MP3, `covr` in M4A, a PICTURE block in FLAC.
pub fn with_big_cover(dir: &Path, name: &str, codec: &str) -> PathBuf {
    let picture = big_picture(dir);
    let out = dir.join(name);
    let source = "sine=frequency=440:duration=2";
    let picture = picture.to_str().unwrap_or_default();
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            source,
            "-i",
            picture,
            "-map",
            "0",
            "-map",
            "1",
            "-c:a",
            codec,
            "-c:v",
            "copy",
            "-disposition:v",
            "attached_pic",
        ],
        &out,
    );
    assert!(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 5 * MIB, "the cover is in {name}");
    out
}

/// A 2 s tone in Matroska with 40 MB of attachments (subtitle fonts, as fansub releases carry).
pub fn mkv_with_big_attachments(dir: &Path) -> PathBuf {
    let font = dir.join("font.ttf");
    let noise: Vec<u8> = (0..40 * MIB as usize).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&font, noise).expect("write the font");
    let out = dir.join("fonts.mkv");
    let font = font.to_str().unwrap_or_default();
    ffmpeg(&["-f", "lavfi", "-i", "sine=duration=2", "-c:a", "libvorbis", "-attach", font, "-metadata:s:t", "mimetype=font/ttf"], &out);
    out
}

/// A 2 s Ogg Vorbis file whose Vorbis comment carries a 12 MB cover (METADATA_BLOCK_PICTURE):
/// the demuxer holds the whole comment packet, base64 and decoded, so it needs ~80 MB.
pub fn ogg_with_a_big_cover(dir: &Path) -> PathBuf {
    use base64::Engine;
    let png = std::fs::read(big_picture(dir)).expect("the picture");
    let mime = b"image/png";
    let mut block = Vec::new();
    block.extend_from_slice(&3u32.to_be_bytes());
    block.extend_from_slice(&(mime.len() as u32).to_be_bytes());
    block.extend_from_slice(mime);
    block.extend_from_slice(&0u32.to_be_bytes());
    for field in [3000u32, 3000, 24, 0, png.len() as u32] {
        block.extend_from_slice(&field.to_be_bytes());
    }
    block.extend_from_slice(&png);
    let metadata = dir.join("metadata.txt");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&block);
    std::fs::write(&metadata, format!(";FFMETADATA1\nMETADATA_BLOCK_PICTURE={encoded}\n")).expect("write metadata");
    let out = dir.join("covered.ogg");
    let metadata = metadata.to_str().unwrap_or_default();
    ffmpeg(&["-f", "lavfi", "-i", "sine=duration=2", "-i", metadata, "-map_metadata", "1", "-c:a", "libvorbis"], &out);
    out
}
