//! Codec frames (MPEG audio, AC-3) out of a stream that containers carry in chunks not aligned
//! with them (FLV tags, AVI chunks): the decoders want one whole frame per packet. The headers
//! are read by the shared elementary-stream framing (`demux/frames/`).

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::codecs::audio::AudioCodecId;

use crate::demux::frames::{ac3, mpeg};

/// The syntax of the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Mpa,
    Ac3,
}

/// A frame's length, samples and stream identity from the header at the start of `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    len: usize,
    samples: u32,
    /// Codec (MPEG layer, AC-3 or E-AC-3), rate and channels: a sync word followed by a header
    /// of another stream is taken for data that happens to look like one.
    key: (AudioCodecId, u32, usize),
}

impl Syntax {
    fn header_len(self) -> usize {
        match self {
            Syntax::Mpa => mpeg::HEADER_LEN,
            Syntax::Ac3 => ac3::HEADER_LEN,
        }
    }

    fn parse(self, b: &[u8]) -> Option<Frame> {
        let (len, info) = match self {
            Syntax::Mpa => mpeg::parse(b)?,
            Syntax::Ac3 => ac3::parse(b)?,
        };
        Some(Frame { len, samples: info.samples, key: (info.codec, info.rate, info.channels.count()) })
    }
}

/// More than a drained splitter holds back: one frame (MPEG ≤ 2,881, E-AC-3 ≤ 4,096 bytes)
/// waiting for the rest of it or for the header after it. More held back is junk no frame
/// fits in, and is dropped.
const MAX_HELD: usize = 16 * 1024;

/// Buffers pushed bytes and hands out whole frames; bytes between frames are skipped.
pub struct Splitter {
    syntax: Syntax,
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start (moved down once per push, not once per frame).
    start: usize,
    /// The stream the last frame belonged to: the next frame is expected right after it.
    synced: Option<(AudioCodecId, u32, usize)>,
    /// [`Splitter::next`] has looked at everything held (so what it held back is no frame).
    drained: bool,
}

impl Splitter {
    pub fn new(syntax: Syntax) -> Splitter {
        Splitter { syntax, buf: Vec::new(), start: 0, synced: None, drained: false }
    }

    /// Adds bytes. Callers that push again before taking every frame ([`Splitter::next`])
    /// hold all they pushed.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.drain(..self.start);
        self.start = 0;
        if std::mem::take(&mut self.drained) && self.buf.len() > MAX_HELD {
            // Keep only what may be the start of a header.
            let keep = self.syntax.header_len();
            self.buf.drain(..self.buf.len().saturating_sub(keep));
            self.synced = None;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame and its samples per channel; `None` until more bytes are pushed.
    /// `at_end`: no more bytes will come, so a frame need not be confirmed by the next one.
    pub fn next(&mut self, at_end: bool) -> Option<(Box<[u8]>, u32)> {
        let mut at = self.start;
        loop {
            let rest = self.buf.get(at..)?;
            if rest.len() < self.syntax.header_len() {
                break;
            }
            let Some(frame) = self.syntax.parse(rest).filter(|f| f.len >= self.syntax.header_len()) else {
                at = at.saturating_add(1);
                self.synced = None;
                continue;
            };
            if rest.len() < frame.len {
                break;
            }
            // Out of sync, a frame counts only if the next one starts where it ends (or the
            // stream does): a lone sync word in the data is not a frame.
            if self.synced != Some(frame.key) {
                let next = rest.get(frame.len..).unwrap_or_default();
                let confirmed = match self.syntax.parse(next) {
                    Some(n) => n.key == frame.key,
                    None if next.len() < self.syntax.header_len() => at_end,
                    None => false,
                };
                if !confirmed {
                    if next.len() < self.syntax.header_len() && !at_end {
                        break;
                    }
                    at = at.saturating_add(1);
                    continue;
                }
            }
            let end = at.saturating_add(frame.len);
            let data = self.buf.get(at..end)?.into();
            self.start = end;
            self.synced = Some(frame.key);
            return Some((data, frame.samples));
        }
        self.start = at;
        self.drained = true;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MPEG-1 layer III frame of 417 bytes (128 kbps, 44.1 kHz) filled with `fill`.
    fn frame(fill: u8) -> Vec<u8> {
        let mut f = vec![fill; 417];
        f[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x44]);
        f
    }

    #[test]
    fn frames_split_across_pushes_come_out_whole() {
        let stream = [frame(1), frame(2), frame(3)].concat();
        let mut s = Splitter::new(Syntax::Mpa);
        let mut out = Vec::new();
        for piece in stream.chunks(100) {
            s.push(piece);
            while let Some((f, samples)) = s.next(false) {
                assert_eq!(samples, 1152);
                out.push(f);
            }
        }
        out.extend(s.next(true).map(|(f, _)| f));
        assert_eq!(out.len(), 3);
        assert!(out.iter().zip(1u8..).all(|(f, n)| f.len() == 417 && f[4] == n));
    }

    #[test]
    fn junk_and_false_syncs_between_frames_are_skipped() {
        // A sync word before the first frame, and an MPEG-2 header in junk between frames.
        let stream = [&[0u8, 0xff, 0xfb, 0x90][..], &frame(0xff), &frame(7), &[0xff, 0xf3, 0x82, 0xc4, 9], &frame(8)].concat();
        let mut s = Splitter::new(Syntax::Mpa);
        s.push(&stream);
        assert_eq!(s.next(false).map(|(f, _)| f[5]), Some(0xff));
        assert_eq!(s.next(false).map(|(f, _)| f[5]), Some(7));
        assert_eq!(s.next(false), None, "the last frame waits for what follows it");
        assert_eq!(s.next(true).map(|(f, _)| f[5]), Some(8));
        assert_eq!(s.next(true), None);
    }

    #[test]
    fn a_stream_without_frames_holds_bounded_memory() {
        let mut s = Splitter::new(Syntax::Ac3);
        for _ in 0..100 {
            s.push(&[0x0b; 64 * 1024]);
            assert_eq!(s.next(false), None);
            assert!(s.buf.len() <= MAX_HELD + 64 * 1024);
        }
    }
}
