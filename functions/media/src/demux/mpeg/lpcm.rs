//! Linear PCM in MPEG streams: DVD-Video LPCM (private stream 1 substreams 0xA0–0xA7, a 3-byte
//! header per packet, 20/24-bit samples split into 16-bit words and low bits per group) and
//! Blu-ray LPCM (TS stream type 0x80, a 4-byte header, channels padded to an even count).
//! Both become plain interleaved big-endian PCM that symphonia's PCM decoder reads.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_PCM_S16BE, CODEC_ID_PCM_S24BE};

use crate::demux::frames::layout;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Dvd,
    Bluray,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub flavour: Flavour,
    pub rate: u32,
    /// 16, 20 or 24.
    pub bits: u8,
    pub channels: Channels,
    /// Channels as stored (Blu-ray pads to an even count).
    stored: usize,
}

impl Format {
    /// DVD: the 3 bytes after the substream's own 4 (emphasis/frame number, quantisation/rate/
    /// channels, dynamic range).
    pub fn dvd(h: &[u8]) -> Option<Format> {
        let b = *h.get(1)?;
        let bits = [16u8, 20, 24].get(usize::from(b >> 6))?;
        let rate = [48_000u32, 96_000, 44_100, 32_000][usize::from((b >> 4) & 3)];
        let n = usize::from(b & 7).saturating_add(1);
        Some(Format { flavour: Flavour::Dvd, rate, bits: *bits, channels: layout(n as u32), stored: n })
    }

    /// Blu-ray: 2 bytes of payload size, channel assignment and rate, bits per sample.
    pub fn bluray(h: &[u8]) -> Option<Format> {
        let (b2, b3) = (*h.get(2)?, *h.get(3)?);
        let rate = match b2 & 15 {
            1 => 48_000,
            4 => 96_000,
            5 => 192_000,
            _ => return None,
        };
        let bits = *[0u8, 16, 20, 24].get(usize::from(b3 >> 6)).filter(|b| **b > 0)?;
        let (l, r, c, lfe) = (Position::FRONT_LEFT, Position::FRONT_RIGHT, Position::FRONT_CENTER, Position::LFE1);
        let (sl, sr, rc) = (Position::SIDE_LEFT, Position::SIDE_RIGHT, Position::REAR_CENTER);
        let channels = match b2 >> 4 {
            1 => Channels::Positioned(c),
            3 => Channels::Positioned(l | r),
            4 => Channels::Positioned(l | r | c),
            5 => Channels::Positioned(l | r | rc),
            6 => Channels::Positioned(l | r | c | rc),
            7 => Channels::Positioned(l | r | sl | sr),
            8 => Channels::Positioned(l | r | c | sl | sr),
            9 => Channels::Positioned(l | r | c | lfe | sl | sr),
            10 => layout(7),
            11 => layout(8),
            _ => return None,
        };
        let n = channels.count();
        Some(Format { flavour: Flavour::Bluray, rate, bits, channels, stored: n.saturating_add(n & 1) })
    }

    /// How long the header in front of each packet's samples is.
    pub fn header_len(flavour: Flavour) -> usize {
        match flavour {
            Flavour::Dvd => 3,
            Flavour::Bluray => 4,
        }
    }

    pub fn codec(&self) -> AudioCodecId {
        if self.bits == 16 { CODEC_ID_PCM_S16BE } else { CODEC_ID_PCM_S24BE }
    }

    /// Output bytes per sample: 2, or 3 for 20- and 24-bit.
    fn width(&self) -> usize {
        if self.bits == 16 { 2 } else { 3 }
    }

    /// Output bytes per frame (a sample of every channel).
    pub fn frame_bytes(&self) -> usize {
        self.channels.count().saturating_mul(self.width())
    }

    /// The smallest run of stored samples that converts on its own: a frame, or for DVD's 20/24
    /// bits, as many 4-sample groups (2 for mono) as make whole frames.
    fn block_samples(&self) -> usize {
        match (self.flavour, self.bits) {
            (Flavour::Dvd, 20 | 24) if self.stored == 1 => 4,
            (Flavour::Dvd, 20 | 24) => lcm4(self.stored),
            _ => self.stored,
        }
    }

    fn block_bytes(&self) -> usize {
        let samples = self.block_samples();
        match (self.flavour, self.bits) {
            (Flavour::Dvd, 20) => samples.saturating_mul(5) / 2,
            (Flavour::Dvd, 24) => samples.saturating_mul(3),
            _ => samples.saturating_mul(self.width()),
        }
    }

    /// Converts the whole blocks at the start of `data`, appending big-endian samples to `out`;
    /// returns the bytes used.
    pub fn convert(&self, data: &[u8], out: &mut Vec<u8>) -> usize {
        let block = self.block_bytes().max(1);
        let used = data.len().saturating_sub(data.len().checked_rem(block).unwrap_or(0));
        let Some(whole) = data.get(..used) else { return 0 };
        for b in whole.chunks_exact(block) {
            match self.flavour {
                Flavour::Bluray => {
                    let width = self.width();
                    let keep = self.channels.count().saturating_mul(width);
                    out.extend_from_slice(b.get(..keep).unwrap_or(&[]));
                }
                Flavour::Dvd if self.bits == 16 => out.extend_from_slice(b),
                Flavour::Dvd => {
                    let group: usize = if self.stored == 1 { 2 } else { 4 };
                    let group_bytes = if self.bits == 24 { group.saturating_mul(3) } else { group.saturating_mul(5) / 2 };
                    for g in b.chunks_exact(group_bytes) {
                        dvd_group(g, group, self.bits, out);
                    }
                }
            }
        }
        used
    }
}

/// One DVD group: `n` 16-bit high words, then the low bits (a byte each for 24-bit, a nibble
/// each for 20-bit), to `n` 24-bit big-endian samples.
fn dvd_group(g: &[u8], n: usize, bits: u8, out: &mut Vec<u8>) {
    let (words, low) = g.split_at(n.saturating_mul(2).min(g.len()));
    for (i, w) in words.chunks_exact(2).enumerate() {
        let lsb = if bits == 24 {
            low.get(i).copied().unwrap_or(0)
        } else {
            let nibbles = low.get(i / 2).copied().unwrap_or(0);
            if i % 2 == 0 { nibbles & 0xf0 } else { nibbles << 4 }
        };
        out.extend_from_slice(&[w[0], w[1], lsb]);
    }
}

/// The least multiple of 4 that `n` divides (n ≤ 8).
fn lcm4(n: usize) -> usize {
    match n {
        1 | 2 | 4 => 4,
        8 => 8,
        n => n.saturating_mul(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dvd_header_and_16_bit_passes_through_whole_frames() {
        let f = Format::dvd(&[0x0c, 0x01, 0x80]).unwrap();
        assert_eq!((f.rate, f.bits, f.channels.count(), f.codec()), (48_000, 16, 2, CODEC_ID_PCM_S16BE));
        let mut out = Vec::new();
        assert_eq!(f.convert(&[1, 2, 3, 4, 5, 6], &mut out), 4);
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(Format::dvd(&[0, 0xc0, 0]), None); // 28-bit
    }

    #[test]
    fn dvd_24_bit_stereo_regroups_high_words_and_low_bytes() {
        let f = Format::dvd(&[0, 0x81, 0x80]).unwrap();
        // One group: 4 samples (L0 R0 L1 R1): words then low bytes.
        let g = [0x11, 0x12, 0x21, 0x22, 0x31, 0x32, 0x41, 0x42, 0x13, 0x23, 0x33, 0x43];
        let mut out = Vec::new();
        assert_eq!(f.convert(&g, &mut out), 12);
        assert_eq!(out, [0x11, 0x12, 0x13, 0x21, 0x22, 0x23, 0x31, 0x32, 0x33, 0x41, 0x42, 0x43]);
    }

    #[test]
    fn dvd_20_bit_mono_takes_nibbles() {
        let f = Format::dvd(&[0, 0x40, 0x80]).unwrap();
        // Two groups of two samples: 2 words and a byte of two nibbles each.
        let g = [0x11, 0x12, 0x21, 0x22, 0xab, 0x31, 0x32, 0x41, 0x42, 0xcd];
        let mut out = Vec::new();
        assert_eq!(f.convert(&g, &mut out), 10);
        assert_eq!(out, [0x11, 0x12, 0xa0, 0x21, 0x22, 0xb0, 0x31, 0x32, 0xc0, 0x41, 0x42, 0xd0]);
    }

    #[test]
    fn bluray_mono_drops_the_padding_channel() {
        let f = Format::bluray(&[0x03, 0xc0, 0x11, 0x40]).unwrap();
        assert_eq!((f.rate, f.bits, f.channels.count()), (48_000, 16, 1));
        let mut out = Vec::new();
        assert_eq!(f.convert(&[1, 2, 0, 0, 3, 4, 0, 0, 9], &mut out), 8);
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(Format::bluray(&[0, 0, 0x12, 0x40]), None); // rate code 2
    }
}
