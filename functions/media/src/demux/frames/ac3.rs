//! AC-3 (ATSC A/52) and E-AC-3 (A/52 Annex E) syncframe headers. Both start with 0x0B77; the
//! bitstream id (bsid) tells them apart: up to 10 for AC-3, 11–16 for E-AC-3.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AC3, CODEC_ID_EAC3};

use super::FrameInfo;
use super::bits::Bits;

pub const HEADER_LEN: usize = 8;

/// kbps by frmsizecod / 2.
const BITRATES: [u32; 19] = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];

/// The syncframe whose header starts `b`: its length in bytes and what it holds.
pub fn parse(b: &[u8]) -> Option<(usize, FrameInfo)> {
    let h = b.get(..HEADER_LEN)?;
    if h[0] != 0x0b || h[1] != 0x77 {
        return None;
    }
    match h[5] >> 3 {
        0..=10 => ac3(h),
        11..=16 => eac3(h),
        _ => None,
    }
}

fn ac3(h: &[u8]) -> Option<(usize, FrameInfo)> {
    let fscod = h[4] >> 6;
    let frmsizecod = h[4] & 0x3f;
    let kbps = *BITRATES.get(usize::from(frmsizecod >> 1))?;
    // 16-bit words per syncframe of 1536 samples.
    let words = match fscod {
        0 => kbps.checked_mul(2)?,
        1 => kbps.checked_mul(1_536_000)?.checked_div(705_600)?.checked_add(u32::from(frmsizecod & 1))?,
        2 => kbps.checked_mul(3)?,
        _ => return None,
    };
    // bsid 9 and 10: the half- and quarter-rate variants.
    let shift = (h[5] >> 3).saturating_sub(8);
    let rate = [48_000u32, 44_100, 32_000].get(usize::from(fscod))?.checked_shr(u32::from(shift))?;
    let mut bits = Bits::new(h.get(6..)?);
    let acmod = bits.read(3)?;
    if acmod & 1 == 1 && acmod != 1 {
        bits.skip(2)?; // cmixlev
    }
    if acmod & 4 != 0 {
        bits.skip(2)?; // surmixlev
    }
    if acmod == 2 {
        bits.skip(2)?; // dsurmod
    }
    let lfe = bits.flag()?;
    let len = usize::try_from(words.checked_mul(2)?).ok()?;
    Some((len, FrameInfo { codec: CODEC_ID_AC3, rate, channels: channels(acmod, lfe), samples: 1536 }))
}

fn eac3(h: &[u8]) -> Option<(usize, FrameInfo)> {
    let stream_type = h[2] >> 6;
    if stream_type == 3 {
        return None;
    }
    let frmsiz = (usize::from(h[2] & 7) << 8) | usize::from(h[3]);
    let len = frmsiz.checked_add(1)?.checked_mul(2)?;
    let fscod = h[4] >> 6;
    let (rate, blocks) = if fscod == 3 {
        (*[24_000u32, 22_050, 16_000].get(usize::from((h[4] >> 4) & 3))?, 6)
    } else {
        (*[48_000u32, 44_100, 32_000].get(usize::from(fscod))?, *[1u32, 2, 3, 6].get(usize::from((h[4] >> 4) & 3))?)
    };
    let acmod = u32::from((h[4] >> 1) & 7);
    let lfe = h[4] & 1 == 1;
    // A dependent substream (type 1) extends the independent frame before it.
    let samples = if stream_type == 1 { 0 } else { blocks.checked_mul(256)? };
    Some((len, FrameInfo { codec: CODEC_ID_EAC3, rate, channels: channels(acmod, lfe), samples }))
}

/// The speakers of an audio coding mode (acmod) and LFE flag.
fn channels(acmod: u32, lfe: bool) -> Channels {
    let (l, r, c) = (Position::FRONT_LEFT, Position::FRONT_RIGHT, Position::FRONT_CENTER);
    let mut p = match acmod {
        1 => c,
        3 => l | r | c,
        4 => l | r | Position::REAR_CENTER,
        5 => l | r | c | Position::REAR_CENTER,
        6 => l | r | Position::SIDE_LEFT | Position::SIDE_RIGHT,
        7 => l | r | c | Position::SIDE_LEFT | Position::SIDE_RIGHT,
        _ => l | r,
    };
    if lfe {
        p |= Position::LFE1;
    }
    Channels::Positioned(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ac3_length_from_the_frame_size_code_and_rate() {
        // 48 kHz, 192 kbps (code 20), bsid 8, acmod 1 (mono), no LFE: 768 bytes.
        let (len, info) = parse(&[0x0b, 0x77, 0, 0, 0x14, 0x40, 0x20, 0x00]).unwrap();
        assert_eq!((len, info.codec, info.rate, info.samples, info.channels.count()), (768, CODEC_ID_AC3, 48_000, 1536, 1));
        // 44.1 kHz, 640 kbps odd code (37): 1394 words; acmod 7 with LFE (3/2 + cmix + surmix).
        let (len, info) = parse(&[0x0b, 0x77, 0, 0, 0x65, 0x40, 0xe1, 0x00]).unwrap();
        assert_eq!((len, info.rate, info.channels.count()), (2788, 44_100, 6));
    }

    #[test]
    fn eac3_length_blocks_and_dependent_substreams() {
        // Independent, frmsiz 383 (768 bytes), 48 kHz, 6 blocks, acmod 2, bsid 16.
        let (len, info) = parse(&[0x0b, 0x77, 0x01, 0x7f, 0x34, 0x80, 0, 0]).unwrap();
        assert_eq!((len, info.codec, info.samples, info.channels.count()), (768, CODEC_ID_EAC3, 1536, 2));
        let (_, dependent) = parse(&[0x0b, 0x77, 0x41, 0x7f, 0x34, 0x80, 0, 0]).unwrap();
        assert_eq!(dependent.samples, 0);
    }

    #[test]
    fn refuses_reserved_codes() {
        assert_eq!(parse(&[0x0b, 0x77, 0, 0, 0xd4, 0x40, 0, 0]), None); // fscod 3
        assert_eq!(parse(&[0x0b, 0x77, 0, 0, 0x26, 0x40, 0, 0]), None); // frmsizecod 38
        assert_eq!(parse(&[0x0b, 0x77, 0, 0, 0x14, 0x88, 0, 0]), None); // bsid 17
        assert_eq!(parse(&[0x0b, 0x77, 0xc0, 0, 0x34, 0x80, 0, 0]), None); // E-AC-3 stream type 3
    }
}
