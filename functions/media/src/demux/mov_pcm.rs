//! Fast path for uncompressed PCM in QuickTime/MP4. symphonia hands such tracks out one sample
//! per packet (several times slower than the same audio in WAV) and refuses version 0/1 sample
//! entries with more than two channels; here the chunk table is read once and each chunk is
//! read in large blocks, for version 0/1 entries (`sowt`, `twos`, `in24`, ...) and version 2
//! `lpcm` alike, with the `chan` layout's speakers (see `mov_chan`).

#![deny(clippy::arithmetic_side_effects)]

use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use symphonia::core::audio::Channels;

use crate::MediaError;
use crate::demux::mov_chan;
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
    /// Speakers from the `chan` box (else WAVE order is assumed).
    pub speakers: Option<mov_chan::Layout>,
    /// (file offset, frames) of every chunk, in file order.
    pub chunks: Vec<(u64, u32)>,
}

/// Whether a sample entry fourcc is one we read ourselves.
pub fn is_pcm_fourcc(f: &[u8; 4]) -> bool {
    matches!(f, b"sowt" | b"twos" | b"raw " | b"in24" | b"in32" | b"fl32" | b"fl64" | b"lpcm")
}

use crate::demux::bytes::{be32, be64, entry};

/// From the payloads of `stsd`, `stsz`, `stsc` and `stco` or `co64`; `None` when anything is
/// unusual (then symphonia's path is used).
pub fn layout(stsd: &[u8], stsz: &[u8], stsc: &[u8], offsets: &[u8], co64: bool) -> Option<PcmLayout> {
    let version = u16::from_be_bytes(stsd.get(24..26)?.try_into().ok()?);
    let (kind, big_endian, channels, rate) = match version {
        0 | 1 => classic_format(stsd)?,
        2 => v2_format(stsd)?,
        _ => return None,
    };
    if channels == 0 || rate == 0 {
        return None;
    }
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
    let speakers = mov_chan::find(stsd.get(16..).unwrap_or_default(), channels);
    Some(PcmLayout { kind, big_endian, channels, rate, speakers, chunks })
}

/// Sample kind, big-endian, channels and rate of a version 0/1 entry: the kind is in its
/// fourcc.
fn classic_format(stsd: &[u8]) -> Option<(SampleKind, bool, usize, u32)> {
    let fourcc: [u8; 4] = stsd.get(12..16)?.try_into().ok()?;
    let channels = usize::from(u16::from_be_bytes(stsd.get(32..34)?.try_into().ok()?));
    let bits = u16::from_be_bytes(stsd.get(34..36)?.try_into().ok()?);
    let rate = be32(stsd, 40)? >> 16;
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
    Some((kind, big_endian, channels, rate))
}

/// The same for a version 2 entry (SoundDescriptionV2): a 64-bit float rate, a 32-bit channel
/// count, and the sample format in constBitsPerChannel and formatSpecificFlags.
fn v2_format(stsd: &[u8]) -> Option<(SampleKind, bool, usize, u32)> {
    const FLOAT: u32 = 1;
    const BIG_ENDIAN: u32 = 2;
    const SIGNED: u32 = 4;
    const NON_INTERLEAVED: u32 = 0x20;
    if stsd.get(12..16)? != b"lpcm" {
        return None;
    }
    let rate = f64::from_bits(be64(stsd, 48)?);
    let channels = usize::try_from(be32(stsd, 56)?).ok()?;
    let (bits, flags, packet_bytes, packet_frames) = (be32(stsd, 64)?, be32(stsd, 68)?, be32(stsd, 72)?, be32(stsd, 76)?);
    if flags & NON_INTERLEAVED != 0 || packet_frames != 1 || !(1.0..=f64::from(u32::MAX)).contains(&rate) || rate.fract() != 0.0 {
        return None;
    }
    let kind = match (flags & FLOAT != 0, flags & SIGNED != 0, bits) {
        (true, _, 32) => SampleKind::F32,
        (true, _, 64) => SampleKind::F64,
        (false, false, 8) => SampleKind::U8,
        (false, true, 8) => SampleKind::I8,
        (false, true, 16) => SampleKind::I16,
        (false, true, 24) => SampleKind::I24,
        (false, true, 32) => SampleKind::I32,
        _ => return None,
    };
    if Some(packet_bytes as usize) != kind.width().checked_mul(channels) {
        return None;
    }
    Some((kind, flags & BIG_ENDIAN != 0, channels, rate as u32))
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
    let mut ordered = vec![Vec::new(); layout.channels];
    let channels = match &layout.speakers {
        Some(s) => Channels::Positioned(s.positions),
        None => Channels::Discrete(layout.channels as u16),
    };
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
            // Planes in the speakers' order: swapped in and back out, not copied.
            let order = layout.speakers.as_ref().map(|s| s.order.as_slice());
            for (to, from) in order.into_iter().flatten().enumerate() {
                if let (Some(a), Some(b)) = (ordered.get_mut(to), planes.get_mut(*from)) {
                    std::mem::swap(a, b);
                }
            }
            let pushed = feed.push(if order.is_some() { &ordered } else { &planes }, got, layout.rate, &channels, |_| {
                start.take().ok_or_else(|| MediaError::Encoder("output started twice".into()))
            })?;
            for (to, from) in order.into_iter().flatten().enumerate() {
                if let (Some(a), Some(b)) = (ordered.get_mut(to), planes.get_mut(*from)) {
                    std::mem::swap(a, b);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 `lpcm` sample entry (as in `stsd`'s payload).
    fn v2_stsd(rate: f64, channels: u32, bits: u32, flags: u32) -> Vec<u8> {
        let mut s = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 80];
        s.extend(b"lpcm");
        s.extend([0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 16, 0xff, 0xfe, 0, 0, 0, 1, 0, 0, 0, 0, 0, 72]);
        s.extend(rate.to_bits().to_be_bytes());
        let packet = (bits / 8).saturating_mul(channels);
        for v in [channels, 0x7f00_0000, bits, flags, packet, 1] {
            s.extend(v.to_be_bytes());
        }
        s
    }

    /// A full box payload: `count` and then the entries' fields.
    fn table(count: u32, entries: &[u32]) -> Vec<u8> {
        let mut t = vec![0, 0, 0, 0];
        t.extend(count.to_be_bytes());
        t.extend(entries.iter().flat_map(|e| e.to_be_bytes()));
        t
    }

    #[test]
    fn version_2_lpcm_entries_give_kind_rate_and_channels() {
        let (stsz, stsc, stco) = ([0, 0, 0, 0, 0, 0, 0, 0], table(1, &[1, 4096, 1]), table(2, &[48, 100_000]));
        let l = layout(&v2_stsd(96_000.0, 6, 24, 0x4 | 0x8), &stsz, &stsc, &stco, false).unwrap();
        assert_eq!((l.kind, l.big_endian, l.channels, l.rate), (SampleKind::I24, false, 6, 96_000));
        assert_eq!(l.chunks, vec![(48, 4096), (100_000, 4096)]);
        let f = layout(&v2_stsd(192_000.0, 2, 32, 0x1 | 0x2), &stsz, &stsc, &stco, false).unwrap();
        assert_eq!((f.kind, f.big_endian), (SampleKind::F32, true));
        assert!(layout(&v2_stsd(44_100.5, 2, 16, 0x4), &stsz, &stsc, &stco, false).is_none(), "a fractional rate");
        assert!(layout(&v2_stsd(44_100.0, 2, 16, 0x4 | 0x20), &stsz, &stsc, &stco, false).is_none(), "non-interleaved");
        assert!(layout(&v2_stsd(44_100.0, 2, 12, 0x4), &stsz, &stsc, &stco, false).is_none(), "12-bit");
    }
}
