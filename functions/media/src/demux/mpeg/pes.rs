//! PES packet headers (ISO 13818-1, 2.4.3.6), in the MPEG-2 syntax (TS and MPEG-2 PS) and the
//! MPEG-1 system syntax (MPEG-1 PS): where the payload starts and the presentation time.

#![deny(clippy::arithmetic_side_effects)]

use crate::demux::bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PesHeader {
    pub stream_id: u8,
    /// 90 kHz ticks (33 bits).
    pub pts: Option<u64>,
    /// From the start of the packet (its `00 00 01` prefix).
    pub payload_at: usize,
    /// The packet's whole length from its prefix, when it declares one (0 means "unbounded",
    /// allowed for video in TS only).
    pub packet_len: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Header(PesHeader),
    /// The header runs past the bytes given.
    NeedMore,
    Invalid,
}

/// The header at the start of `b`.
pub fn parse(b: &[u8]) -> Parsed {
    if b.len() < 6 {
        return Parsed::NeedMore;
    }
    if b[..3] != [0, 0, 1] {
        return Parsed::Invalid;
    }
    let stream_id = b[3];
    let declared = usize::from(u16::from_be_bytes([b[4], b[5]]));
    let packet_len = (declared > 0).then(|| declared.saturating_add(6));
    let Some(&first) = b.get(6) else { return Parsed::NeedMore };
    let found = if first >> 6 == 2 { mpeg2(b) } else { mpeg1(b) };
    match found {
        Some(Some((payload_at, pts))) if packet_len.is_none_or(|l| payload_at <= l) => {
            Parsed::Header(PesHeader { stream_id, pts, payload_at, packet_len })
        }
        Some(Some(_)) => Parsed::Invalid,
        Some(None) => Parsed::Invalid,
        None => Parsed::NeedMore,
    }
}

/// `None`: more bytes needed; `Some(None)`: invalid.
type Found = Option<Option<(usize, Option<u64>)>>;

fn mpeg2(b: &[u8]) -> Found {
    let (flags, header_len) = (*b.get(7)?, *b.get(8)?);
    let payload_at = 9usize.saturating_add(usize::from(header_len));
    if b.len() < payload_at {
        return None;
    }
    let pts = if flags & 0x80 != 0 {
        if header_len < 5 {
            return Some(None);
        }
        timestamp(b.get(9..14)?)
    } else {
        None
    };
    Some(Some((payload_at, pts)))
}

fn mpeg1(b: &[u8]) -> Found {
    let mut at = 6usize;
    // Up to 16 stuffing bytes.
    while *b.get(at)? == 0xff {
        at = at.saturating_add(1);
        if at > 22 {
            return Some(None);
        }
    }
    if b.get(at)? >> 6 == 1 {
        at = at.saturating_add(2); // STD buffer scale and size
    }
    let marker = *b.get(at)?;
    let (pts, len) = match marker >> 4 {
        2 => (timestamp(b.get(at..at.saturating_add(5))?), 5),
        3 => (timestamp(b.get(at..at.saturating_add(10))?), 10),
        0 if marker == 0x0f => (None, 1),
        _ => return Some(None),
    };
    Some(Some((at.saturating_add(len), pts)))
}

/// A 33-bit PTS/DTS from its 5-byte field (marker bits not checked: muxers get them wrong).
pub fn timestamp(b: &[u8]) -> Option<u64> {
    let b = b.get(..5)?;
    let hi = u64::from((b[0] >> 1) & 7);
    let mid = u64::from(bytes::be16(b, 1)? >> 1);
    let lo = u64::from(bytes::be16(b, 3)? >> 1);
    Some((hi << 30) | (mid << 15) | lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpeg2_header_with_pts() {
        // As ffmpeg writes audio in TS: 0x1c0, length 0x0aff, PTS 126000 (1.4 s).
        let b = [0, 0, 1, 0xc0, 0x0a, 0xff, 0x80, 0x80, 0x05, 0x21, 0x00, 0x07, 0xd8, 0x61, 0xff];
        let Parsed::Header(h) = parse(&b) else { panic!() };
        assert_eq!(h, PesHeader { stream_id: 0xc0, pts: Some(126_000), payload_at: 14, packet_len: Some(0x0aff + 6) });
        assert_eq!(parse(&b[..10]), Parsed::NeedMore);
    }

    #[test]
    fn mpeg1_header_with_stuffing_std_buffer_and_pts() {
        let b = [0, 0, 1, 0xc0, 0, 20, 0xff, 0xff, 0x40, 0x20, 0x21, 0x00, 0x07, 0xd8, 0x61, 0xaa];
        let Parsed::Header(h) = parse(&b) else { panic!() };
        assert_eq!((h.pts, h.payload_at), (Some(126_000), 15));
        let none = [0, 0, 1, 0xc0, 0, 20, 0x0f, 0xaa];
        assert_eq!(parse(&none), Parsed::Header(PesHeader { stream_id: 0xc0, pts: None, payload_at: 7, packet_len: Some(26) }));
    }

    #[test]
    fn refuses_a_header_longer_than_its_packet_or_endless_stuffing() {
        let long = [0, 0, 1, 0xc0, 0, 3, 0x80, 0x80, 0x05, 0x21, 0x00, 0x07, 0xd8, 0x61];
        assert_eq!(parse(&long), Parsed::Invalid);
        let mut stuffed = vec![0, 0, 1, 0xc0, 0, 40];
        stuffed.extend([0xff; 30]);
        assert_eq!(parse(&stuffed), Parsed::Invalid);
        assert_eq!(parse(&[1, 2, 3, 4, 5, 6, 7]), Parsed::Invalid);
    }
}
