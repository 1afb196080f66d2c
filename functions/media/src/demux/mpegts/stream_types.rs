//! Which PMT entries are audio, and in what coding: by stream type, and for private data
//! (0x06) by descriptor (DVB) or registration (ATSC, SMPTE); Blu-ray's own types when the
//! program is registered as HDMV.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::codecs::audio::well_known::CODEC_ID_PCM_S16BE;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_AC3, CODEC_ID_DCA, CODEC_ID_EAC3, CODEC_ID_MP2, CODEC_ID_TRUEHD};

use crate::demux::codec_ids::CODEC_ID_OPUS_IN_TS;
use crate::demux::frames::Framing;
use crate::demux::mpeg::es::{Coding, StreamKind};
use crate::demux::mpeg::lpcm::Flavour;

/// The audio stream a PMT entry declares, if it is one we list.
pub fn audio(stream_type: u8, descriptors: &[u8], hdmv: bool) -> Option<StreamKind> {
    let framed = |framing, codec| Some(StreamKind { coding: Coding::Framed(framing), codec });
    match stream_type {
        0x03 | 0x04 => framed(Framing::Mpeg, CODEC_ID_MP2),
        0x0f => framed(Framing::Adts, CODEC_ID_AAC),
        0x11 => Some(StreamKind { coding: Coding::Latm, codec: CODEC_ID_AAC }),
        0x81 => framed(Framing::Ac3, CODEC_ID_AC3),
        0x87 | 0x84 | 0xa1 => framed(Framing::Ac3, CODEC_ID_EAC3),
        0x82 | 0x85 | 0x86 | 0x8a | 0xa2 => framed(Framing::Dts, CODEC_ID_DCA),
        0x80 if hdmv => Some(StreamKind { coding: Coding::Lpcm(Flavour::Bluray), codec: CODEC_ID_PCM_S16BE }),
        0x83 => Some(StreamKind { coding: Coding::Opaque, codec: CODEC_ID_TRUEHD }),
        0x06 => private(descriptors),
        _ => None,
    }
}

/// Private data: audio when a descriptor says which. Without any descriptor (ffmpeg's M2TS
/// writes AAC so) the payload decides.
fn private(descriptors: &[u8]) -> Option<StreamKind> {
    let framed = |framing, codec| Some(StreamKind { coding: Coding::Framed(framing), codec });
    if descriptors.is_empty() {
        return Some(StreamKind { coding: Coding::Detect, codec: CODEC_ID_AAC });
    }
    for (tag, body) in Descriptors(descriptors) {
        match (tag, body.get(..4)) {
            (0x6a, _) | (0x05, Some(b"AC-3")) => return framed(Framing::Ac3, CODEC_ID_AC3),
            (0x7a, _) | (0x05, Some(b"EAC3")) => return framed(Framing::Ac3, CODEC_ID_EAC3),
            (0x7b, _) | (0x05, Some(b"DTS1" | b"DTS2" | b"DTS3")) => return framed(Framing::Dts, CODEC_ID_DCA),
            (0x05, Some(b"Opus")) => return Some(StreamKind { coding: Coding::Opaque, codec: CODEC_ID_OPUS_IN_TS }),
            _ => {}
        }
    }
    None
}

/// Whether a program's descriptors register it as Blu-ray (HDMV).
pub fn is_hdmv(descriptors: &[u8]) -> bool {
    Descriptors(descriptors).any(|(tag, body)| tag == 0x05 && body.get(..4) == Some(b"HDMV"))
}

/// The (tag, body) of each descriptor in a descriptor loop; stops at one that overruns it.
pub struct Descriptors<'a>(pub &'a [u8]);

impl<'a> Iterator for Descriptors<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&tag, rest) = self.0.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let body = rest.get(..usize::from(len))?;
        self.0 = rest.get(usize::from(len)..).unwrap_or(&[]);
        Some((tag, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_by_type_descriptor_and_registration() {
        assert_eq!(audio(0x0f, &[], false).map(|k| k.coding), Some(Coding::Framed(Framing::Adts)));
        assert_eq!(audio(0x81, &[0x05, 0x04, b'A', b'C', b'-', b'3'], false).map(|k| k.codec), Some(CODEC_ID_AC3));
        assert_eq!(audio(0x06, &[0x0a, 0x04, b'e', b'n', b'g', 0, 0x7a, 0x00], false).map(|k| k.codec), Some(CODEC_ID_EAC3));
        assert_eq!(audio(0x06, &[0x05, 0x04, b'D', b'T', b'S', b'2'], false).map(|k| k.codec), Some(CODEC_ID_DCA));
        assert_eq!(audio(0x06, &[0x05, 0x04, b'O', b'p', b'u', b's'], false).map(|k| k.codec), Some(CODEC_ID_OPUS_IN_TS));
        assert_eq!(audio(0x06, &[0x59, 0x00], false), None); // DVB subtitles
        assert_eq!(audio(0x06, &[], false).map(|k| k.coding), Some(Coding::Detect));
        assert_eq!(audio(0x80, &[], false), None);
        assert!(audio(0x80, &[], true).is_some());
        assert_eq!(audio(0x02, &[], false), None);
    }

    #[test]
    fn descriptors_stop_at_one_that_overruns() {
        let d = [0x05, 0x04, b'H', b'D', b'M', b'V', 0x88, 0x10, 1];
        assert_eq!(Descriptors(&d).count(), 1);
        assert!(is_hdmv(&d));
    }
}
