//! Bare AC-3, E-AC-3 and DTS streams (`.ac3`, `.eac3`, `.dts`): no container, only codec frames
//! one after another. Read through the MPEG reader, as a container of one stream that hands out
//! the file's bytes as they come; the elementary-stream stage cuts them into frames.

#![deny(clippy::arithmetic_side_effects)]

use std::io;

use symphonia::core::codecs::audio::well_known::{CODEC_ID_AC3, CODEC_ID_DCA};
use symphonia::core::common::FourCc;
use symphonia::core::errors::Result;
use symphonia::core::formats::probe::{ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::formats::{FormatId, FormatInfo, FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};

use crate::demux::frames::{Framing, next_frame};
use crate::demux::mpeg::es::{Coding, StreamKind};
use crate::demux::mpeg::reader::{Container, MpegReader, Unit};
use crate::demux::mpeg::window::Window;

pub type BareReader<'s> = MpegReader<'s, Bare>;

/// Bytes handed on per step.
const CHUNK: usize = 16 * 1024;
const AC3_SYNC: [u8; 2] = [0x0b, 0x77];
const DTS_SYNC: [u8; 4] = [0x7f, 0xfe, 0x80, 0x01];

#[derive(Default)]
pub struct Bare {
    started: bool,
}

/// The framing and codec a stream starting with `head` has, if it is one we read bare.
fn kind_of(head: &[u8]) -> Option<(Framing, StreamKind)> {
    let (framing, codec) = if head.starts_with(&AC3_SYNC) {
        (Framing::Ac3, CODEC_ID_AC3)
    } else if head.starts_with(&DTS_SYNC) {
        (Framing::Dts, CODEC_ID_DCA)
    } else {
        return None;
    };
    Some((framing, StreamKind { coding: Coding::Framed(framing), codec }))
}

impl Container for Bare {
    const INFO: FormatInfo =
        FormatInfo { format: FormatId::new(FourCc::new(*b"bare")), short_name: "bare", long_name: "bare AC-3/E-AC-3/DTS stream" };
    const MIN_LOOKAHEAD: u64 = 64 * 1024;

    fn new() -> Bare {
        Bare::default()
    }

    fn step(&mut self, w: &mut Window<'_>, out: &mut dyn FnMut(Unit<'_>)) -> io::Result<bool> {
        w.fill(CHUNK)?;
        let d = w.data();
        let n = d.len().min(CHUNK);
        if n == 0 {
            return Ok(false);
        }
        let data = &d[..n];
        if self.started {
            out(Unit::Data { key: 0, data });
        } else {
            let Some((_, kind)) = kind_of(data) else {
                w.consume(n);
                return Ok(false);
            };
            self.started = true;
            out(Unit::Start { key: 0, kind, pts: None, data });
        }
        w.consume(n);
        Ok(true)
    }

    fn declared(&self) -> &[(u32, StreamKind)] {
        &[]
    }

    fn tables_read(&self) -> bool {
        true
    }

    fn restart(&self) -> Bare {
        Bare::default()
    }

    fn cut(&self) -> bool {
        false
    }
}

/// A sync word at the very start whose frame is followed by another one.
impl Scoreable for BareReader<'_> {
    fn score(mut src: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = vec![0u8; 32 * 1024];
        let n = src.read_buf(&mut head)?;
        let head = &head[..n];
        let Some((framing, _)) = kind_of(head) else { return Ok(Score::Unsupported) };
        match next_frame(framing, head) {
            Some(frame) if frame.start == 0 && frame.end() < head.len() => Ok(Score::Supported(255)),
            _ => Ok(Score::Unsupported),
        }
    }
}

impl ProbeableFormat<'_> for BareReader<'_> {
    fn try_probe_new(mss: MediaSourceStream<'_>, opts: FormatOptions) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(MpegReader::<Bare>::try_new(mss, opts)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["ac3", "eac3", "ec3", "dts"],
                mime_types: &["audio/ac3", "audio/eac3", "audio/vnd.dts"],
                markers: &[&AC3_SYNC, &DTS_SYNC],
            },
            info: Bare::INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_ac3_and_dts_by_their_sync_words_only() {
        assert_eq!(kind_of(&[0x0b, 0x77, 0, 0]).map(|(f, _)| f), Some(Framing::Ac3));
        assert_eq!(kind_of(&[0x7f, 0xfe, 0x80, 0x01, 0]).map(|(f, _)| f), Some(Framing::Dts));
        assert!(kind_of(b"RIFF").is_none());
    }
}
