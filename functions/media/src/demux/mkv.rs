//! A walk over a Matroska/WebM file's top level for what symphonia's demuxer mishandles: a
//! Segment that claims more bytes than the file has (a cut download), Attachments (fonts,
//! covers) that it would read whole into memory, and audio tracks in Microsoft's ACM form
//! (`A_MS/ACM`: a WAVEFORMATEX as the codec's private data, as WMA comes), which it drops;
//! see [`plan`].

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::codecs::CodecParameters;
use symphonia::core::formats::Track;

use crate::demux::{bytes, codec_ids, wave_format};

const EBML: u32 = 0x1a45_dfa3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114d_9b74;
const SEEK: u32 = 0x4dbb;
const SEEK_ID: u32 = 0x53ab;
const SEEK_POSITION: u32 = 0x53ac;
const ATTACHMENTS: u32 = 0x1941_a469;
const CLUSTER: u32 = 0x1f43_b675;
const TRACKS: u32 = 0x1654_ae6b;
const TRACK_ENTRY: u32 = 0xae;
const TRACK_NUMBER: u32 = 0xd7;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63a2;
/// The codec ID of a track whose format is a WAVEFORMATEX in its private data.
const ACM: &[u8] = b"A_MS/ACM";
/// The most of an ACM track's private data kept (a WAVEFORMATEX and its codec's extra bytes).
const MAX_ACM_FORMAT: u64 = 4096;
/// An ID no Matroska schema knows (same length as Attachments'): the demuxer skips it.
const HIDDEN: [u8; 4] = [0x19, 0x41, 0xa4, 0x00];
/// Top-level elements walked before the first Cluster.
const MAX_ELEMENTS: usize = 4096;

/// What to change in the file before symphonia reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// (offset, bytes to read there instead).
    pub patches: Vec<(u64, Vec<u8>)>,
    /// The Segment was cut short (its size was rewritten to "unknown").
    pub cut: bool,
    /// ACM audio tracks: (track number, WAVEFORMATEX).
    pub acm: Vec<(u64, Vec<u8>)>,
}

/// Reads an EBML variable-length integer: (value, length in bytes, all value bits set).
fn read_vint(r: &mut impl Read) -> io::Result<(u64, usize, bool)> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    // The length is one more than the leading zeros: 1..=8, or 9 for a zero byte (invalid).
    let zeros = first[0].leading_zeros();
    if zeros >= 8 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad EBML vint"));
    }
    let len = (zeros as usize).saturating_add(1);
    let mask = 0xffu8.checked_shr(zeros.saturating_add(1)).unwrap_or(0);
    let mut value = u64::from(first[0] & mask);
    let mut all_ones = first[0] & mask == mask;
    for _ in 1..len {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        // At most 7 more bytes after a first one of at most 7 value bits: fits in 56 bits.
        value = value.checked_shl(8).unwrap_or(0) | u64::from(b[0]);
        all_ones &= b[0] == 0xff;
    }
    Ok((value, len, all_ones))
}

/// An element ID: 1 to 4 bytes, marker bits kept (as the Matroska spec writes them).
fn read_id(r: &mut impl Read) -> io::Result<u32> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    let zeros = first[0].leading_zeros();
    if zeros >= 4 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad EBML ID"));
    }
    let mut id = u32::from(first[0]);
    for _ in 0..zeros {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        id = id.checked_shl(8).unwrap_or(0) | u32::from(b[0]);
    }
    Ok(id)
}

/// A big-endian unsigned integer element's value (at most 8 bytes).
fn read_uint(r: &mut impl Read, size: u64) -> io::Result<u64> {
    if size > 8 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "integer too long"));
    }
    let mut buf = [0u8; 8];
    let start = 8usize.saturating_sub(size as usize);
    r.read_exact(&mut buf[start..])?;
    Ok(u64::from_be_bytes(buf))
}

/// For a Matroska/WebM file: the patches that present a cut Segment as "unknown size" and hide
/// Attachments larger than `max_attachments` bytes, and its ACM audio tracks. `None` if the
/// file is not Matroska or needs none of this. Leaves the position at 0.
pub fn plan<R: Read + Seek>(r: &mut R, max_attachments: u64) -> io::Result<Option<Plan>> {
    let len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let plan = walk(r, len, max_attachments).ok().flatten();
    r.seek(SeekFrom::Start(0))?;
    Ok(plan)
}

fn walk<R: Read + Seek>(r: &mut R, len: u64, max_attachments: u64) -> io::Result<Option<Plan>> {
    if read_id(r)? != EBML {
        return Ok(None);
    }
    let (header_len, _, _) = read_vint(r)?;
    r.seek(SeekFrom::Current(i64::try_from(header_len).unwrap_or(i64::MAX)))?;
    if read_id(r)? != SEGMENT {
        return Ok(None);
    }
    let mut plan = Plan::default();
    let size_at = r.stream_position()?;
    let (size, size_len, unknown) = read_vint(r)?;
    let body = r.stream_position()?;
    if !unknown && body.saturating_add(size) > len {
        // All value bits set = unknown size; keep the marker bit of the original length.
        let mut bytes = vec![0xff; size_len];
        bytes[0] = 0xffu8.checked_shr(size_len.saturating_sub(1) as u32).unwrap_or(0);
        plan.patches.push((size_at, bytes));
        plan.cut = true;
    }
    let end = if unknown || plan.cut { len } else { body.saturating_add(size) };
    // Attachments found directly, and those a SeekHead points at (past the clusters).
    let mut attachments = Vec::new();
    let mut pos = body;
    for _ in 0..MAX_ELEMENTS {
        if pos >= end {
            break;
        }
        r.seek(SeekFrom::Start(pos))?;
        let (Ok(id), Ok((size, _, unknown))) = (read_id(r), read_vint(r)) else { break };
        let data = r.stream_position()?;
        match id {
            CLUSTER => break,
            ATTACHMENTS if !unknown => attachments.push((pos, size)),
            TRACKS if !unknown => plan.acm = acm_tracks(r, data.saturating_add(size))?,
            SEEK_HEAD if !unknown => {
                for target in seek_targets(r, data.saturating_add(size))? {
                    let at = body.saturating_add(target);
                    r.seek(SeekFrom::Start(at))?;
                    if let (Ok(ATTACHMENTS), Ok((size, _, false))) = (read_id(r), read_vint(r)) {
                        attachments.push((at, size));
                    }
                }
            }
            _ => {}
        }
        if unknown {
            break;
        }
        pos = data.saturating_add(size);
    }
    attachments.sort_unstable();
    attachments.dedup();
    for (at, _) in attachments.into_iter().filter(|(_, size)| *size > max_attachments) {
        plan.patches.push((at, HIDDEN.to_vec()));
    }
    Ok(if plan.patches.is_empty() && plan.acm.is_empty() { None } else { Some(plan) })
}

/// The ACM audio tracks among the TrackEntry elements up to `end`.
fn acm_tracks<R: Read + Seek>(r: &mut R, end: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
    let mut tracks = Vec::new();
    for _ in 0..MAX_ELEMENTS {
        if r.stream_position()? >= end {
            break;
        }
        let (id, (size, _, _)) = (read_id(r)?, read_vint(r)?);
        let entry_end = r.stream_position()?.saturating_add(size);
        if id == TRACK_ENTRY {
            let (mut number, mut acm, mut format) = (None, false, None);
            while r.stream_position()? < entry_end {
                let (id, (size, _, _)) = (read_id(r)?, read_vint(r)?);
                match id {
                    TRACK_NUMBER => number = Some(read_uint(r, size)?),
                    CODEC_ID if size == ACM.len() as u64 => {
                        let mut codec = [0u8; ACM.len()];
                        r.read_exact(&mut codec)?;
                        acm = codec == ACM;
                    }
                    CODEC_PRIVATE if size <= MAX_ACM_FORMAT => {
                        let mut bytes = vec![0; size as usize];
                        r.read_exact(&mut bytes)?;
                        format = Some(bytes);
                    }
                    _ => {
                        r.seek(SeekFrom::Current(i64::try_from(size).unwrap_or(i64::MAX)))?;
                    }
                }
            }
            if let (Some(number), true, Some(format)) = (number, acm, format) {
                tracks.push((number, format));
            }
        }
        r.seek(SeekFrom::Start(entry_end))?;
    }
    Ok(tracks)
}

/// The Segment-relative positions a SeekHead gives for Attachments.
fn seek_targets<R: Read + Seek>(r: &mut R, end: u64) -> io::Result<Vec<u64>> {
    let mut targets = Vec::new();
    for _ in 0..MAX_ELEMENTS {
        if r.stream_position()? >= end {
            break;
        }
        let (id, (size, _, _)) = (read_id(r)?, read_vint(r)?);
        let seek_end = r.stream_position()?.saturating_add(size);
        if id != SEEK {
            r.seek(SeekFrom::Start(seek_end))?;
            continue;
        }
        let (mut target_id, mut position) = (None, None);
        while r.stream_position()? < seek_end {
            let (id, (size, _, _)) = (read_id(r)?, read_vint(r)?);
            match id {
                SEEK_ID => target_id = Some(read_uint(r, size)?),
                SEEK_POSITION => position = Some(read_uint(r, size)?),
                _ => {
                    r.seek(SeekFrom::Current(i64::try_from(size).unwrap_or(i64::MAX)))?;
                }
            }
        }
        if let (Some(id), Some(position)) = (target_id, position)
            && id == u64::from(ATTACHMENTS)
        {
            targets.push(position);
        }
        r.seek(SeekFrom::Start(seek_end))?;
    }
    Ok(targets)
}

/// `tracks` with their ACM formats (from [`plan`]) as codec parameters where symphonia gave none.
pub fn with_acm_tracks(tracks: &[Track], acm: &[(u64, Vec<u8>)]) -> Vec<Track> {
    let mut tracks = tracks.to_vec();
    for track in tracks.iter_mut().filter(|t| t.codec_params.is_none()) {
        let Some(format) = acm.iter().find(|(n, _)| *n == u64::from(track.id)).map(|(_, f)| f) else { continue };
        let Some((mut params, _)) = wave_format::parse(format) else { continue };
        // symphonia's ADPCM decoder counts a packet's blocks from its duration in frames,
        // which a Matroska block does not give: the codec is named, not decoded to nothing.
        if let Some(tag @ (0x0002 | 0x0011)) = bytes::le16(format, 0) {
            params.for_codec(codec_ids::wave_format(tag));
        }
        track.with_codec_params(CodecParameters::Audio(params));
    }
    tracks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn marks_a_cut_segment_as_unknown_size() {
        // EBML header (empty), Segment claiming 0x100 bytes with an 8-byte size, 4 bytes present.
        let mut file = vec![0x1a, 0x45, 0xdf, 0xa3, 0x80, 0x18, 0x53, 0x80, 0x67];
        file.extend([0x01, 0, 0, 0, 0, 0, 0x01, 0x00]);
        file.extend([1, 2, 3, 4]);
        let plan = plan(&mut Cursor::new(&file), u64::MAX).unwrap().unwrap();
        assert_eq!(plan.patches, vec![(9, vec![0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
        assert!(plan.cut);
        let whole = [&file[..9], &[0x84], &[1, 2, 3, 4]].concat();
        assert_eq!(super::plan(&mut Cursor::new(&whole), u64::MAX).unwrap(), None);
    }

    #[test]
    fn hides_big_attachments_and_keeps_small_ones() {
        // EBML header, Segment of 2 × (Attachments of 16 bytes).
        let attachments = [&[0x19, 0x41, 0xa4, 0x69, 0x90][..], &[0u8; 16]].concat();
        let file = [&[0x1a, 0x45, 0xdf, 0xa3, 0x80, 0x18, 0x53, 0x80, 0x67, 0xaa][..], &attachments, &attachments].concat();
        let plan = plan(&mut Cursor::new(&file), 8).unwrap().unwrap();
        assert_eq!(plan.patches, vec![(10, HIDDEN.to_vec()), (31, HIDDEN.to_vec())]);
        assert_eq!(super::plan(&mut Cursor::new(&file), 16).unwrap(), None);
    }
}
