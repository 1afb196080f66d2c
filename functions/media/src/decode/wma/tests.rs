//! Our decoder against ffmpeg's, on streams ffmpeg's encoder makes, and on the same frames
//! repacked into bit-reservoir superframes (as Microsoft's encoder writes them), which
//! ffmpeg's encoder cannot make: ffmpeg decodes the repacked stream too, so the test does not
//! take our reading of the format on trust.

use std::path::Path;
use std::process::Command;

use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, Timestamp};

use super::*;

fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run ffmpeg");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A stream made by ffmpeg's encoder: the WMA file, its WAVEFORMATEX and its packets.
struct Stream {
    wma: std::path::PathBuf,
    format: Vec<u8>,
    packets: Vec<Vec<u8>>,
    channels: usize,
}

fn stream(dir: &Path, codec: &str, rate: u32, channels: usize, kbps: u32) -> Stream {
    let wma = dir.join(format!("{codec}-{rate}-{channels}-{kbps}.wma"));
    let raw = dir.join("packets.raw");
    // Tones that come and go over noise, so that every band (and any noise coding) is heard.
    let tone = format!(
        "aevalsrc=exprs='0.3*sin(2*PI*440*t)*gte(mod(t\\,1)\\,0.5)+0.1*sin(2*PI*3000*t)|0.3*sin(2*PI*660*t)+0.1*sin(2*PI*5000*t)*gte(mod(t\\,0.7)\\,0.3)':s={rate}:d=3"
    );
    let noise = format!("anoisesrc=a=0.05:r={rate}:d=3");
    let (w, r) = (wma.to_str().unwrap(), raw.to_str().unwrap());
    let (ch, b) = (channels.to_string(), format!("{kbps}k"));
    run(&["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", &tone, "-f", "lavfi", "-i", &noise]
        .into_iter()
        .chain(["-filter_complex", "[0][1]amix=inputs=2:normalize=0", "-ac", &ch, "-c:a", codec, "-b:a", &b, w])
        .collect::<Vec<_>>());
    run(&["ffmpeg", "-v", "error", "-y", "-i", w, "-map", "0:a", "-c", "copy", "-f", "data", r]);
    let probe = |entries: &str| {
        let out = run(&[
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            entries,
            "-of",
            "csv=p=0",
            w,
        ]);
        String::from_utf8_lossy(&out).trim().lines().next().unwrap().parse::<u32>().unwrap()
    };
    let block_align = probe("packet=size");
    let bit_rate = probe("stream=bit_rate");
    let (tag, extra): (u16, &[u8]) = if codec == "wmav1" { (0x0160, &[0, 0, 1, 0]) } else { (0x0161, &[0, 0, 0, 0, 1, 0, 0, 0, 0, 0]) };
    let format = wave_format(tag, channels, rate, bit_rate, block_align, extra);
    let packets = std::fs::read(&raw).unwrap().chunks_exact(block_align as usize).map(<[u8]>::to_vec).collect();
    Stream { wma, format, packets, channels }
}

fn wave_format(tag: u16, channels: usize, rate: u32, bit_rate: u32, block_align: u32, extra: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(tag.to_le_bytes());
    f.extend((channels as u16).to_le_bytes());
    f.extend(rate.to_le_bytes());
    f.extend((bit_rate / 8).to_le_bytes());
    f.extend((block_align as u16).to_le_bytes());
    f.extend(16u16.to_le_bytes());
    f.extend((extra.len() as u16).to_le_bytes());
    f.extend(extra);
    f
}

/// Our decode, interleaved.
fn ours(format: &[u8], packets: &[Vec<u8>]) -> Vec<f32> {
    let mut decoder = WmaDecoder::new(Some(format)).unwrap();
    let mut planes = Vec::new();
    let mut out = Vec::new();
    let mut add = |planes: &[Vec<f32>], frames: usize| (0..frames).for_each(|i| planes.iter().for_each(|p| out.push(p[i])));
    for data in packets {
        let block = decoder.decode(&Packet::new(1, Timestamp::new(0), Duration::new(0), data.clone()), &mut planes).unwrap();
        add(&planes, block.frames);
    }
    let block = decoder.drain(&mut planes);
    add(&planes, block.frames);
    out
}

/// ffmpeg's decode, interleaved.
fn ffmpegs(file: &Path) -> Vec<f32> {
    let out = run(&["ffmpeg", "-v", "error", "-i", file.to_str().unwrap(), "-f", "f32le", "-c:a", "pcm_f32le", "-"]);
    out.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// How close `ours` is to `reference` (dB): the reference's power over the difference's.
fn snr(ours: &[f32], reference: &[f32]) -> f64 {
    let signal: f64 = reference.iter().map(|&x| f64::from(x).powi(2)).sum();
    let noise: f64 = ours.iter().zip(reference).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// Our decode is ffmpeg's, sample for sample, to float rounding, after its first frame (which
/// ffmpeg drops: see `WmaDecoder::delay`).
#[test]
fn decodes_what_ffmpeg_decodes() {
    let dir = tempfile::tempdir().unwrap();
    for (codec, rate, channels, kbps) in [
        ("wmav2", 44_100, 2, 128),
        ("wmav2", 48_000, 2, 192),
        ("wmav2", 44_100, 2, 32),
        ("wmav2", 32_000, 2, 96),
        ("wmav2", 22_050, 2, 32),
        ("wmav2", 16_000, 1, 24),
        ("wmav2", 11_025, 1, 24),
        ("wmav1", 44_100, 2, 128),
        ("wmav1", 32_000, 2, 64),
        ("wmav1", 22_050, 1, 32),
    ] {
        let s = stream(dir.path(), codec, rate, channels, kbps);
        let frame_len = Params::parse(&s.format).unwrap().frame_len;
        let decoded = ours(&s.format, &s.packets);
        let ours = &decoded[frame_len * s.channels..];
        let reference = ffmpegs(&s.wma);
        let what = format!("{codec} {rate} Hz {channels} ch {kbps} kbps");
        assert_eq!(ours.len(), reference.len(), "{what}: samples");
        let snr = snr(ours, &reference);
        assert!(snr > 110.0, "{what}: {snr:.1} dB from ffmpeg's decode");
    }
}

struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    fn put(&mut self, value: u32, n: usize) {
        for i in (0..n).rev() {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.bytes.last_mut().unwrap() |= bit << (7 - self.bits % 8);
            self.bits += 1;
        }
    }

    fn put_bits(&mut self, from: &[u8], start: usize, n: usize) {
        for i in start..start + n {
            self.put(u32::from((from[i / 8] >> (7 - i % 8)) & 1), 1);
        }
    }
}

/// The frames of `packets` (one each), as (bytes, bits).
fn frames(format: &[u8], packets: &[Vec<u8>]) -> Vec<(Vec<u8>, usize)> {
    let mut decoder = FrameDecoder::new(Params::parse(format).unwrap());
    let mut planes = vec![Vec::new(); 2];
    packets
        .iter()
        .map(|p| {
            let mut bits = Bits::new(p);
            decoder.decode(&mut bits, &mut planes).unwrap();
            (p.clone(), bits.pos())
        })
        .collect()
}

/// The frames packed end to end into superframes of `size` bytes: a 4-bit index, the count
/// of frames that end in it, the offset to the first that starts in it, then the bits.
fn superframes(frames: &[(Vec<u8>, usize)], size: usize, offset_bits: usize) -> Vec<Vec<u8>> {
    let mut stream = BitWriter { bytes: Vec::new(), bits: 0 };
    let mut ends = Vec::new();
    for (bytes, bits) in frames {
        stream.put_bits(bytes, 0, *bits);
        ends.push(stream.bits);
    }
    let payload = size * 8 - 8 - offset_bits;
    let mut out = Vec::new();
    let (mut at, mut next) = (0, 0);
    while at < stream.bits {
        let end = (at + payload).min(stream.bits);
        let mut sf = BitWriter { bytes: Vec::new(), bits: 0 };
        let ended = ends.iter().filter(|&&e| e > at && e <= end).count();
        // The first superframe's count includes a frame carried over from none.
        let count = if at == 0 { ended + 1 } else { ended };
        let offset = if at == 0 { 0 } else { ends[next] - at };
        next += ended;
        sf.put(out.len() as u32 & 15, 4);
        sf.put(count as u32, 4);
        sf.put(offset as u32, offset_bits);
        sf.put_bits(&stream.bytes, at, end - at);
        sf.bytes.resize(size, 0);
        out.push(sf.bytes);
        at = end;
    }
    out
}

fn wav(path: &Path, format: &[u8], data: &[u8]) {
    let mut f = Vec::new();
    f.extend(b"RIFF");
    f.extend(((4 + 8 + format.len() + 8 + data.len()) as u32).to_le_bytes());
    f.extend(b"WAVEfmt ");
    f.extend((format.len() as u32).to_le_bytes());
    f.extend(format);
    f.extend(b"data");
    f.extend((data.len() as u32).to_le_bytes());
    f.extend(data);
    std::fs::write(path, f).unwrap();
}

/// (WMA v1 stereo aligns each channel's coefficients to a byte of the superframe, so frames
/// cannot be moved by bits: the repacking takes mono v1.)
#[test]
fn decodes_superframes_with_the_bit_reservoir_as_ffmpeg_does() {
    let dir = tempfile::tempdir().unwrap();
    for (codec, rate, channels, kbps) in [("wmav2", 44_100, 2, 128), ("wmav2", 22_050, 1, 32), ("wmav1", 44_100, 1, 64)] {
        let s = stream(dir.path(), codec, rate, channels, kbps);
        let frames = frames(&s.format, &s.packets);
        let p = Params::parse(&s.format).unwrap();
        // Reservoir on (flags2 bit 1); superframes a little larger than a frame.
        let mut format = s.format.clone();
        let flags2 = if codec == "wmav1" { 18 + 2 } else { 18 + 4 };
        format[flags2] |= 2;
        let size = p.block_align + p.block_align / 3;
        format[12..14].copy_from_slice(&(size as u16).to_le_bytes());
        let packed = superframes(&frames, size, p.byte_offset_bits as usize + 3);
        assert!(packed.len() < s.packets.len(), "{} superframes for {} frames", packed.len(), s.packets.len());
        let what = format!("{codec} {rate} Hz {channels} ch {kbps} kbps");

        let plain = ours(&s.format, &s.packets);
        let repacked = ours(&format, &packed);
        assert!(repacked.len() >= plain.len(), "{what}: {} samples of {}", repacked.len(), plain.len());
        assert_eq!(&repacked[..plain.len() - p.frame_len * channels], &plain[..plain.len() - p.frame_len * channels], "{what}");

        let file = dir.path().join("repacked.wav");
        wav(&file, &format, &packed.concat());
        let reference = ffmpegs(&file);
        let repacked = &repacked[p.frame_len * channels..];
        assert_eq!(reference.len(), repacked.len(), "{what}: samples");
        let snr = snr(repacked, &reference);
        assert!(snr > 110.0, "{what}: {snr:.1} dB from ffmpeg's decode of the superframes");
    }
}
