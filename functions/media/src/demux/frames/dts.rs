//! DTS Coherent Acoustics core frame headers (sync 0x7FFE8001, the 16-bit big-endian form
//! used in MPEG streams). A DTS-HD extension substream may follow a core frame; it is not a
//! frame of its own here.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::codecs::audio::well_known::CODEC_ID_DCA;

use super::FrameInfo;
use super::bits::Bits;

pub const HEADER_LEN: usize = 16;

const SYNC: [u8; 4] = [0x7f, 0xfe, 0x80, 0x01];
const SUBSTREAM_SYNC: [u8; 4] = [0x64, 0x58, 0x20, 0x25];

/// By SFREQ; 0 is reserved.
const RATES: [u32; 16] = [0, 8_000, 16_000, 32_000, 0, 0, 11_025, 22_050, 44_100, 0, 0, 12_000, 24_000, 48_000, 0, 0];
/// By AMODE.
const CHANNELS: [u32; 16] = [1, 2, 2, 2, 2, 3, 3, 4, 4, 5, 6, 6, 6, 7, 8, 8];

/// The core frame whose header starts `b`: its length in bytes and what it holds.
pub fn parse(b: &[u8]) -> Option<(usize, FrameInfo)> {
    if b.get(..4)? != SYNC {
        return None;
    }
    let mut bits = Bits::new(b.get(4..HEADER_LEN)?);
    bits.skip(7)?; // frame type, deficit sample count, CRC flag
    let blocks = bits.read(7)?;
    let size = bits.read(14)?;
    let amode = bits.read(6)?;
    let rate = *RATES.get(bits.read(4)? as usize)?;
    bits.skip(5 + 8)?; // bit rate; mix, dynamic range, time stamp, aux, HDCD, extension, ASPF flags
    let lfe = bits.read(2)?;
    // Fewer than 6 blocks, frames under 96 bytes and a 3 for the LFE flag are invalid.
    if blocks < 5 || size < 95 || rate == 0 || lfe == 3 {
        return None;
    }
    let channels = CHANNELS.get(amode as usize)?.saturating_add(u32::from(lfe != 0));
    let info =
        FrameInfo { codec: CODEC_ID_DCA, rate, channels: super::layout(channels), samples: blocks.saturating_add(1).saturating_mul(32) };
    Some((usize::try_from(size).ok()?.saturating_add(1), info))
}

/// What may follow a core frame: another core frame or a DTS-HD extension substream.
pub fn follows(b: &[u8]) -> bool {
    b.starts_with(&SUBSTREAM_SYNC) || parse(b).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header ffmpeg's DTS encoder writes for 48 kHz mono: 16 blocks of 32 samples, 1884 bytes.
    const HEADER: [u8; 16] = [0x7f, 0xfe, 0x80, 0x01, 0xfc, 0x3c, 0x75, 0xb0, 0x36, 0xc0, 0x01, 0x38, 0x00, 0x01, 0xef, 0x83];

    #[test]
    fn reads_length_rate_and_samples() {
        let (len, info) = parse(&HEADER).unwrap();
        assert_eq!((info.rate, info.samples, info.channels.count()), (48_000, 512, 1));
        assert_eq!(len, 1884);
        assert!(follows(&HEADER));
        assert!(follows(&SUBSTREAM_SYNC));
    }

    #[test]
    fn refuses_a_reserved_rate() {
        let mut h = HEADER;
        h[8] = (h[8] & 0xc3) | (4 << 2);
        assert_eq!(parse(&h), None);
    }
}
