//! MPEG program streams (ISO 11172-1 and 13818-1): `.mpg` and DVD `.vob`. Pack and system
//! headers are stepped over, and so are video, padding and navigation packets; the audio is in
//! PES streams 0xC0–0xDF (MPEG audio) and in DVD's private stream 1 (0xBD), whose first payload
//! byte names the substream: 0x80–0x87 AC-3, 0x88–0x8F DTS, 0xA0–0xA7 LPCM. A PS has no table
//! of its streams: the ones seen while opening are the tracks.

#![deny(clippy::arithmetic_side_effects)]

use std::io;

use symphonia::core::codecs::audio::well_known::{CODEC_ID_AC3, CODEC_ID_DCA, CODEC_ID_MP2, CODEC_ID_PCM_S16BE};
use symphonia::core::common::FourCc;
use symphonia::core::errors::Result;
use symphonia::core::formats::probe::{ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::formats::{FormatId, FormatInfo, FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};

use crate::demux::bytes;
use crate::demux::frames::Framing;
use crate::demux::mpeg::es::{Coding, StreamKind};
use crate::demux::mpeg::lpcm::Flavour;
use crate::demux::mpeg::pes::{self, Parsed};
use crate::demux::mpeg::reader::{Container, MpegReader, Unit};
use crate::demux::mpeg::window::Window;

pub type PsReader<'s> = MpegReader<'s, Ps>;

const PACK: u8 = 0xba;
const END: u8 = 0xb9;
const PRIVATE_1: u8 = 0xbd;

#[derive(Default)]
pub struct Ps {
    cut: bool,
}

/// The length of the pack header at the start of `b` (MPEG-2: 14 bytes and stuffing; MPEG-1:
/// 12), `None` if more bytes are needed, `Some(None)` if it is not one.
fn pack_len(b: &[u8]) -> Option<Option<usize>> {
    let marker = *b.get(4)?;
    if marker >> 6 == 1 {
        return Some(Some(14usize.saturating_add(usize::from(b.get(13)? & 7))));
    }
    Some((marker >> 4 == 2).then_some(12))
}

/// Where the next start code of the system layer (pack, end, or a packet) is in `b`.
fn next_start_code(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w[..3] == [0, 0, 1] && w[3] >= END)
}

impl Ps {
    /// One whole (or, at a cut, partial) PES packet.
    fn packet(&mut self, id: u8, b: &[u8], out: &mut dyn FnMut(Unit<'_>)) {
        if !(0xc0..=0xdf).contains(&id) && id != PRIVATE_1 {
            return;
        }
        let Parsed::Header(h) = pes::parse(b) else { return };
        let payload = b.get(h.payload_at..).unwrap_or(&[]);
        let (key, kind, skip) = if id == PRIVATE_1 {
            let Some(&sub) = payload.first() else { return };
            let framed = |framing, codec| StreamKind { coding: Coding::Framed(framing), codec };
            // After the substream id: the frame count and the first access unit's offset.
            let kind = match sub {
                0x80..=0x87 => framed(Framing::Ac3, CODEC_ID_AC3),
                0x88..=0x8f => framed(Framing::Dts, CODEC_ID_DCA),
                0xa0..=0xa7 => StreamKind { coding: Coding::Lpcm(Flavour::Dvd), codec: CODEC_ID_PCM_S16BE },
                _ => return,
            };
            (0xbd00 | u32::from(sub), kind, 4)
        } else {
            (u32::from(id), StreamKind { coding: Coding::Framed(Framing::Mpeg), codec: CODEC_ID_MP2 }, 0)
        };
        out(Unit::Start { key, kind, pts: h.pts, data: payload.get(skip..).unwrap_or(&[]) });
    }
}

impl Container for Ps {
    const INFO: FormatInfo =
        FormatInfo { format: FormatId::new(FourCc::new(*b"mpps")), short_name: "mpeg", long_name: "MPEG program stream" };
    const MIN_LOOKAHEAD: u64 = 256 * 1024;

    fn new() -> Ps {
        Ps::default()
    }

    fn step(&mut self, w: &mut Window<'_>, out: &mut dyn FnMut(Unit<'_>)) -> io::Result<bool> {
        w.fill(16)?;
        let d = w.data();
        if d.len() < 4 {
            w.consume(d.len());
            return Ok(false);
        }
        if d[..3] != [0, 0, 1] || d[3] < END {
            // Junk: on to the next start code (keeping what could be the start of one).
            let skip = next_start_code(d.get(1..).unwrap_or(&[])).map_or(d.len().saturating_sub(3), |at| at.saturating_add(1));
            w.consume(skip.max(1));
            return Ok(true);
        }
        let id = d[3];
        let len = match id {
            END => 4,
            PACK => match pack_len(d) {
                Some(Some(len)) => len,
                Some(None) | None => 1,
            },
            _ => usize::from(bytes::be16(d, 4).unwrap_or(0)).saturating_add(6),
        };
        w.fill(len)?;
        let d = w.data();
        let unit = d.get(..len.min(d.len())).unwrap_or(&[]);
        if unit.len() < len {
            self.cut = true;
        }
        if id != END && id != PACK {
            self.packet(id, unit, out);
        }
        w.consume(unit.len());
        Ok(true)
    }

    fn declared(&self) -> &[(u32, StreamKind)] {
        &[]
    }

    fn tables_read(&self) -> bool {
        true
    }

    fn restart(&self) -> Ps {
        Ps::default()
    }

    fn cut(&self) -> bool {
        self.cut
    }
}

/// A pack header followed by another start code.
impl Scoreable for PsReader<'_> {
    fn score(mut src: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = [0u8; 32];
        let n = src.read_buf(&mut head)?;
        let head = &head[..n];
        let Some(Some(len)) = pack_len(head) else { return Ok(Score::Unsupported) };
        match head.get(len..len.saturating_add(3)) {
            Some(next) if next == [0, 0, 1] => Ok(Score::Supported(255)),
            Some(_) => Ok(Score::Unsupported),
            None => Ok(Score::Supported(64)),
        }
    }
}

impl ProbeableFormat<'_> for PsReader<'_> {
    fn try_probe_new(mss: MediaSourceStream<'_>, opts: FormatOptions) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(MpegReader::<Ps>::try_new(mss, opts)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["mpg", "mpeg", "vob", "mod", "tod", "m2p", "ps"],
                mime_types: &["video/mpeg"],
                markers: &[&[0, 0, 1, PACK]],
            },
            info: Ps::INFO,
        }];
        &DATA
    }
}
