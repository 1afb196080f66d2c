//! AC-3 and E-AC-3 syncframe headers: the frame length and rate, for `split` to cut a stream
//! carried in container chunks into syncframes (one packet each, as decoders want them).

#![deny(clippy::arithmetic_side_effects)]

/// What a syncframe header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub rate: u32,
    /// Bytes, header included.
    pub len: usize,
    /// Samples per channel.
    pub samples: u32,
    /// E-AC-3 (bsid 11–16).
    pub enhanced: bool,
}

/// Bytes of a header `parse` reads.
pub const HEADER_LEN: usize = 6;

/// kbps by `frmsizecod / 2`.
const BITRATES: [u32; 19] = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];

/// Parses the header at the start of `b`; `None` if it is not one.
pub fn parse(b: &[u8]) -> Option<Header> {
    let &[0x0b, 0x77, b2, b3, b4, b5, ..] = b else { return None };
    let bsid = b5 >> 3;
    let fscod = b4 >> 6;
    if bsid <= 10 {
        let rate = *[48_000u32, 44_100, 32_000].get(usize::from(fscod))?;
        let code = b4 & 0x3f;
        let kbps = *BITRATES.get(usize::from(code >> 1))?;
        // 16-bit words per frame: 1536 samples at `kbps`; 44.1 kHz frames alternate one word
        // longer (the odd codes).
        let words = kbps.saturating_mul(96_000).checked_div(rate)?.saturating_add(if rate == 44_100 { u32::from(code & 1) } else { 0 });
        return Some(Header { rate, len: usize::try_from(words.saturating_mul(2)).ok()?, samples: 1536, enhanced: false });
    }
    if bsid > 16 {
        return None;
    }
    let words = (u32::from(b2 & 7) << 8 | u32::from(b3)).saturating_add(1);
    let (rate, blocks) = match fscod {
        3 => (*[24_000u32, 22_050, 16_000].get(usize::from((b4 >> 4) & 3))?, 6),
        f => (*[48_000u32, 44_100, 32_000].get(usize::from(f))?, *[1u32, 2, 3, 6].get(usize::from((b4 >> 4) & 3))?),
    };
    Some(Header { rate, len: usize::try_from(words.saturating_mul(2)).ok()?, samples: blocks.saturating_mul(256), enhanced: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ac3_and_eac3_lengths() {
        // 48 kHz, 192 kbps (code 20): 384 words.
        assert_eq!(parse(&[0x0b, 0x77, 0, 0, 20, 8 << 3]).unwrap(), Header { rate: 48_000, len: 768, samples: 1536, enhanced: false });
        // 44.1 kHz, 32 kbps, odd code: 70 words.
        assert_eq!(parse(&[0x0b, 0x77, 0, 0, 0x40 | 1, 8 << 3]).unwrap().len, 140);
        // E-AC-3, frmsiz 0x17f, 48 kHz, 6 blocks.
        let e = parse(&[0x0b, 0x77, 0x01, 0x7f, 0x30, 16 << 3]).unwrap();
        assert_eq!((e.len, e.samples, e.enhanced), (768, 1536, true));
        assert_eq!(parse(&[0x0b, 0x77, 0, 0, 0xc0, 8 << 3]), None, "reserved rate");
        assert_eq!(parse(&[0x0b, 0x78, 0, 0, 20, 8 << 3]), None);
    }
}
