//! MPEG transport streams (ISO 13818-1): broadcast captures, camcorder AVCHD and Blu-ray M2TS.
//! Packets come from `sync`, the program tables from `psi` (with `stream_types` saying which
//! streams are audio), each audio PID's PES packets from `pid`; the shared MPEG reader cuts
//! them into frames. The tables are only read while opening: the tracks stay as found.

#![deny(clippy::arithmetic_side_effects)]

mod pid;
mod psi;
mod stream_types;
mod sync;

use std::io;

use symphonia::core::common::FourCc;
use symphonia::core::errors::Result;
use symphonia::core::formats::probe::{ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::formats::{FormatId, FormatInfo, FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};

use crate::demux::bytes;
use crate::demux::mpeg::es::StreamKind;
use crate::demux::mpeg::reader::{Container, MpegReader, Unit};
use crate::demux::mpeg::window::Window;
use pid::Pid;
use psi::Tables;
use sync::{PACKET, SYNC, Sync};

pub type TsReader<'s> = MpegReader<'s, Ts>;

pub struct Ts {
    sync: Sync,
    /// While opening: the tables being read. Afterwards the streams are fixed.
    tables: Option<Tables>,
    pids: Vec<Pid>,
    declared: Vec<(u32, StreamKind)>,
}

impl Ts {
    fn packet(&mut self, p: &[u8; PACKET], out: &mut dyn FnMut(Unit<'_>)) {
        // Transport error indicator: the packet is known to be damaged.
        if p[1] & 0x80 != 0 {
            return;
        }
        let unit_start = p[1] & 0x40 != 0;
        let pid = bytes::be16(p, 1).unwrap_or(0x1fff) & 0x1fff;
        let control = (p[3] >> 4) & 3;
        let cc = p[3] & 15;
        let mut at = 4usize;
        let mut discontinuity = false;
        if control & 2 != 0 {
            let len = usize::from(p[4]);
            if len > 183 {
                return;
            }
            discontinuity = len > 0 && p[5] & 0x80 != 0;
            at = len.saturating_add(5);
        }
        if control & 1 == 0 || pid == 0x1fff {
            return;
        }
        let payload = p.get(at..).unwrap_or(&[]);
        if let Some(tables) = &mut self.tables {
            tables.feed(pid, unit_start, payload);
            for (key, kind) in &tables.streams {
                if !self.pids.iter().any(|p| p.key == *key) {
                    self.pids.push(Pid::new(*key, *kind));
                    self.declared.push((*key, *kind));
                }
            }
        }
        if let Some(stream) = self.pids.iter_mut().find(|s| s.key == u32::from(pid)) {
            stream.feed(unit_start, cc, discontinuity, payload, out);
        }
    }
}

impl Container for Ts {
    const INFO: FormatInfo =
        FormatInfo { format: FormatId::new(FourCc::new(*b"mpts")), short_name: "mpegts", long_name: "MPEG transport stream" };
    const MIN_LOOKAHEAD: u64 = 0;

    fn new() -> Ts {
        Ts { sync: Sync::default(), tables: Some(Tables::default()), pids: Vec::new(), declared: Vec::new() }
    }

    fn step(&mut self, w: &mut Window<'_>, out: &mut dyn FnMut(Unit<'_>)) -> io::Result<bool> {
        let Some(p) = self.sync.next(w)? else { return Ok(false) };
        self.packet(&p, out);
        Ok(true)
    }

    fn declared(&self) -> &[(u32, StreamKind)] {
        &self.declared
    }

    fn tables_read(&self) -> bool {
        self.tables.as_ref().is_none_or(Tables::read)
    }

    fn restart(&self) -> Ts {
        let pids = self.declared.iter().map(|(key, kind)| Pid::new(*key, *kind)).collect();
        Ts { sync: Sync::default(), tables: None, pids, declared: self.declared.clone() }
    }

    fn cut(&self) -> bool {
        self.sync.cut || self.pids.iter().any(Pid::cut)
    }
}

/// Sync bytes at one stride over the first packets: a transport stream.
impl Scoreable for TsReader<'_> {
    fn score(mut src: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = [0u8; 4 * 204 + 1];
        let n = src.read_buf(&mut head)?;
        let head = &head[..n];
        for stride in [188usize, 192, 204] {
            let packets = (0..5).map_while(|k| stride.checked_mul(k)).take_while(|at| *at < head.len());
            let (mut seen, mut synced) = (0usize, 0usize);
            for at in packets {
                seen = seen.saturating_add(1);
                synced = synced.saturating_add(usize::from(head[at] == SYNC));
            }
            if seen >= 2 && synced == seen {
                return Ok(Score::Supported(if seen >= 4 { 255 } else { 128 }));
            }
        }
        Ok(Score::Unsupported)
    }
}

/// 0x47 and the second header byte of a packet without the error or priority bits: the probe
/// tries the score at each of them.
static PAIRS: [[u8; 2]; 64] = {
    let mut pairs = [[SYNC, 0]; 64];
    let mut i = 0;
    while i < 32 {
        pairs[i][1] = i as u8;
        pairs[i + 32][1] = 0x40 | i as u8;
        i += 1;
    }
    pairs
};
static MARKERS: [&[u8]; 64] = {
    let mut markers: [&[u8]; 64] = [&[]; 64];
    let mut i = 0;
    while i < 64 {
        markers[i] = &PAIRS[i];
        i += 1;
    }
    markers
};

impl ProbeableFormat<'_> for TsReader<'_> {
    fn try_probe_new(mss: MediaSourceStream<'_>, opts: FormatOptions) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(MpegReader::<Ts>::try_new(mss, opts)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["ts", "m2ts", "mts", "m2t", "tsv", "tsa"],
                mime_types: &["video/mp2t"],
                markers: &MARKERS,
            },
            info: Ts::INFO,
        }];
        &DATA
    }
}
