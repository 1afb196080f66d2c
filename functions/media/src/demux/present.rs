//! How the source is presented to symphonia's demuxers: a container cut short as running to
//! the end of the file (so the readable part converts), and metadata too large to hold in a
//! conversion's memory hidden (symphonia reads cover art, attachments and tags whole): MP4
//! `udta`/`meta` boxes, Matroska Attachments, FLAC pictures past [`MAX_METADATA`], and an
//! ID3v2 tag past it in front of an MP3 or FLAC stream. Hidden metadata costs the MP3 its tags,
//! never its audio. A MOV PCM track of more than two channels in a version 0/1 entry, which
//! symphonia refuses, is shown to it as stereo (`mov_pcm` reads the samples).

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

use crate::demux::mkv;
use crate::demux::mp4::Mp4Info;

/// Metadata blocks larger than this are hidden from the demuxer.
pub const MAX_METADATA: u64 = 4 << 20;

/// The source as the demuxer should see it.
pub struct Presented {
    pub source: Box<dyn MediaSource>,
    /// The container was cut short.
    pub cut: bool,
    /// Matroska's ACM audio tracks, which symphonia drops (see `mkv`): (number, WAVEFORMATEX).
    pub acm: Vec<(u64, Vec<u8>)>,
}

pub fn present(mut source: Box<dyn MediaSource>, mp4: Option<&Mp4Info>) -> io::Result<Presented> {
    if !source.is_seekable() {
        return Ok(Presented { source, cut: false, acm: Vec::new() });
    }
    if let Some(info) = mp4 {
        let mut patches: Vec<(u64, Vec<u8>)> = info.oversized.iter().map(|at| (*at, b"free".to_vec())).collect();
        patches.extend(info.pcm_channels_at.map(|at| (at, vec![0, 2])));
        // A 32-bit box size of 0 means "to the end of the file"; a 64-bit one is left alone.
        let cut = match info.cut_box {
            Some(at) if !large_box(&mut source, at)? => {
                patches.push((at, vec![0; 4]));
                true
            }
            _ => false,
        };
        return Ok(Presented { source: Box::new(Patched::new(source, 0, patches)), cut, acm: Vec::new() });
    }
    let base = id3v2_to_skip(&mut source)?;
    let mut patches = flac_pictures(&mut source, base)?;
    let (mut cut, mut acm) = (false, Vec::new());
    if base == 0
        && let Some(plan) = mkv::plan(&mut source, MAX_METADATA)?
    {
        patches.extend(plan.patches);
        (cut, acm) = (plan.cut, plan.acm);
    }
    source.seek(SeekFrom::Start(0))?;
    if base == 0 && patches.is_empty() {
        return Ok(Presented { source, cut: false, acm });
    }
    let patched = Patched::new(source, base, patches);
    // A cut Matroska file is read straight on instead of jumping to index elements (Cues)
    // that lie beyond the cut.
    Ok(Presented { source: Box::new(if cut { patched.forward_only() } else { patched }), cut, acm })
}

/// Whether the box at `at` uses a 64-bit size (size field 1).
fn large_box(source: &mut Box<dyn MediaSource>, at: u64) -> io::Result<bool> {
    source.seek(SeekFrom::Start(at))?;
    let mut size = [0u8; 4];
    source.read_exact(&mut size)?;
    source.seek(SeekFrom::Start(0))?;
    Ok(u32::from_be_bytes(size) == 1)
}

/// The length of an ID3v2 tag at the start larger than [`MAX_METADATA`], else 0.
fn id3v2_to_skip(r: &mut impl Read) -> io::Result<u64> {
    let mut h = [0u8; 10];
    if r.read_exact(&mut h).is_err() || &h[0..3] != b"ID3" || h[6..10].iter().any(|b| b & 0x80 != 0) {
        return Ok(0);
    }
    let size = h[6..10].iter().fold(0u64, |size, b| (size << 7) | u64::from(*b));
    let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
    let len = size.saturating_add(10).saturating_add(footer);
    Ok(if len > MAX_METADATA { len } else { 0 })
}

/// Patches turning FLAC PICTURE blocks larger than [`MAX_METADATA`] into PADDING, for a FLAC
/// stream starting at `at`.
fn flac_pictures<R: Read + Seek>(r: &mut R, at: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
    const PICTURE: u8 = 6;
    const PADDING: u8 = 1;
    let mut patches = Vec::new();
    r.seek(SeekFrom::Start(at))?;
    let mut magic = [0u8; 4];
    if r.read_exact(&mut magic).is_err() || &magic != b"fLaC" {
        return Ok(patches);
    }
    let mut pos = at.saturating_add(4);
    for _ in 0..1024 {
        let mut h = [0u8; 4];
        if r.read_exact(&mut h).is_err() {
            break;
        }
        let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        if h[0] & 0x7f == PICTURE && len > MAX_METADATA {
            patches.push((pos, vec![(h[0] & 0x80) | PADDING]));
        }
        if h[0] & 0x80 != 0 {
            break;
        }
        pos = pos.saturating_add(4).saturating_add(len);
        r.seek(SeekFrom::Start(pos))?;
    }
    Ok(patches)
}

/// The source from `base` on, with `patches` (file offsets, bytes) read in place of what is
/// there.
pub struct Patched {
    inner: Box<dyn MediaSource>,
    base: u64,
    patches: Vec<(u64, Vec<u8>)>,
    /// Position in the file (not relative to `base`).
    pos: u64,
    seekable: bool,
}

impl Patched {
    pub fn new(mut inner: Box<dyn MediaSource>, base: u64, patches: Vec<(u64, Vec<u8>)>) -> Patched {
        let pos = inner.seek(SeekFrom::Start(base)).unwrap_or(base);
        Patched { inner, base, patches, pos, seekable: true }
    }

    /// Reports the source as unseekable, so a Matroska demuxer reads straight on.
    pub fn forward_only(mut self) -> Patched {
        self.seekable = false;
        self
    }
}

impl Read for Patched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.pos;
        let end = start.saturating_add(n as u64);
        for (at, bytes) in &self.patches {
            for (i, byte) in bytes.iter().enumerate() {
                let Some(off) = at.checked_add(i as u64).filter(|off| (start..end).contains(off)) else { continue };
                if let Some(slot) = off.checked_sub(start).and_then(|o| usize::try_from(o).ok()).and_then(|o| buf.get_mut(o)) {
                    *slot = *byte;
                }
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let to = match to {
            SeekFrom::Start(p) => SeekFrom::Start(p.checked_add(self.base).ok_or_else(|| io::Error::other("seek overflow"))?),
            other => other,
        };
        let pos = self.inner.seek(to)?;
        if pos < self.base {
            self.inner.seek(SeekFrom::Start(self.pos))?;
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"));
        }
        self.pos = pos;
        Ok(pos.saturating_sub(self.base))
    }
}

impl MediaSource for Patched {
    fn is_seekable(&self) -> bool {
        self.seekable && self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len().map(|len| len.saturating_sub(self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn patches_apply_across_reads_and_the_base_hides_what_is_before_it() {
        let data: Vec<u8> = (0..32).collect();
        let mut p = Patched::new(Box::new(Cursor::new(data)), 8, vec![(9, vec![0xaa, 0xbb]), (20, vec![0xcc])]);
        let mut first = [0u8; 2];
        p.read_exact(&mut first).unwrap();
        assert_eq!(first, [8, 0xaa]);
        let mut rest = Vec::new();
        p.read_to_end(&mut rest).unwrap();
        assert_eq!(&rest[..2], &[0xbb, 11]);
        assert_eq!(rest[20 - 10], 0xcc);
        assert_eq!(p.seek(SeekFrom::Start(0)).unwrap(), 0);
        assert_eq!(p.byte_len(), Some(24));
        assert!(p.seek(SeekFrom::End(-30)).is_err());
    }

    #[test]
    fn a_huge_id3_tag_is_skipped_and_a_small_one_kept() {
        let tag = |size: u64| {
            let s = [(size >> 21) as u8 & 0x7f, (size >> 14) as u8 & 0x7f, (size >> 7) as u8 & 0x7f, size as u8 & 0x7f];
            [&b"ID3\x04\x00\x00"[..], &s].concat()
        };
        assert_eq!(id3v2_to_skip(&mut Cursor::new(tag(5 << 20))).unwrap(), (5 << 20) + 10);
        assert_eq!(id3v2_to_skip(&mut Cursor::new(tag(1000))).unwrap(), 0);
        assert_eq!(id3v2_to_skip(&mut Cursor::new(b"fLaC".to_vec())).unwrap(), 0);
    }

    #[test]
    fn a_huge_flac_picture_becomes_padding() {
        let mut file = b"fLaC".to_vec();
        file.extend([0x00, 0, 0, 34]);
        file.extend([0u8; 34]);
        let big = (MAX_METADATA + 1) as u32;
        file.extend([0x86, (big >> 16) as u8, (big >> 8) as u8, big as u8]);
        assert_eq!(flac_pictures(&mut Cursor::new(&file), 0).unwrap(), vec![(42, vec![0x81])]);
    }
}
