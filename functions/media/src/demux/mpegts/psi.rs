//! The program tables: PSI sections reassembled from their packets (bounded, CRC-checked), the
//! PAT (where each program's PMT is) and the PMTs (each program's streams, of which the audio
//! ones are kept).

#![deny(clippy::arithmetic_side_effects)]

use crate::demux::bytes;
use crate::demux::mpeg::es::StreamKind;
use crate::demux::mpegts::stream_types;

/// A section is at most 1,024 bytes for PAT and PMT (4,096 for private ones).
const MAX_SECTION: usize = 4096 + 3;
/// The most programs followed.
const MAX_PROGRAMS: usize = 16;
/// The most audio streams kept.
const MAX_STREAMS: usize = 16;

/// One PID's section reassembly.
#[derive(Default)]
struct Sections {
    buf: Vec<u8>,
    active: bool,
}

impl Sections {
    /// Takes a packet's payload and hands each whole section to `done`.
    fn feed(&mut self, unit_start: bool, payload: &[u8], done: &mut dyn FnMut(&[u8])) {
        if unit_start {
            let Some((&pointer, rest)) = payload.split_first() else { return };
            let (tail, head) = rest.split_at(usize::from(pointer).min(rest.len()));
            if self.active {
                self.extend(tail);
                self.drain(done);
            }
            self.buf.clear();
            self.active = true;
            self.extend(head);
        } else if self.active {
            self.extend(payload);
        }
        self.drain(done);
    }

    fn extend(&mut self, b: &[u8]) {
        if self.buf.len().saturating_add(b.len()) > MAX_SECTION {
            self.buf.clear();
            self.active = false;
            return;
        }
        self.buf.extend_from_slice(b);
    }

    fn drain(&mut self, done: &mut dyn FnMut(&[u8])) {
        while self.active && self.buf.len() >= 3 {
            if self.buf[0] == 0xff {
                // Stuffing: no more sections in this packet.
                self.buf.clear();
                self.active = false;
                return;
            }
            let len = usize::from(bytes::be16(&self.buf, 1).unwrap_or(0) & 0x0fff).saturating_add(3);
            if self.buf.len() < len {
                return;
            }
            if let Some(section) = self.buf.get(..len) {
                done(section);
            }
            self.buf.drain(..len);
        }
    }
}

#[derive(Default)]
pub struct Tables {
    pat: Sections,
    pat_read: bool,
    /// Each program's PMT PID, its reassembly and whether it has been read.
    pmts: Vec<(u16, Sections, bool)>,
    /// The audio streams of the PMTs read, by PID.
    pub streams: Vec<(u32, StreamKind)>,
}

impl Tables {
    /// Takes a packet's payload, if it is one of the tables'.
    pub fn feed(&mut self, pid: u16, unit_start: bool, payload: &[u8]) {
        if pid == 0 {
            let mut programs = Vec::new();
            self.pat.feed(unit_start, payload, &mut |s| programs.extend(pat(s)));
            for pmt_pid in programs {
                if !self.pmts.iter().any(|(p, ..)| *p == pmt_pid) && self.pmts.len() < MAX_PROGRAMS {
                    self.pmts.push((pmt_pid, Sections::default(), false));
                }
                self.pat_read = true;
            }
            return;
        }
        let Some(index) = self.pmts.iter().position(|(p, ..)| *p == pid) else { return };
        let mut found = Vec::new();
        let mut read = false;
        if let Some((_, sections, _)) = self.pmts.get_mut(index) {
            sections.feed(unit_start, payload, &mut |s| {
                if let Some(streams) = pmt(s) {
                    read = true;
                    found.extend(streams);
                }
            });
        }
        for (stream_pid, kind) in found {
            if !self.streams.iter().any(|(p, _)| *p == stream_pid) && self.streams.len() < MAX_STREAMS {
                self.streams.push((stream_pid, kind));
            }
        }
        if read && let Some(entry) = self.pmts.get_mut(index) {
            entry.2 = true;
        }
    }

    /// Whether the PAT and every PMT it lists have been read.
    pub fn read(&self) -> bool {
        self.pat_read && self.pmts.iter().all(|(_, _, read)| *read)
    }
}

/// A section's body (after the 8-byte long header, before the CRC) if it is a whole, intact
/// section of `table_id`.
fn body(section: &[u8], table_id: u8) -> Option<&[u8]> {
    if section.first() != Some(&table_id) || section.len() < 12 || crc32(section) != 0 {
        return None;
    }
    section.get(8..section.len().checked_sub(4)?)
}

/// The PMT PIDs of a PAT section.
fn pat(section: &[u8]) -> Vec<u16> {
    let Some(body) = body(section, 0x00) else { return Vec::new() };
    body.chunks_exact(4)
        .filter(|e| bytes::be16(e, 0) != Some(0)) // program 0: the network PID
        .filter_map(|e| bytes::be16(e, 2).map(|p| p & 0x1fff))
        .collect()
}

/// The audio streams of a PMT section.
fn pmt(section: &[u8]) -> Option<Vec<(u32, StreamKind)>> {
    let body = body(section, 0x02)?;
    let info_len = usize::from(bytes::be16(body, 2)? & 0x0fff);
    let program_info = body.get(4..4usize.checked_add(info_len)?)?;
    let hdmv = stream_types::is_hdmv(program_info);
    let mut rest = body.get(4usize.saturating_add(info_len)..)?;
    let mut streams = Vec::new();
    while rest.len() >= 5 {
        let stream_type = rest[0];
        let pid = bytes::be16(rest, 1)? & 0x1fff;
        let es_info_len = usize::from(bytes::be16(rest, 3)? & 0x0fff);
        let descriptors = rest.get(5..5usize.checked_add(es_info_len)?)?;
        if let Some(kind) = stream_types::audio(stream_type, descriptors, hdmv) {
            streams.push((u32::from(pid), kind));
        }
        rest = rest.get(5usize.saturating_add(es_info_len)..)?;
    }
    Some(streams)
}

/// CRC-32/MPEG-2 (polynomial 0x04C11DB7, no reflection): 0 over a section and its CRC.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demux::mpeg::es::Coding;

    /// ffmpeg's PAT (program 1 at PID 0x1000) and a PMT with MPEG-2 video and ADTS AAC.
    const PAT: [u8; 17] = [0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1, 0x04, 0xb2];
    const PMT: [u8; 27] = [
        0x00, 0x02, 0xb0, 0x17, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x02, 0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0,
        0x00, 0x97, 0x57, 0x87, 0xd0,
    ];

    #[test]
    fn reads_pat_then_pmt_across_packets() {
        let mut t = Tables::default();
        t.feed(0, true, &PAT);
        assert!(!t.read());
        t.feed(0x1000, true, &PMT[..10]);
        t.feed(0x1000, false, &PMT[10..]);
        assert!(t.read());
        assert_eq!(t.streams.len(), 1);
        assert_eq!((t.streams[0].0, t.streams[0].1.coding), (0x101, Coding::Framed(crate::demux::frames::Framing::Adts)));
    }

    #[test]
    fn a_section_with_a_bad_crc_is_ignored() {
        let mut pat = PAT;
        pat[12] ^= 1;
        let mut t = Tables::default();
        t.feed(0, true, &pat);
        assert!(!t.read());
        assert!(t.pmts.is_empty());
    }
}
