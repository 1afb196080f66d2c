//! MPEG-1, MPEG-2 and MPEG-2.5 audio frame headers (layers I, II and III): sync, length and
//! what the frame holds. Free-format frames (bitrate index 0) have no length here and are
//! passed over.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::well_known::{CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3};

use super::FrameInfo;

pub const HEADER_LEN: usize = 4;

/// kbps by bitrate index 1..=14: MPEG-1 layers I, II, III, then MPEG-2/2.5 layer I, II/III.
const BITRATES: [[u16; 14]; 5] = [
    [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

/// The frame whose header starts `b`: its length in bytes and what it holds.
pub fn parse(b: &[u8]) -> Option<(usize, FrameInfo)> {
    let h = crate::demux::bytes::be32(b, 0)?;
    if h >> 21 != 0x7ff {
        return None;
    }
    let version = (h >> 19) & 3; // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer: usize = match (h >> 17) & 3 {
        3 => 1,
        2 => 2,
        1 => 3,
        _ => return None,
    };
    let bitrate_index = ((h >> 12) & 15) as usize;
    let rate_index = ((h >> 10) & 3) as usize;
    if version == 1 || !(1..=14).contains(&bitrate_index) || rate_index == 3 {
        return None;
    }
    let mpeg1 = version == 3;
    let table = match (mpeg1, layer) {
        (true, l) => l.saturating_sub(1),
        (false, 1) => 3,
        (false, _) => 4,
    };
    let kbps = u32::from(*BITRATES.get(table)?.get(bitrate_index.checked_sub(1)?)?);
    let rate = [44_100u32, 48_000, 32_000].get(rate_index)? >> [2u32, 0, 1, 0].get(version as usize)?;
    let padding = (h >> 9) & 1;
    let bps = kbps.checked_mul(1000)?;
    let (len, samples) = match layer {
        1 => (bps.checked_mul(12)?.checked_div(rate)?.checked_add(padding)?.checked_mul(4)?, 384),
        2 => (bps.checked_mul(144)?.checked_div(rate)?.checked_add(padding)?, 1152),
        _ if mpeg1 => (bps.checked_mul(144)?.checked_div(rate)?.checked_add(padding)?, 1152),
        _ => (bps.checked_mul(72)?.checked_div(rate)?.checked_add(padding)?, 576),
    };
    let channels = if (h >> 6) & 3 == 3 {
        Channels::Positioned(Position::FRONT_LEFT)
    } else {
        Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT)
    };
    let codec = [CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3][layer.checked_sub(1)?];
    Some((len as usize, FrameInfo { codec, rate, channels, samples }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_durations_of_each_layer_and_version() {
        // MPEG-1 layer III, 128 kbps, 44.1 kHz, padded, joint stereo: 418 bytes.
        let (len, info) = parse(&[0xff, 0xfb, 0x92, 0x40]).unwrap();
        assert_eq!((len, info.codec, info.rate, info.samples), (418, CODEC_ID_MP3, 44_100, 1152));
        // MPEG-2 layer III, 64 kbps, 24 kHz, mono: 192 bytes of 576 samples.
        let (len, info) = parse(&[0xff, 0xf3, 0x84, 0xc0]).unwrap();
        assert_eq!((len, info.rate, info.samples, info.channels.count()), (192, 24_000, 576, 1));
        // MPEG-1 layer I, 384 kbps, 48 kHz: 384 bytes of 384 samples.
        let (len, info) = parse(&[0xff, 0xff, 0xc4, 0x00]).unwrap();
        assert_eq!((len, info.codec, info.samples), (384, CODEC_ID_MP1, 384));
    }

    #[test]
    fn refuses_reserved_and_free_format_headers() {
        assert_eq!(parse(&[0xff, 0xeb, 0x90, 0x00]), None); // reserved version
        assert_eq!(parse(&[0xff, 0xf9, 0x90, 0x00]), None); // reserved layer
        assert_eq!(parse(&[0xff, 0xfb, 0x00, 0x00]), None); // free format
        assert_eq!(parse(&[0xff, 0xfb, 0xf0, 0x00]), None); // bad bitrate
        assert_eq!(parse(&[0xff, 0xfb, 0x9c, 0x00]), None); // reserved rate
        assert_eq!(parse(&[0xff, 0xfb]), None);
    }
}
