//! Container chunks (AVI chunks, FLV tags) to codec packets, bounded in memory: a chunk as it
//! is (AAC, DTS), fixed-size blocks (PCM frames, ADPCM blocks) or frames found by their headers
//! (MPEG audio, AC-3; see `split`).

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, Timestamp};

use crate::demux::split::{Splitter, Syntax};

/// The largest chunk taken as one packet: real AAC/DTS frames are a few KiB; a bigger chunk
/// is dropped, never held.
pub const MAX_WHOLE: usize = 1 << 20;

pub enum Packetizer {
    /// Each chunk is one packet of `frames` frames; `adts`: an ADTS header in front of the raw
    /// AAC frame is removed.
    Whole {
        frames: u32,
        adts: bool,
        buf: Vec<u8>,
        overflow: bool,
        ready: Option<Box<[u8]>>,
    },
    /// Packets of 1 to `max` whole blocks of `bytes` bytes and `frames` frames each; a block
    /// split across chunks is carried over.
    Blocks {
        bytes: usize,
        frames: u32,
        max: usize,
        buf: Vec<u8>,
        start: usize,
    },
    Split(Splitter),
}

impl Packetizer {
    pub fn whole(frames: u32, adts: bool) -> Packetizer {
        Packetizer::Whole { frames, adts, buf: Vec::new(), overflow: false, ready: None }
    }

    /// `bytes` must be at least 1.
    pub fn blocks(bytes: usize, frames: u32, max: usize) -> Packetizer {
        Packetizer::Blocks { bytes: bytes.max(1), frames, max: max.max(1), buf: Vec::new(), start: 0 }
    }

    pub fn split(syntax: Syntax) -> Packetizer {
        Packetizer::Split(Splitter::new(syntax))
    }

    /// Adds a piece of the current chunk (at most [`MAX_WHOLE`]). Once callers have taken every
    /// packet ([`Packetizer::next`]), nothing but a partial block or frame is held.
    pub fn push(&mut self, data: &[u8]) {
        match self {
            Packetizer::Whole { buf, overflow, .. } => {
                if buf.len().saturating_add(data.len()) > MAX_WHOLE {
                    *overflow = true;
                    buf.clear();
                } else if !*overflow {
                    buf.extend_from_slice(data);
                }
            }
            Packetizer::Blocks { buf, start, .. } => {
                buf.drain(..*start);
                *start = 0;
                buf.extend_from_slice(data);
            }
            Packetizer::Split(s) => s.push(data),
        }
    }

    /// The current chunk is complete.
    pub fn end_chunk(&mut self) {
        if let Packetizer::Whole { adts, buf, overflow, ready, .. } = self {
            let data = std::mem::take(buf);
            if !std::mem::take(overflow) && !data.is_empty() {
                let skip = if *adts { adts_header_len(&data) } else { 0 };
                *ready = data.get(skip..).filter(|d| !d.is_empty()).map(Box::from);
            }
        }
    }

    /// The next packet and its frames; `at_end`: no more data will come.
    pub fn next(&mut self, at_end: bool) -> Option<(Box<[u8]>, u64)> {
        match self {
            Packetizer::Whole { frames, ready, .. } => ready.take().map(|d| (d, u64::from(*frames))),
            Packetizer::Blocks { bytes, frames, max, buf, start } => {
                let have = buf.len().saturating_sub(*start).checked_div(*bytes).unwrap_or(0).min(*max);
                if have == 0 {
                    return None;
                }
                let end = start.saturating_add(have.saturating_mul(*bytes));
                let data = buf.get(*start..end)?.into();
                *start = end;
                Some((data, u64::from(*frames).saturating_mul(have as u64)))
            }
            Packetizer::Split(s) => s.next(at_end).map(|(d, n)| (d, u64::from(n))),
        }
    }

    /// [`Packetizer::next`] as a packet of `track_id`, timed by the frames handed out before it:
    /// `next_pts` is its timestamp, and moves on past it.
    pub fn next_packet(&mut self, track_id: u32, next_pts: &mut u64, at_end: bool) -> Option<Packet> {
        let (data, frames) = self.next(at_end)?;
        let pts = Timestamp::new(i64::try_from(*next_pts).unwrap_or(i64::MAX));
        *next_pts = next_pts.saturating_add(frames);
        Some(Packet::new(track_id, pts, Duration::from(frames), data))
    }
}

/// The length of an ADTS header at the start of `b` that frames exactly `b`, else 0.
fn adts_header_len(b: &[u8]) -> usize {
    let &[0xff, b1, _, b3, b4, b5, ..] = b else { return 0 };
    if b1 & 0xf6 != 0xf0 {
        return 0;
    }
    let frame_len = (usize::from(b3 & 3) << 11) | (usize::from(b4) << 3) | (usize::from(b5) >> 5);
    let header = if b1 & 1 == 1 { 7 } else { 9 };
    if frame_len == b.len() && frame_len > header { header } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_carry_over_and_come_out_whole() {
        let mut p = Packetizer::blocks(4, 1, 3);
        p.push(&[1; 10]);
        assert_eq!(p.next(false).map(|(d, n)| (d.len(), n)), Some((8, 2)));
        assert_eq!(p.next(false), None);
        p.push(&[2; 14]);
        assert_eq!(p.next(false).map(|(d, n)| (d.to_vec(), n)), Some((vec![1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 3)));
        assert_eq!(p.next(false).map(|(d, _)| d.len()), Some(4));
        assert_eq!(p.next(true), None);
    }

    #[test]
    fn whole_chunks_are_packets_with_adts_headers_removed_and_huge_ones_dropped() {
        let mut p = Packetizer::whole(1024, true);
        let adts = [0xff, 0xf1, 0x50, 0x80, 0x01, 0x3f, 0xfc, 0xaa, 0xbb];
        p.push(&adts[..4]);
        p.push(&adts[4..]);
        p.end_chunk();
        assert_eq!(p.next(false).map(|(d, n)| (d.to_vec(), n)), Some((vec![0xaa, 0xbb], 1024)));
        for _ in 0..=MAX_WHOLE / 65536 {
            p.push(&[0; 65536]);
        }
        p.end_chunk();
        assert_eq!(p.next(false), None);
        p.push(&[5]);
        p.end_chunk();
        assert_eq!(p.next(false).map(|(d, _)| d.to_vec()), Some(vec![5]));
    }
}
