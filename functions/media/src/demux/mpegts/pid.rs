//! One audio PID: its packets' continuity, and its PES packets reassembled from their payloads
//! into [`Unit`]s. A PES header split over packets is gathered (bounded); payload beyond the
//! length a PES declares is dropped.

#![deny(clippy::arithmetic_side_effects)]

use crate::demux::mpeg::es::StreamKind;
use crate::demux::mpeg::pes::{self, Parsed};
use crate::demux::mpeg::reader::Unit;

/// A PES header is at most 9 + 255 bytes.
const MAX_HEADER: usize = 9 + 255;

pub struct Pid {
    pub key: u32,
    kind: StreamKind,
    /// The last continuity counter seen.
    cc: Option<u8>,
    /// A PES header being gathered.
    head: Vec<u8>,
    gathering: bool,
    /// Inside a PES packet's payload, with this much left if it declared its length.
    in_packet: bool,
    left: Option<usize>,
}

impl Pid {
    pub fn new(key: u32, kind: StreamKind) -> Pid {
        Pid { key, kind, cc: None, head: Vec::new(), gathering: false, in_packet: false, left: None }
    }

    /// A PES packet was cut off by the end of the source.
    pub fn cut(&self) -> bool {
        self.in_packet && self.left.is_some_and(|l| l > 0)
    }

    /// Takes one packet's payload (`discontinuity`: the adaptation field says the counter jumps).
    pub fn feed(&mut self, unit_start: bool, cc: u8, discontinuity: bool, payload: &[u8], out: &mut dyn FnMut(Unit<'_>)) {
        if let Some(last) = self.cc
            && !discontinuity
        {
            if cc == last {
                return; // a duplicate packet
            }
            if cc != (last.wrapping_add(1) & 15) {
                self.in_packet = false;
                self.gathering = false;
                out(Unit::Lost { key: self.key });
            }
        }
        self.cc = Some(cc);
        if unit_start {
            if self.cut() {
                out(Unit::Lost { key: self.key });
            }
            self.in_packet = false;
            self.gathering = true;
            self.head.clear();
        }
        if self.gathering {
            return self.gather(payload, out);
        }
        if self.in_packet {
            let data = self.take(payload);
            out(Unit::Data { key: self.key, data });
        }
    }

    fn gather(&mut self, payload: &[u8], out: &mut dyn FnMut(Unit<'_>)) {
        let room = MAX_HEADER.saturating_sub(self.head.len());
        // The whole payload when the header is complete in it (the usual case), else a bounded part.
        let first = self.head.is_empty();
        if first {
            self.head.extend_from_slice(payload);
        } else {
            self.head.extend_from_slice(payload.get(..room.min(payload.len())).unwrap_or(&[]));
        }
        match pes::parse(&self.head) {
            Parsed::Header(h) => {
                self.gathering = false;
                self.in_packet = true;
                self.left = h.packet_len.map(|l| l.saturating_sub(h.payload_at));
                let head = std::mem::take(&mut self.head);
                let data = self.take(head.get(h.payload_at..).unwrap_or(&[]));
                out(Unit::Start { key: self.key, kind: self.kind, pts: h.pts, data });
                self.head = head;
                self.head.clear();
            }
            Parsed::NeedMore if self.head.len() < MAX_HEADER => {}
            Parsed::NeedMore | Parsed::Invalid => {
                self.gathering = false;
                self.head.clear();
            }
        }
    }

    /// The part of `payload` the PES packet still has room for.
    fn take<'a>(&mut self, payload: &'a [u8]) -> &'a [u8] {
        let Some(left) = self.left else { return payload };
        let n = left.min(payload.len());
        self.left = Some(left.saturating_sub(n));
        payload.get(..n).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demux::frames::Framing;
    use crate::demux::mpeg::es::Coding;
    use symphonia::core::codecs::audio::well_known::CODEC_ID_MP2;

    #[derive(Debug, PartialEq)]
    enum Seen {
        Start(Option<u64>, Vec<u8>),
        Data(Vec<u8>),
        Lost,
    }

    fn run(pid: &mut Pid, packets: &[(bool, u8, &[u8])]) -> Vec<Seen> {
        let mut seen = Vec::new();
        for (start, cc, payload) in packets {
            pid.feed(*start, *cc, false, payload, &mut |u| {
                seen.push(match u {
                    Unit::Start { pts, data, .. } => Seen::Start(pts, data.to_vec()),
                    Unit::Data { data, .. } => Seen::Data(data.to_vec()),
                    Unit::Lost { .. } => Seen::Lost,
                })
            });
        }
        seen
    }

    fn pid() -> Pid {
        Pid::new(0x100, StreamKind { coding: Coding::Framed(Framing::Mpeg), codec: CODEC_ID_MP2 })
    }

    #[test]
    fn reassembles_a_pes_packet_and_drops_what_overruns_its_length() {
        // PES of 3 + 5 header bytes + 6 payload bytes.
        let first: &[u8] = &[0, 0, 1, 0xc0, 0, 14, 0x80, 0x80, 0x05, 0x21, 0, 7, 0xd8, 0x61, 1, 2];
        let seen = run(&mut pid(), &[(true, 0, first), (false, 1, &[3, 4, 5, 6, 7, 8])]);
        assert_eq!(seen, [Seen::Start(Some(126_000), vec![1, 2]), Seen::Data(vec![3, 4, 5, 6])]);
    }

    #[test]
    fn a_continuity_gap_loses_the_packet_and_a_duplicate_is_dropped() {
        let first: &[u8] = &[0, 0, 1, 0xc0, 0, 0, 0x80, 0, 0, 1, 2];
        let mut p = pid();
        let seen = run(&mut p, &[(true, 5, first), (false, 5, &[9]), (false, 7, &[3])]);
        assert_eq!(seen, [Seen::Start(None, vec![1, 2]), Seen::Lost]);
    }

    #[test]
    fn a_header_split_over_packets_is_gathered() {
        let seen = run(&mut pid(), &[(true, 0, &[0, 0, 1, 0xc0, 0, 0, 0x80]), (false, 1, &[0, 0, 7])]);
        assert_eq!(seen, [Seen::Start(None, vec![7])]);
    }
}
