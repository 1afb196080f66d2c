//! Transport packets out of the byte stream: 188 bytes from a 0x47 sync byte, at a stride of
//! 188 (TS), 192 (M2TS: a 4-byte arrival time before each packet) or 204 (TS with Reed-Solomon
//! parity). Sync is (re)gained where sync bytes recur at one stride over three packets.

#![deny(clippy::arithmetic_side_effects)]

use std::io;

use crate::demux::mpeg::window::Window;

pub const PACKET: usize = 188;
pub const SYNC: u8 = 0x47;
const STRIDES: [usize; 3] = [188, 192, 204];
/// Sync bytes after the first that must be where the stride says, to regain sync.
const CONFIRMATIONS: usize = 2;
/// Bytes a sync search needs in view.
const SEARCH_VIEW: usize = 204 * (CONFIRMATIONS + 1) + 1;

#[derive(Default)]
pub struct Sync {
    /// The stride in force, while in sync.
    stride: Option<usize>,
    /// The source ended inside a packet.
    pub cut: bool,
}

enum Search {
    Found {
        at: usize,
        stride: usize,
    },
    /// Undecided from `at` on: more bytes needed.
    NeedMore {
        at: usize,
    },
    Nothing,
}

impl Sync {
    /// The next packet, `None` at the end of the source.
    pub fn next(&mut self, w: &mut Window<'_>) -> io::Result<Option<[u8; PACKET]>> {
        loop {
            w.fill(SEARCH_VIEW)?;
            let data = w.data();
            if data.is_empty() {
                return Ok(None);
            }
            if let Some(stride) = self.stride {
                if data[0] == SYNC {
                    let Some(packet) = data.get(..PACKET) else {
                        self.cut = true;
                        w.consume(data.len());
                        return Ok(None);
                    };
                    let mut out = [0u8; PACKET];
                    out.copy_from_slice(packet);
                    // No sync byte where the next packet should start: look for it after this one.
                    if data.get(stride).is_some_and(|b| *b != SYNC) {
                        self.stride = None;
                    }
                    // An M2TS packet's 4 bytes of arrival time are in front of the next sync byte.
                    w.consume(stride.min(data.len()));
                    return Ok(Some(out));
                }
                self.stride = None;
            }
            match search(data, w.ended()) {
                Search::Found { at, stride } => {
                    w.consume(at);
                    self.stride = Some(stride);
                }
                Search::NeedMore { at } => w.consume(at),
                Search::Nothing => {
                    // No byte at hand can start a packet.
                    w.consume(data.len());
                    if w.ended() {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

/// The first offset of `data` where sync bytes recur at one of the strides. At the end of the
/// source one recurrence is enough (a short file, or its last packets).
fn search(data: &[u8], ended: bool) -> Search {
    for (at, _) in data.iter().enumerate().filter(|(_, b)| **b == SYNC) {
        for stride in STRIDES {
            let mut confirmed = 0usize;
            let mut k = 1usize;
            while confirmed < CONFIRMATIONS {
                let Some(pos) = stride.checked_mul(k).and_then(|d| d.checked_add(at)) else { break };
                match data.get(pos) {
                    Some(&SYNC) => confirmed = confirmed.saturating_add(1),
                    Some(_) => break,
                    None if ended => break,
                    None => return Search::NeedMore { at },
                }
                k = k.saturating_add(1);
            }
            if confirmed == CONFIRMATIONS || (ended && confirmed > 0 && data.len().saturating_sub(at) >= PACKET) {
                return Search::Found { at, stride };
            }
        }
    }
    Search::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::io::MediaSourceStream;

    fn packets(stride: usize, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let mut p = vec![i as u8; stride];
            p[stride.saturating_sub(PACKET)] = SYNC;
            out.extend(p);
        }
        out
    }

    fn read_all(data: Vec<u8>) -> (Vec<u8>, bool) {
        let mut w = Window::new(MediaSourceStream::new(Box::new(io::Cursor::new(data)), Default::default()));
        let mut sync = Sync::default();
        let mut seen = Vec::new();
        while let Some(p) = sync.next(&mut w).unwrap() {
            seen.push(p[1]);
        }
        (seen, sync.cut)
    }

    #[test]
    fn reads_ts_and_m2ts_strides() {
        assert_eq!(read_all(packets(188, 5)), ((0..5).collect(), false));
        assert_eq!(read_all(packets(192, 5)), ((0..5).collect(), false));
    }

    #[test]
    fn resyncs_after_junk_and_notes_a_packet_cut_short() {
        let mut data = packets(188, 3);
        data.extend([1, 0x47, 2, 3, 0x47, 9]);
        data.extend(packets(188, 4));
        data.truncate(data.len() - 100);
        let (seen, cut) = read_all(data);
        assert_eq!(seen, [0, 1, 2, 0, 1, 2]);
        assert!(cut);
    }

    #[test]
    fn junk_after_the_last_packet_is_not_a_cut() {
        let mut data = packets(188, 4);
        data.extend([0x12; 1000]);
        assert_eq!(read_all(data), ((0..4).collect(), false));
    }
}
