//! WMA v2 through the pure-Rust `oxideav-wma` decoder. One packet is one block of the stream's
//! `nBlockAlign` bytes; the track's extra data is its whole WAVEFORMATEX (see
//! `demux::wave_format`), which the decoder needs all of: version, rate, channels, bit rate and
//! the codec's own flags. The decoder holds each block until the next one arrives (a frame may
//! end inside it), so the last block's sound comes from [`PacketDecoder::drain`].
//!
//! Measured against ffmpeg's decoder (README, "What it reads"), the crate matches it at about
//! 137 dB once its output is scaled by [`GAIN`] and its first frame (the transform's lead-in,
//! which puts it one frame behind the source) is dropped — but only for the streams [`check`]
//! lets through. It decodes WMA v1, noise-coded streams (WMA v2 at low bit rates, and every
//! stream at 11–16 kHz) and rates between 22.05 and 44.1 kHz wrongly: garbled sound, or half
//! the length. Those are refused, naming why, rather than converted into the wrong sound.

use oxideav_core::{CodecId, CodecParameters, CodecTag, Decoder as Inner, Error as OxError, Frame, Packet as OxPacket, TimeBase};
use symphonia::core::audio::{Channels, Position};
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::layout::deinterleave;
use crate::decode::{Block, PacketDecoder};
use crate::demux::bytes::{le16, le32};

/// The crate's output is this much louder than the source (measured: 1/1.41625 at every rate,
/// bit rate and channel count that [`check`] accepts).
const GAIN: f32 = 0.706_089_1;

/// Packets one instance of the crate's decoder lives for before a fresh one takes over. The
/// crate keeps the whole stream's bits and walks them from the start for every packet, which
/// is quadratic (60 s of 128 kbps took 8.9 s, 20 s took 1.0 s) and unbounded in memory; a
/// relay of short-lived instances keeps both to what `RELAY_PACKETS` packets cost.
const RELAY_PACKETS: u64 = 64;

/// Packets a fresh instance decodes, unheard, before it takes over: the first ones' sound is
/// incomplete (no previous block to overlap, a frame begun in the packet before it skipped);
/// after them its state, and so its sound, is the old instance's.
const WARM_UP_PACKETS: u64 = 4;

pub struct WmaDecoder {
    params: CodecParameters,
    rate: u32,
    channels: usize,
    relay: u64,
    /// The instance whose sound is heard.
    main: Box<dyn Inner>,
    /// The one warming up to take over, and the packet it started at.
    spare: Option<(Box<dyn Inner>, u64)>,
    /// Packets sent so far.
    sent: u64,
    /// The first frame (the lead-in) has been dropped.
    started: bool,
    samples: Vec<f32>,
}

impl WmaDecoder {
    /// From the track's WAVEFORMATEX; an error names what is wrong with it.
    pub fn new(format: Option<&[u8]>) -> Result<WmaDecoder, String> {
        WmaDecoder::with_relay(format, RELAY_PACKETS)
    }

    fn with_relay(format: Option<&[u8]>, relay: u64) -> Result<WmaDecoder, String> {
        let f = format.ok_or("no stream format")?;
        let (Some(tag), Some(channels), Some(rate), Some(bytes_per_sec)) = (le16(f, 0), le16(f, 2), le32(f, 4), le32(f, 8)) else {
            return Err("stream format too short".into());
        };
        let bit_rate = u64::from(bytes_per_sec) * 8;
        check(tag, rate, channels, bit_rate)?;
        let mut params = CodecParameters::audio(CodecId::new("wma2"));
        params.tag = Some(CodecTag::WaveFormat(tag));
        params.sample_rate = Some(rate);
        params.channels = Some(channels);
        params.bit_rate = Some(bit_rate);
        params.extradata = le16(f, 16).and_then(|n| f.get(18..18 + usize::from(n))).unwrap_or_default().to_vec();
        let main = oxideav_wma::make_decoder(&params).map_err(|e| e.to_string())?;
        let channels = usize::from(channels);
        Ok(WmaDecoder { params, rate, channels, relay, main, spare: None, sent: 0, started: false, samples: Vec::new() })
    }

    /// What is in `samples`, as planes.
    fn block(&self, planes: &mut Vec<Vec<f32>>) -> Block {
        let frames = deinterleave(&self.samples, self.channels, &[], planes);
        if frames == 0 {
            return Block::empty();
        }
        let channels = if self.channels == 1 { Position::FRONT_CENTER } else { Position::FRONT_LEFT | Position::FRONT_RIGHT };
        Block { frames, rate: self.rate, channels: Channels::Positioned(channels) }
    }
}

/// Takes every frame `decoder` has ready: scaled into `heard`, or dropped when `None`.
fn take(decoder: &mut dyn Inner, mut heard: Option<&mut Vec<f32>>, started: &mut bool) {
    while let Ok(Frame::Audio(audio)) = decoder.receive_frame() {
        let Some(out) = heard.as_deref_mut() else { continue };
        if !*started {
            *started = true;
            continue;
        }
        let bytes = audio.data.first().map_or(&[][..], Vec::as_slice);
        out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * GAIN));
    }
}

impl PacketDecoder for WmaDecoder {
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let block = OxPacket::new(0, TimeBase::new(1, i64::from(self.rate)), packet.data.to_vec());
        match self.main.send_packet(&block) {
            Ok(()) => {}
            Err(OxError::Unsupported(_)) => return Err(SymError::Unsupported("wma: stream feature")),
            Err(_) => return Err(SymError::DecodeError("wma: undecodable block")),
        }
        let this = self.sent;
        self.sent += 1;
        if this > 0 && this.is_multiple_of(self.relay) {
            self.spare = oxideav_wma::make_decoder(&self.params).ok().map(|d| (d, this));
        }
        if let Some((spare, _)) = &mut self.spare
            && spare.send_packet(&block).is_err()
        {
            self.spare = None;
        }
        // Each packet sent releases the sound of the one before it.
        self.samples.clear();
        match self.spare.take() {
            Some((mut spare, since)) if this == since + WARM_UP_PACKETS => {
                take(self.main.as_mut(), None, &mut self.started);
                take(spare.as_mut(), Some(&mut self.samples), &mut self.started);
                self.main = spare;
            }
            Some((mut spare, since)) => {
                take(self.main.as_mut(), Some(&mut self.samples), &mut self.started);
                take(spare.as_mut(), None, &mut self.started);
                self.spare = Some((spare, since));
            }
            None => take(self.main.as_mut(), Some(&mut self.samples), &mut self.started),
        }
        Ok(self.block(planes))
    }

    fn drain(&mut self, planes: &mut Vec<Vec<f32>>) -> Block {
        self.spare = None;
        self.samples.clear();
        if self.main.flush().is_ok() {
            take(self.main.as_mut(), Some(&mut self.samples), &mut self.started);
        }
        self.block(planes)
    }

    fn reset(&mut self) {
        if let Ok(fresh) = oxideav_wma::make_decoder(&self.params) {
            self.main = fresh;
            self.spare = None;
            self.sent = 0;
            self.started = false;
        }
    }
}

/// Refuses the streams the crate decodes wrongly (see the module's notes), naming why.
fn check(tag: u16, rate: u32, channels: u16, bit_rate: u64) -> Result<(), String> {
    if tag == 0x0160 {
        return Err("version 1".into());
    }
    if tag != 0x0161 {
        return Err(format!("format tag {tag:#06x}"));
    }
    if !(1..=2).contains(&channels) {
        return Err(format!("{channels} channels"));
    }
    // The crate sizes frames from the rate after WMA v2's rounding down to 44.1, 22.05, 16,
    // 11.025 or 8 kHz, where the format sizes them from the stream's own rate: they differ
    // between 22.05 and 44.1 kHz.
    if rate > 22_050 && rate < 44_100 {
        return Err(format!("{rate} Hz"));
    }
    if noise_coded(rate, channels, bit_rate) {
        return Err(format!("noise coding at {rate} Hz, {} kbps", bit_rate / 1000));
    }
    Ok(())
}

/// Whether a WMA v2 stream codes its high bands as noise: the format decides it from the
/// rounded rate and the bits per sample (1.6 times more for stereo, which shares them).
fn noise_coded(rate: u32, channels: u16, bit_rate: u64) -> bool {
    let bits = bit_rate as f64 / (f64::from(channels) * f64::from(rate));
    let shared = if channels == 2 { bits * 1.6 } else { bits };
    match rate {
        44_100.. => shared < 0.61,
        22_050.. => shared < 1.16,
        8_000..11_025 => bits <= 0.75,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_streams_it_would_decode_wrongly() {
        assert_eq!(check(0x0160, 44_100, 2, 128_000), Err("version 1".into()));
        assert_eq!(check(0x0161, 32_000, 2, 128_000), Err("32000 Hz".into()));
        assert_eq!(check(0x0161, 44_100, 2, 32_000), Err("noise coding at 44100 Hz, 32 kbps".into()));
        assert!(check(0x0161, 16_000, 1, 48_000).is_err());
        assert!(check(0x0161, 11_025, 1, 24_000).is_err());
        assert!(check(0x0161, 44_100, 2, 6_000).is_err());
    }

    #[test]
    fn takes_the_streams_it_decodes_right() {
        for (rate, channels, kbps) in
            [(44_100, 2, 48), (44_100, 2, 128), (48_000, 2, 192), (44_100, 1, 64), (22_050, 2, 32), (22_050, 1, 32), (8_000, 1, 24)]
        {
            assert_eq!(check(0x0161, rate, channels, kbps * 1000), Ok(()), "{rate} Hz, {channels} channels, {kbps} kbps");
        }
    }
}

#[cfg(test)]
mod relay_tests {
    use std::process::Command;

    use symphonia::core::units::{Duration, Timestamp};

    use super::*;

    /// 12 s of 44.1 kHz stereo WMA v2 made by ffmpeg: its WAVEFORMATEX and its packets.
    fn stream(dir: &std::path::Path) -> (Vec<u8>, Vec<Vec<u8>>) {
        let wma = dir.join("in.wma");
        let raw = dir.join("in.raw");
        let tone = "aevalsrc=exprs='sin(2*PI*440*t)*(0.2+0.3*gte(mod(t\\,1)\\,0.5))|0.3*sin(2*PI*660*t)':s=44100:d=12";
        let run = |args: &[&str]| {
            let out = Command::new(args[0]).args(&args[1..]).output().expect("run ffmpeg");
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        };
        let (wma_s, raw_s) = (wma.to_str().unwrap(), raw.to_str().unwrap());
        run(&["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", tone, "-c:a", "wmav2", "-b:a", "128k", wma_s]);
        run(&["ffmpeg", "-v", "error", "-y", "-i", wma_s, "-map", "0:a", "-c", "copy", "-f", "data", raw_s]);
        let size = run(&[
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "packet=size",
            "-of",
            "csv=p=0",
            wma_s,
        ]);
        let block_align: usize = String::from_utf8_lossy(&size).trim().parse().unwrap();
        let mut format = Vec::new();
        format.extend(0x0161u16.to_le_bytes());
        format.extend(2u16.to_le_bytes());
        format.extend(44_100u32.to_le_bytes());
        format.extend(16_000u32.to_le_bytes());
        format.extend((block_align as u16).to_le_bytes());
        format.extend(16u16.to_le_bytes());
        format.extend(10u16.to_le_bytes());
        format.extend([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
        let packets = std::fs::read(&raw).unwrap().chunks_exact(block_align).map(<[u8]>::to_vec).collect();
        (format, packets)
    }

    fn decode_all(format: &[u8], packets: &[Vec<u8>], relay: u64) -> Vec<Vec<f32>> {
        let mut decoder = WmaDecoder::with_relay(Some(format), relay).unwrap();
        let mut planes = Vec::new();
        let mut out = vec![Vec::new(); 2];
        for data in packets {
            let packet = Packet::new(1, Timestamp::new(0), Duration::new(0), data.clone());
            let block = decoder.decode(&packet, &mut planes).unwrap();
            for (o, p) in out.iter_mut().zip(&planes) {
                o.extend_from_slice(&p[..block.frames]);
            }
        }
        let block = decoder.drain(&mut planes);
        for (o, p) in out.iter_mut().zip(&planes) {
            o.extend_from_slice(&p[..block.frames]);
        }
        out
    }

    #[test]
    fn a_relay_of_decoders_sounds_like_one_decoder() {
        let dir = tempfile::tempdir().unwrap();
        let (format, packets) = stream(dir.path());
        assert!(packets.len() > 200, "{} packets", packets.len());
        let one = decode_all(&format, &packets, u64::MAX);
        let relayed = decode_all(&format, &packets, 8);
        assert_eq!(one[0].len(), relayed[0].len());
        let loud = one[0].iter().map(|s| s.abs()).fold(0.0f32, f32::max);
        assert!(loud > 0.3, "the stream decodes to sound (peak {loud})");
        for (c, (a, b)) in one.iter().zip(&relayed).enumerate() {
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "channel {c}: the relay differs by up to {worst}");
        }
    }
}
