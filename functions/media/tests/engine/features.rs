//! Presets, tags and cover art, down-mixing, resampling, progress and cancellation.

use std::sync::atomic::AtomicBool;

use media::{Mp3Sink, Options, Preset};

use crate::support::{Dir, args, assert_same_duration, lame_tag_kind, mp3_tags, probe_one, sine, video};

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn cbr_preset_writes_a_constant_bitrate_stream_with_an_info_tag() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.wav", &args(&[sine(44100, 2.0)], &["-ac", "2"]));
    let (mp3, report) = dir.convert(&src, "cbr128".parse().unwrap());
    assert_eq!(lame_tag_kind(&mp3), "Info");
    let bit_rate: u32 = probe_one(&mp3, "stream=bit_rate", "bit_rate").unwrap().parse().unwrap();
    assert_eq!(bit_rate, 128_000);
    assert_same_duration(&src, &mp3, &report);
}

#[test]
fn cbr56_is_supported() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.wav", &args(&[sine(32000, 1.0)], &[]));
    let (mp3, _) = dir.convert(&src, Preset::Cbr(56));
    let bit_rate: u32 = probe_one(&mp3, "stream=bit_rate", "bit_rate").unwrap().parse().unwrap();
    assert_eq!(bit_rate, 56_000);
}

#[test]
fn vbr_quality_changes_the_size() {
    let dir = Dir::new();
    // Noise needs bits; a sine would hit LAME's floor at every quality.
    let src = dir.ffmpeg("in.wav", &["-f", "lavfi", "-i", "anoisesrc=d=2:c=pink:r=44100:a=0.3", "-ac", "2"]);
    let (_, best) = dir.convert(&src, Preset::Vbr(0));
    let (mp3, worst) = dir.convert(&src, Preset::Vbr(9));
    assert!(best.bytes > worst.bytes * 3 / 2, "V0 {} bytes vs V9 {} bytes", best.bytes, worst.bytes);
    assert_eq!(lame_tag_kind(&mp3), "Xing");
}

#[test]
fn tags_and_cover_art_are_carried_over() {
    let dir = Dir::new();
    let cover = dir.ffmpeg("cover.png", &["-f", "lavfi", "-i", "color=c=red:s=32x32:d=1", "-frames:v", "1"]);
    let cover = cover.to_str().unwrap();
    let src = dir.ffmpeg(
        "in.mp3",
        &args(
            &[sine(44100, 1.5)],
            &[
                "-i",
                cover,
                "-map",
                "0",
                "-map",
                "1",
                "-c:a",
                "libmp3lame",
                "-c:v",
                "png",
                "-disposition:v",
                "attached_pic",
                "-id3v2_version",
                "3",
                "-metadata",
                "title=Song Title",
                "-metadata",
                "artist=The Artist",
                "-metadata",
                "album=The Album",
                "-metadata",
                "date=2021",
                "-metadata",
                "comment=Nice one",
            ],
        ),
    );
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_same_duration(&src, &mp3, &report);
    let tags = mp3_tags(&mp3);
    assert_eq!(tag(&tags, "title"), Some("Song Title"), "{tags:?}");
    assert_eq!(tag(&tags, "artist"), Some("The Artist"), "{tags:?}");
    assert_eq!(tag(&tags, "album"), Some("The Album"), "{tags:?}");
    assert!(tag(&tags, "date").is_some_and(|d| d.starts_with("2021")), "{tags:?}");
    assert_eq!(tag(&tags, "comment"), Some("Nice one"), "{tags:?}");
    let pic = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(&mp3)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pic.stdout).trim(), "png", "cover art attached");
}

#[test]
fn mp4_tags_are_carried_over_and_the_file_stem_is_the_fallback_title() {
    let dir = Dir::new();
    let tagged = dir.ffmpeg(
        "tagged.mp4",
        &args(
            &[sine(44100, 1.0), video(1.0)],
            &["-c:v", "libx264", "-c:a", "aac", "-shortest", "-metadata", "title=Clip", "-metadata", "artist=Me"],
        ),
    );
    let (mp3, _) = dir.convert(&tagged, Preset::default());
    let tags = mp3_tags(&mp3);
    assert_eq!(tag(&tags, "title"), Some("Clip"), "{tags:?}");
    assert_eq!(tag(&tags, "artist"), Some("Me"), "{tags:?}");

    let plain = dir.ffmpeg("My Holiday.m4a", &args(&[sine(44100, 1.0)], &["-c:a", "aac"]));
    let (mp3, _) = dir.convert(&plain, Preset::default());
    assert_eq!(tag(&mp3_tags(&mp3), "title"), Some("My Holiday"));
}

#[test]
fn five_one_is_downmixed_to_stereo() {
    let dir = Dir::new();
    // Tone only in the left surround: it must come out on the left, not the right.
    let src = dir.ffmpeg(
        "in.flac",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2:sample_rate=48000",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=48000:cl=mono",
            "-filter_complex",
            "[1]asplit=5[a][b][c][d][e];[a][b][c][d][0][e]join=inputs=6:channel_layout=5.1(side)[out]",
            "-map",
            "[out]",
            "-t",
            "2",
            "-c:a",
            "flac",
        ],
    );
    assert_eq!(probe_one(&src, "stream=channels", "channels").as_deref(), Some("6"));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.channels, 2);
    assert_same_duration(&src, &mp3, &report);
    let level = |chan: &str| -> f64 {
        let out = std::process::Command::new("ffmpeg")
            .args(["-v", "info", "-nostdin", "-i"])
            .arg(&mp3)
            .args(["-af", &format!("pan=mono|c0={chan},volumedetect"), "-f", "null", "-"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        let line = text.lines().find(|l| l.contains("mean_volume")).expect("volumedetect output");
        line.split("mean_volume:").nth(1).unwrap().trim().trim_end_matches(" dB").parse().unwrap()
    };
    let (left, right) = (level("c0"), level("c1"));
    // A -21 dB tone in one surround, at -3 dB and normalised by 1/(1 + 2 x 0.707): about -32 dB.
    assert!(left > -36.0 && left < -28.0, "left carries the surround tone: {left} dB");
    assert!(right < left - 30.0, "right stays silent: {right} dB vs left {left} dB");
}

#[test]
fn rate_mp3_cannot_carry_is_resampled_to_the_nearest() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.wav", &args(&[sine(7350, 2.0)], &[]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.sample_rate, 8000);
    assert_same_duration(&src, &mp3, &report);
}

#[test]
fn wav_at_88200_becomes_48000() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.wav", &args(&[sine(88200, 2.0)], &["-ac", "2"]));
    let (mp3, report) = dir.convert(&src, Preset::default());
    assert_eq!(report.sample_rate, 48000);
    assert_same_duration(&src, &mp3, &report);
}

/// An in-memory sink, to check the sink contract and progress reporting.
#[derive(Default)]
struct MemSink(std::io::Cursor<Vec<u8>>);

impl std::io::Write for MemSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Mp3Sink for MemSink {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let end = self.0.position();
        self.0.set_position(offset);
        std::io::Write::write_all(&mut self.0, bytes)?;
        self.0.set_position(end);
        Ok(())
    }
}

fn options() -> Options {
    Options { extension: Some("mp4".into()), fallback_title: "x".into(), ..Options::default() }
}

#[test]
fn progress_rises_to_one_and_is_not_chatty() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.mp4", &args(&[sine(44100, 3.0)], &["-c:a", "aac"]));
    let mut sink = MemSink::default();
    let mut seen = Vec::new();
    let report =
        media::convert(Box::new(std::fs::File::open(&src).unwrap()), &mut sink, &options(), &mut |p| seen.push(p), &AtomicBool::new(false))
            .unwrap();
    assert_eq!(report.bytes, sink.0.get_ref().len() as u64);
    assert!(seen.len() >= 3 && seen.len() <= 110, "{} progress calls", seen.len());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "monotonic: {seen:?}");
    assert_eq!(seen.last().copied(), Some(1.0));
}

#[test]
fn cancel_stops_the_conversion() {
    let dir = Dir::new();
    let src = dir.ffmpeg("in.mp4", &args(&[sine(44100, 2.0)], &["-c:a", "aac"]));
    let err = media::convert(
        Box::new(std::fs::File::open(&src).unwrap()),
        &mut MemSink::default(),
        &options(),
        &mut |_| {},
        &AtomicBool::new(true),
    )
    .unwrap_err();
    assert_eq!(err.code(), "cancelled");
}
