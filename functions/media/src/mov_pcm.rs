//! Fast path for uncompressed PCM in QuickTime/MP4. symphonia hands such tracks out one sample
//! per packet (several times slower than the same audio in WAV); here the chunk table is read
//! once and each chunk is read in large blocks.

use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use symphonia::core::audio::Channels;

use crate::MediaError;
use crate::feed::{Feed, Pushed, Start};
use crate::pcm::{SampleKind, deinterleave};

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

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

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
    if frame_size != 0 && frame_size != kind.width() * channels {
        return None;
    }
    let stsc_entries: Vec<(u32, u32)> =
        (0..be32(stsc, 4)? as usize).map(|i| Some((be32(stsc, 8 + i * 12)?, be32(stsc, 12 + i * 12)?))).collect::<Option<_>>()?;
    let count = be32(offsets, 4)? as usize;
    let mut chunks = Vec::with_capacity(count.min(1 << 20));
    let mut entry = 0;
    for i in 0..count {
        let offset = if co64 {
            let at = 8 + i * 8;
            u64::from_be_bytes(offsets.get(at..at + 8)?.try_into().ok()?)
        } else {
            u64::from(be32(offsets, 8 + i * 4)?)
        };
        let chunk_no = i as u32 + 1;
        while entry + 1 < stsc_entries.len() && stsc_entries[entry + 1].0 <= chunk_no {
            entry += 1;
        }
        chunks.push((offset, stsc_entries.get(entry)?.1));
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
    let frame_bytes = layout.kind.width() * layout.channels;
    let total: u64 = layout.chunks.iter().map(|c| u64::from(c.1)).sum::<u64>().max(1);
    let mut buf = vec![0u8; BLOCK_FRAMES * frame_bytes];
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
            let bytes = &mut buf[..n * frame_bytes];
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
            left -= n;
            done += n as u64;
            let p = (done as f64 / total as f64) as f32;
            if p >= last_progress + 0.01 {
                last_progress = p;
                progress(p.min(1.0));
            }
        }
    }
    Ok(false)
}
