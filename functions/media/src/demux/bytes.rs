//! Fixed-width integers at an offset of a byte slice, for the hand-written demuxers: `None`
//! (never a panic or a wrapped offset) when the slice is too short; and reads that stop at the
//! end of the source (a file cut short is read as far as it goes).

#![deny(clippy::arithmetic_side_effects)]

use std::io;

use symphonia::core::io::ReadBytes;

fn field<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

pub fn le16(b: &[u8], at: usize) -> Option<u16> {
    field(b, at).map(u16::from_le_bytes)
}

pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    field(b, at).map(u32::from_le_bytes)
}

pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    field(b, at).map(u16::from_be_bytes)
}

pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    field(b, at).map(u32::from_be_bytes)
}

pub fn be64(b: &[u8], at: usize) -> Option<u64> {
    field(b, at).map(u64::from_be_bytes)
}

/// `base + index × width`, for the entries of a table.
pub fn entry(base: usize, index: usize, width: usize) -> Option<usize> {
    index.checked_mul(width)?.checked_add(base)
}

/// Reads until `buf` is full or the source ends; returns the bytes read.
pub fn read_up_to(r: &mut impl ReadBytes, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0usize;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        match r.read_buf(rest) {
            Ok(0) => break,
            Ok(n) => got = got.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_range_and_refuses_past_the_end_or_at_overflowing_offsets() {
        let b = [1, 2, 3, 4, 5];
        assert_eq!(le16(&b, 0), Some(0x0201));
        assert_eq!(be32(&b, 1), Some(0x0203_0405));
        assert_eq!(be32(&b, 2), None);
        assert_eq!(le32(&b, usize::MAX), None);
        assert_eq!(entry(8, usize::MAX, 12), None);
    }
}
