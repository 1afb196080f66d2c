//! Cut-off files: a container whose outer element claims more bytes than the file has is
//! presented with that size rewritten ("to the end of the file"), so the demuxer reads what is
//! there instead of refusing the file.

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// The source with `bytes` read in place of the bytes at `at`.
pub struct Patched {
    inner: Box<dyn MediaSource>,
    at: u64,
    bytes: Vec<u8>,
    pos: u64,
    seekable: bool,
}

impl Patched {
    pub fn new(inner: Box<dyn MediaSource>, at: u64, bytes: Vec<u8>) -> Patched {
        Patched { inner, at, bytes, pos: 0, seekable: true }
    }

    /// Reports the source as unseekable, so a Matroska demuxer reads straight on instead of
    /// jumping to index elements (Cues) that lie beyond the cut.
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
        // The patched bytes that fall inside [start, end), as (index in buf, patch byte).
        for (i, byte) in self.bytes.iter().enumerate() {
            let Some(off) = self.at.checked_add(i as u64).filter(|off| (start..end).contains(off)) else { continue };
            if let Some(slot) = off.checked_sub(start).and_then(|o| usize::try_from(o).ok()).and_then(|o| buf.get_mut(o)) {
                *slot = *byte;
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

impl MediaSource for Patched {
    fn is_seekable(&self) -> bool {
        self.seekable && self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len()
    }
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

/// For a Matroska/WebM file cut short: where its Segment size is and the bytes that mark it
/// "unknown size". `None` if the file is not Matroska or is complete. Leaves the position at 0.
pub fn mkv_segment_patch<R: Read + Seek>(r: &mut R) -> io::Result<Option<(u64, Vec<u8>)>> {
    let len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let patch = segment_patch(r, len).ok().flatten();
    r.seek(SeekFrom::Start(0))?;
    Ok(patch)
}

fn segment_patch<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Option<(u64, Vec<u8>)>> {
    let mut id = [0u8; 4];
    r.read_exact(&mut id)?;
    if id != [0x1a, 0x45, 0xdf, 0xa3] {
        return Ok(None);
    }
    let (header_len, _, _) = read_vint(r)?;
    r.seek(SeekFrom::Current(i64::try_from(header_len).unwrap_or(i64::MAX)))?;
    r.read_exact(&mut id)?;
    if id != [0x18, 0x53, 0x80, 0x67] {
        return Ok(None);
    }
    let size_at = r.stream_position()?;
    let (size, size_len, unknown) = read_vint(r)?;
    let body = r.stream_position()?;
    if unknown || body.saturating_add(size) <= len {
        return Ok(None);
    }
    // All value bits set = unknown size; keep the marker bit of the original length.
    let mut bytes = vec![0xff; size_len];
    bytes[0] = 0xffu8.checked_shr(size_len.saturating_sub(1) as u32).unwrap_or(0);
    Ok(Some((size_at, bytes)))
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
        let patch = mkv_segment_patch(&mut Cursor::new(&file)).unwrap();
        assert_eq!(patch, Some((9, vec![0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
        let whole = [&file[..9], &[0x84], &[1, 2, 3, 4]].concat();
        assert_eq!(mkv_segment_patch(&mut Cursor::new(&whole)).unwrap(), None);
    }
}
