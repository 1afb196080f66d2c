//! MPEG audio (layers I–III, MPEG-1/2/2.5) frame headers: what `split` needs to cut a stream
//! carried in container chunks into whole frames, as symphonia's decoder wants them. A stopgap
//! until the shared elementary-stream framer (`demux/frames.rs`) replaces it.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3};

/// What a frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// 1, 2 or 3.
    pub layer: u8,
    pub rate: u32,
    pub channels: u8,
    /// Bytes, header included.
    pub len: usize,
    /// Samples per channel.
    pub samples: u32,
}

pub const HEADER_LEN: usize = 4;

/// Kilobits per second by bitrate index 1..=14, for MPEG-1 layers I, II, III and MPEG-2/2.5
/// layer I, layers II/III.
const BITRATES: [[u16; 14]; 5] = [
    [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// Parses the 4 header bytes at the start of `b`. `None`: not a header we can frame (no sync,
/// reserved fields, or free-format bitrate, whose frame length the header does not give).
pub fn parse(b: &[u8]) -> Option<Header> {
    let &[b0, b1, b2, b3, ..] = b else { return None };
    if b0 != 0xff || b1 & 0xe0 != 0xe0 {
        return None;
    }
    // 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1 (1 is reserved).
    let version = (b1 >> 3) & 3;
    let layer = match (b1 >> 1) & 3 {
        0 => return None,
        l => 4u8.saturating_sub(l),
    };
    let rate_index = usize::from((b2 >> 2) & 3);
    let base_rate = *[44_100u32, 48_000, 32_000].get(rate_index)?;
    let rate = match version {
        3 => base_rate,
        2 => base_rate / 2,
        0 => base_rate / 4,
        _ => return None,
    };
    let table = match (version == 3, layer) {
        (true, l) => usize::from(l.saturating_sub(1)),
        (false, 1) => 3,
        (false, _) => 4,
    };
    let bitrate_index = usize::from(b2 >> 4);
    let kbps = u32::from(*BITRATES.get(table)?.get(bitrate_index.checked_sub(1)?)?);
    let padding = u32::from((b2 >> 1) & 1);
    let channels = if b3 >> 6 == 3 { 1 } else { 2 };
    // Bytes per frame: bits per second × seconds per frame / 8 (layer I counts 4-byte slots).
    let per = |factor: u32| kbps.saturating_mul(1000).saturating_mul(factor).checked_div(rate);
    let (len, samples) = match layer {
        1 => (per(12)?.saturating_add(padding).saturating_mul(4), 384),
        3 if version != 3 => (per(72)?.saturating_add(padding), 576),
        _ => (per(144)?.saturating_add(padding), 1152),
    };
    Some(Header { layer, rate, channels, len: usize::try_from(len).ok()?, samples })
}

impl Header {
    pub fn codec(&self) -> AudioCodecId {
        match self.layer {
            1 => CODEC_ID_MP1,
            2 => CODEC_ID_MP2,
            _ => CODEC_ID_MP3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_layer_rate_channels_and_length() {
        // MPEG-1 layer III, 128 kbps, 44.1 kHz, no padding, joint stereo.
        let h = parse(&[0xff, 0xfb, 0x90, 0x44]).unwrap();
        assert_eq!(h, Header { layer: 3, rate: 44_100, channels: 2, len: 417, samples: 1152 });
        // MPEG-2 layer III, 64 kbps, 22.05 kHz, padded, mono.
        let h = parse(&[0xff, 0xf3, 0x82, 0xc4]).unwrap();
        assert_eq!((h.rate, h.channels, h.len, h.samples), (22_050, 1, 209, 576));
        // MPEG-1 layer II, 192 kbps, 48 kHz.
        assert_eq!(parse(&[0xff, 0xfd, 0xa4, 0x00]).unwrap().len, 576);
    }

    #[test]
    fn refuses_what_cannot_be_framed() {
        assert_eq!(parse(&[0xff, 0xfb, 0x00, 0x44]), None, "free format");
        assert_eq!(parse(&[0xff, 0xfb, 0xf0, 0x44]), None, "bad bitrate");
        assert_eq!(parse(&[0xff, 0xfb, 0x9c, 0x44]), None, "reserved rate");
        assert_eq!(parse(&[0xff, 0xf9, 0x90, 0x44]), None, "reserved layer");
        assert_eq!(parse(&[0xff, 0xeb, 0x90, 0x44]), None, "reserved version");
        assert_eq!(parse(&[0xff, 0xfb]), None);
    }
}
