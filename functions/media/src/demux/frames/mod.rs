//! Elementary-stream framing, shared by the demuxers whose containers carry audio as a plain
//! byte stream (MPEG-TS, MPEG-PS, and later FLV and AVI): where the next codec frame starts,
//! how long it is and what it holds. One file per codec:
//!
//! - `adts`: AAC in ADTS (and the AudioSpecificConfig symphonia's decoder wants);
//! - `mpeg`: MPEG-1/2/2.5 audio layers I–III;
//! - `ac3`: AC-3 and E-AC-3 syncframes;
//! - `dts`: DTS core frames;
//! - `latm`: AAC in LOAS/LATM, whose payload is bit-packed behind a configuration.
//!
//! A header is only believed when the frame it describes is followed by another header (or by
//! the end of the bytes at hand), so that a sync word inside junk is passed over.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::AudioCodecId;

pub mod ac3;
pub mod adts;
pub(crate) mod bits;
pub mod dts;
pub mod latm;
pub mod mpeg;

/// What a frame holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub codec: AudioCodecId,
    pub rate: u32,
    pub channels: Channels,
    /// Per channel; 0 for a frame that adds to the previous one (an E-AC-3 dependent substream).
    pub samples: u32,
}

/// A frame found in a buffer: it starts at `start` and runs for `len` bytes, which may go past
/// the end of the buffer (the caller waits for more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub start: usize,
    pub len: usize,
    pub info: FrameInfo,
}

impl Frame {
    pub fn end(&self) -> usize {
        self.start.saturating_add(self.len)
    }
}

/// The framings `next_frame` knows (LATM has its own, stateful reader).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Adts,
    Mpeg,
    /// AC-3 and E-AC-3.
    Ac3,
    Dts,
}

/// The most bytes any framing needs to see before it can tell a header from junk: a caller that
/// found nothing keeps this many bytes minus one for the next try.
pub const MAX_HEADER: usize = 16;

/// The first frame in `buf` in the given framing.
pub fn next_frame(framing: Framing, buf: &[u8]) -> Option<Frame> {
    match framing {
        Framing::Adts => scan(buf, adts::HEADER_LEN, adts::parse, |b| adts::parse(b).is_some()),
        Framing::Mpeg => scan(buf, mpeg::HEADER_LEN, mpeg::parse, |b| mpeg::parse(b).is_some()),
        Framing::Ac3 => scan(buf, ac3::HEADER_LEN, ac3::parse, |b| ac3::parse(b).is_some()),
        Framing::Dts => scan(buf, dts::HEADER_LEN, dts::parse, dts::follows),
    }
    .map(|(start, len, info)| Frame { start, len, info })
}

/// Tries every offset of `buf` for a header `parse` accepts (giving the frame's length and
/// what else it reads) whose frame is followed by what `follows` accepts, or runs to the end of
/// `buf` or past it. Returns the frame's start, length and `parse`'s finding.
fn scan<T>(buf: &[u8], header_len: usize, parse: fn(&[u8]) -> Option<(usize, T)>, follows: fn(&[u8]) -> bool) -> Option<(usize, usize, T)> {
    let mut at = 0usize;
    while buf.len().saturating_sub(at) >= header_len {
        let here = buf.get(at..)?;
        if let Some((len, found)) = parse(here).filter(|(len, _)| *len >= header_len) {
            let after = here.get(len..).unwrap_or(&[]);
            if after.len() < header_len || follows(after) {
                return Some((at, len, found));
            }
        }
        at = at.checked_add(1)?;
    }
    None
}

/// The usual layout for a channel count: mono is centre, stereo left/right, wider counts the
/// WAVE order (as ffmpeg's default layouts).
pub fn layout(channels: u32) -> Channels {
    match channels {
        1 => Channels::Positioned(Position::FRONT_CENTER),
        2 => Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT),
        n => Position::from_wave_channel_count(n).map_or(Channels::Discrete(n.min(u32::from(u16::MAX)) as u16), Channels::Positioned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two MPEG-1 layer II frames, 48 kHz mono 64 kbps: 192 bytes each.
    fn mp2_frames() -> Vec<u8> {
        let mut f = vec![0u8; 192];
        f[..4].copy_from_slice(&[0xff, 0xfd, 0x44, 0xc0]);
        let mut two = f.clone();
        two.extend_from_slice(&f);
        two
    }

    #[test]
    fn finds_a_frame_behind_junk_and_confirms_it_by_the_next_header() {
        let mut buf = vec![0x00, 0xff, 0xfd, 0x12];
        buf.extend(mp2_frames());
        let f = next_frame(Framing::Mpeg, &buf).unwrap();
        assert_eq!((f.start, f.len, f.info.rate, f.info.samples), (4, 192, 48_000, 1152));
    }

    #[test]
    fn a_header_not_followed_by_another_is_junk() {
        let mut buf = mp2_frames();
        buf.truncate(192);
        buf.extend_from_slice(&[0x12; 20]);
        assert_eq!(next_frame(Framing::Mpeg, &buf), None);
    }

    #[test]
    fn a_frame_running_past_the_buffer_is_reported_for_the_caller_to_wait() {
        let buf = &mp2_frames()[..100];
        let f = next_frame(Framing::Mpeg, buf).unwrap();
        assert!(f.end() > buf.len());
    }
}
