//! AAC in ADTS: the 7-byte header (9 with a CRC) in front of each raw AAC frame. symphonia's
//! AAC decoder takes the raw frame with an AudioSpecificConfig built from the first header.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::well_known::CODEC_ID_AAC;

use super::FrameInfo;

pub const HEADER_LEN: usize = 7;

/// By sampling frequency index (ISO 14496-3, 1.6.3.4).
pub const RATES: [u32; 13] = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350];

/// The frame whose header starts `b`: its length in bytes (header included) and what it holds.
pub fn parse(b: &[u8]) -> Option<(usize, FrameInfo)> {
    let h = b.get(..HEADER_LEN)?;
    // Sync, and layer 0 (it also tells ADTS from MPEG audio, whose layer is never 0).
    if h[0] != 0xff || h[1] & 0xf6 != 0xf0 {
        return None;
    }
    let rate = *RATES.get(usize::from((h[2] >> 2) & 15))?;
    let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
    if len < header_len(h) {
        return None;
    }
    let blocks = u32::from(h[6] & 3).saturating_add(1);
    let channels = channels(((h[2] & 1) << 2) | (h[3] >> 6));
    Some((len, FrameInfo { codec: CODEC_ID_AAC, rate, channels, samples: blocks.saturating_mul(1024) }))
}

/// 7, or 9 when a CRC follows the header.
pub fn header_len(h: &[u8]) -> usize {
    if h.get(1).is_some_and(|b| b & 1 == 0) { 9 } else { 7 }
}

/// The two-byte AudioSpecificConfig the header stands for: object type (profile + 1),
/// sampling frequency index and channel configuration.
pub fn audio_specific_config(h: &[u8]) -> Option<[u8; 2]> {
    let (b2, b3) = (*h.get(2)?, *h.get(3)?);
    let object_type = u16::from(b2 >> 6).saturating_add(1);
    let rate_index = u16::from((b2 >> 2) & 15);
    let channel_config = u16::from(((b2 & 1) << 2) | (b3 >> 6));
    Some(((object_type << 11) | (rate_index << 7) | (channel_config << 3)).to_be_bytes())
}

/// The speakers of an MPEG-4 channel configuration (0: given in the stream, unknown here).
pub fn channels(config: u8) -> Channels {
    match config {
        0 => Channels::Discrete(0),
        7 => super::layout(8),
        n => super::layout(u32::from(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What ffmpeg's AAC encoder writes for 48 kHz mono: AAC-LC, 371 bytes, no CRC.
    const HEADER: [u8; 7] = [0xff, 0xf1, 0x4c, 0x40, 0x2e, 0x7f, 0xfc];

    #[test]
    fn reads_length_rate_and_channels_and_builds_the_config() {
        let (len, info) = parse(&HEADER).unwrap();
        assert_eq!((len, info.rate, info.channels.count(), info.samples), (371, 48_000, 1, 1024));
        assert_eq!(header_len(&HEADER), 7);
        // AAC-LC (2), 48 kHz (3), mono (1).
        assert_eq!(audio_specific_config(&HEADER), Some([0x11, 0x88]));
    }

    #[test]
    fn refuses_a_bad_rate_or_a_frame_shorter_than_its_header() {
        let mut h = HEADER;
        h[2] = 0x7c; // rate index 15
        assert_eq!(parse(&h), None);
        let mut h = HEADER;
        h[3] &= !3;
        h[4] = 0;
        assert_eq!(parse(&h), None);
        assert_eq!(parse(&[0xff, 0xf1]), None);
    }
}
