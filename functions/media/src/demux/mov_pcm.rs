//! Fast path for uncompressed PCM in QuickTime/MP4. symphonia hands such tracks out one sample
//! per packet (several times slower than the same audio in WAV); here the chunk table is read
//! once and each chunk is read in large blocks.

#![deny(clippy::arithmetic_side_effects)]

use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use symphonia::core::audio::Channels;

use crate::MediaError;
use crate::demux::pcm::{SampleKind, deinterleave};
use crate::feed::{Feed, Pushed, Start};

const BLOCK_FRAMES: usize = 8192;
/// Chunk tables bigger than this are left to symphonia (4 MiB of `stco` is a million chunks,
/// 16 MiB once parsed).
pub const MAX_TABLE: u64 = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmLayout {
    pub kind: SampleKind,
    pub big_endian: bool,
    pub channels: usize,
    pub rate: u32,
    /// (file offset, frames) of every chunk, in file order.
    pub chunks: Vec<(u64, u32)>,
}

/// Whether a sample entry fourcc is one we read ourselves.
pub fn is_pcm_fourcc(f: &[u8; 4]) -> bool {
    matches!(f, b"sowt" | b"twos" | b"raw " | b"in24" | b"in32" | b"fl32" | b"fl64")
}

use crate::demux::bytes::{be32, be64, entry};

/// From the payloads of `stsd`, `stsz`, `stsc` and `stco` or `co64`; `None` when anything is
/// unusual (then symphonia's path is used).
pub fn layout(stsd: &[u8], stsz: &[u8], stsc: &[u8], offsets: &[u8], co64: bool) -> Option<PcmLayout> {
    let fourcc: [u8; 4] = stsd.get(12..16)?.try_into().ok()?;
    let version = u16::from_be_bytes(stsd.get(24..26)?.try_into().ok()?);
    let channels = usize::from(u16::from_be_bytes(stsd.get(32..34)?.try_into().ok()?));
    let bits = u16::from_be_bytes(stsd.get(34..36)?.try_into().ok()?);
    let rate = be32(stsd, 40)? >> 16;
    if version > 1 || channels == 0 || rate == 0 {
        return None;
    }
    // QuickTime's `enda` box (inside `wave`) marks little-endian in24/in32/fl32/fl64.
    let little = stsd.windows(6).any(|w| w == b"enda\x00\x01");
    let (kind, big_endian) = match &fourcc {
        b"sowt" => (SampleKind::I16, false),
        b"twos" if bits == 8 => (SampleKind::I8, false),
        b"twos" => (SampleKind::I16, true),
        b"raw " => (SampleKind::U8, false),
        b"in24" => (SampleKind::I24, !little),
        b"in32" => (SampleKind::I32, !little),
        b"fl32" => (SampleKind::F32, !little),
        b"fl64" => (SampleKind::F64, !little),
        _ => return None,
    };
    let frame_size = be32(stsz, 4)? as usize;
    if frame_size != 0 && Some(frame_size) != kind.width().checked_mul(channels) {
        return None;
    }
    // Counts are believed only as far as the payloads hold their entries.
    let stsc_entries: Vec<(u32, u32)> = (0..be32(stsc, 4)? as usize)
        .map(|i| Some((be32(stsc, entry(8, i, 12)?)?, be32(stsc, entry(12, i, 12)?)?)))
        .collect::<Option<_>>()?;
    let count = be32(offsets, 4)? as usize;
    let mut chunks = Vec::with_capacity(count.min(offsets.len() / 4));
    let mut run = 0usize;
    for i in 0..count {
        let offset = if co64 { be64(offsets, entry(8, i, 8)?)? } else { u64::from(be32(offsets, entry(8, i, 4)?)?) };
        // stsc runs are numbered from chunk 1.
        let chunk_no = u32::try_from(i).ok()?.checked_add(1)?;
        while stsc_entries.get(run.saturating_add(1)).is_some_and(|next| next.0 <= chunk_no) {
            run = run.saturating_add(1);
        }
        chunks.push((offset, stsc_entries.get(run)?.1));
    }
    Some(PcmLayout { kind, big_endian, channels, rate, chunks })
}

/// Reads every chunk into `feed`. Returns whether the file ended before the last chunk.
pub fn pump<R: Read + Seek>(
    r: &mut R,
    layout: &PcmLayout,
    feed: &mut Feed<'_>,
    start: Start,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<bool, MediaError> {
    crate::limits::check_format(u64::from(layout.rate), layout.channels as u64)?;
    // At most 8 bytes × 32 channels (the format was checked).
    let frame_bytes = layout.kind.width().saturating_mul(layout.channels);
    let total = layout.chunks.iter().fold(0u64, |sum, c| sum.saturating_add(u64::from(c.1))).max(1);
    let mut buf = vec![0u8; BLOCK_FRAMES.saturating_mul(frame_bytes)];
    let mut planes = vec![Vec::with_capacity(BLOCK_FRAMES); layout.channels];
    let channels = Channels::Discrete(layout.channels as u16);
    let mut start = Some(start);
    let (mut done, mut last_progress) = (0u64, 0.0f32);
    for &(offset, frames) in &layout.chunks {
        r.seek(SeekFrom::Start(offset))?;
        let mut left = frames as usize;
        while left > 0 {
            if cancel.load(Ordering::Relaxed) {
                return Err(MediaError::Cancelled);
            }
            let n = left.min(BLOCK_FRAMES);
            let bytes = &mut buf[..n.saturating_mul(frame_bytes)];
            match r.read_exact(bytes) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(true),
                Err(e) => return Err(e.into()),
            }
            let got = deinterleave(bytes, layout.kind, layout.big_endian, layout.channels, &mut planes);
            let pushed = feed.push(&planes, got, layout.rate, &channels, |_| {
                start.take().ok_or_else(|| MediaError::Encoder("output started twice".into()))
            })?;
            if pushed != Pushed::More {
                return Ok(pushed == Pushed::FormatChanged);
            }
            left = left.saturating_sub(n);
            done = done.saturating_add(n as u64);
            let p = (done as f64 / total as f64) as f32;
            if p >= last_progress + 0.01 {
                last_progress = p;
                progress(p.min(1.0));
            }
        }
    }
    Ok(false)
}
