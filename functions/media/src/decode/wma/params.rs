//! A WMA stream's fixed parameters, derived from its WAVEFORMATEX: frame and block sizes,
//! whether (and from where) high bands are coded as noise, the exponent bands of each block
//! size, and which coefficient tables it uses. The rules are the format's (as ffmpeg's
//! decoder, the reference we measure against, applies them).

use crate::demux::bytes::{le16, le32};

/// The shortest block: 128 coefficients.
const BLOCK_MIN_BITS: u32 = 7;

/// Upper edges (Hz) of the critical bands the exponent bands follow where no table is given.
const CRITICAL_FREQS: [u32; 25] = [
    100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150, 3700, 4400, 5300, 6400, 7700, 9500, 12000,
    15500, 24500,
];

/// WMA v2's exponent bands (widths) for blocks of 128, 256 and 512 coefficients at 44.1 kHz
/// and up, 32 kHz and up, and 22.05 kHz and up.
const BANDS_44100: [&[u16]; 3] = [
    &[4, 4, 4, 4, 4, 8, 8, 8, 12, 16, 20, 36],
    &[4, 8, 4, 8, 8, 4, 8, 8, 12, 12, 12, 24, 28, 40, 76],
    &[4, 8, 8, 4, 12, 12, 8, 8, 24, 16, 20, 24, 32, 40, 60, 80, 152],
];
const BANDS_32000: [&[u16]; 3] = [
    &[4, 4, 8, 4, 4, 12, 16, 24, 20, 28, 4],
    &[4, 8, 4, 4, 8, 8, 16, 20, 12, 20, 20, 28, 40, 56, 8],
    &[8, 4, 8, 8, 12, 16, 20, 24, 40, 32, 32, 44, 56, 80, 112, 16],
];
const BANDS_22050: [&[u16]; 3] = [
    &[4, 8, 4, 8, 8, 12, 20, 24, 24, 16],
    &[4, 8, 8, 4, 12, 12, 16, 24, 16, 20, 24, 32, 40, 36],
    &[4, 4, 4, 8, 4, 4, 8, 8, 8, 8, 8, 12, 12, 16, 16, 24, 24, 32, 44, 48, 60, 84, 72],
];

/// What one block size (`frame_len >> bsize` coefficients) needs.
#[derive(Debug, PartialEq)]
pub struct BlockBands {
    /// Widths of the exponent bands, covering the block.
    pub exponent: Vec<usize>,
    /// The first coefficient a noise-coded band may start at.
    pub high_start: usize,
    /// Coefficients from here on are never coded (noise, or silence).
    pub coefs_end: usize,
    /// Widths of the bands that may be noise-coded, from `high_start` to `coefs_end`.
    pub high: Vec<usize>,
}

#[derive(Debug)]
pub struct Params {
    pub version: u8,
    pub channels: usize,
    pub rate: u32,
    /// Bytes in one packet (a superframe).
    pub block_align: usize,
    pub bit_reservoir: bool,
    pub variable_block_len: bool,
    pub frame_len_bits: u32,
    pub frame_len: usize,
    /// Block sizes in use: `frame_len >> 0` down to `frame_len >> (block_sizes - 1)`.
    pub block_sizes: usize,
    /// Bits of a superframe's offset to its first frame, less 3.
    pub byte_offset_bits: u32,
    pub noise_coding: bool,
    /// The first coded coefficient (WMA v1 leaves the lowest three as noise).
    pub coefs_start: usize,
    /// Which pair of coefficient tables (`vlc::COEFS`).
    pub coef_table: usize,
    /// Indexed by `bsize`.
    pub bands: Vec<BlockBands>,
}

impl Params {
    /// From the stream's WAVEFORMATEX (tag 0x0160 for v1, 0x0161 for v2); an error names what
    /// the stream has that we do not decode.
    pub fn parse(format: &[u8]) -> Result<Params, String> {
        let (Some(tag), Some(channels), Some(rate), Some(bytes_per_sec), Some(block_align)) =
            (le16(format, 0), le16(format, 2), le32(format, 4), le32(format, 8), le16(format, 12))
        else {
            return Err("stream format too short".into());
        };
        let version = match tag {
            0x0160 => 1,
            0x0161 => 2,
            _ => return Err(format!("format tag {tag:#06x}")),
        };
        if !(1..=2).contains(&channels) {
            return Err(format!("{channels} channels"));
        }
        if !(1..=50_000).contains(&rate) {
            return Err(format!("{rate} Hz"));
        }
        if bytes_per_sec == 0 || block_align == 0 {
            return Err("no bit rate or block size".into());
        }
        let extra = le16(format, 16).and_then(|n| format.get(18..18 + usize::from(n))).unwrap_or_default();
        let flags2 = if version == 1 { le16(extra, 2) } else { le16(extra, 4) }.unwrap_or(0);
        if flags2 & 1 == 0 {
            // The other coding of exponents (line spectral pairs) needs a codebook that no
            // crate publishes; ffmpeg's encoder never writes it.
            return Err("LSP-coded exponents".into());
        }
        let channels = usize::from(channels);
        let bit_rate = u64::from(bytes_per_sec) * 8;

        let frame_len_bits = frame_len_bits(version, rate);
        let frame_len = 1usize << frame_len_bits;
        let variable_block_len = flags2 & 4 != 0;
        let block_sizes = if variable_block_len {
            let mut n = u32::from((flags2 >> 3) & 3) + 1;
            if bit_rate / channels as u64 >= 32_000 {
                n += 2;
            }
            n.min(frame_len_bits - BLOCK_MIN_BITS) as usize + 1
        } else {
            1
        };

        let bps = bit_rate as f32 / (channels as f32 * rate as f32);
        let byte_offset_bits = ((bps * frame_len as f32 / 8.0 + 0.5) as u32).max(1).ilog2() + 2;
        // Stereo shares its bits between the channels, so counts for more.
        let bps1 = if channels == 2 { bps * 1.6 } else { bps };
        let (noise_coding, high_freq) = high_bands(version, rate, bps, bps1);
        let coef_table = match () {
            _ if rate >= 32_000 && bps1 < 0.72 => 0,
            _ if rate >= 32_000 && bps1 < 1.16 => 1,
            _ => 2,
        };
        let coefs_start = if version == 1 { 3 } else { 0 };
        let bands = (0..block_sizes)
            .map(|bsize| {
                let block_len = frame_len >> bsize;
                let exponent = exponent_bands(version, rate, block_len, frame_len_bits - BLOCK_MIN_BITS - bsize as u32);
                let high_start = (block_len as f32 * 2.0 * high_freq / rate as f32 + 0.5) as usize;
                let coefs_end = (frame_len - frame_len * 9 / 100) >> bsize;
                let mut high = Vec::new();
                let mut pos = 0;
                for width in &exponent {
                    let (start, end) = (pos.max(high_start), (pos + width).min(coefs_end));
                    pos += width;
                    if end > start {
                        high.push(end - start);
                    }
                }
                BlockBands { exponent, high_start, coefs_end, high }
            })
            .collect();
        Ok(Params {
            version,
            channels,
            rate,
            block_align: usize::from(block_align),
            bit_reservoir: flags2 & 2 != 0,
            variable_block_len,
            frame_len_bits,
            frame_len,
            block_sizes,
            byte_offset_bits,
            noise_coding,
            coefs_start,
            coef_table,
            bands,
        })
    }
}

/// A frame's samples (a channel), as log2: from the stream's own rate (WMA v1 keeps short
/// frames up to 32 kHz).
pub fn frame_len_bits(version: u8, rate: u32) -> u32 {
    if rate <= 16_000 {
        9
    } else if rate <= 22_050 || (version == 1 && rate <= 32_000) {
        10
    } else if rate <= 48_000 {
        11
    } else {
        12
    }
}

/// Whether the stream codes high bands as noise, and the frequency (Hz) they start at: the
/// format decides from the rate (v2 rounds it down to one it knows) and the bits per sample.
fn high_bands(version: u8, rate: u32, bps: f32, bps1: f32) -> (bool, f32) {
    let rounded = match rate {
        _ if version == 1 => rate,
        44_100.. => 44_100,
        22_050.. => 22_050,
        16_000.. => 16_000,
        11_025.. => 11_025,
        8_000.. => 8_000,
        _ => rate,
    };
    let factor = match rounded {
        44_100 if bps1 >= 0.61 => None,
        44_100 => Some(0.4),
        22_050 if bps1 >= 1.16 => None,
        22_050 if bps1 >= 0.72 => Some(0.7),
        22_050 => Some(0.6),
        16_000 if bps > 0.5 => Some(0.5),
        16_000 => Some(0.3),
        11_025 => Some(0.7),
        8_000 if bps <= 0.625 => Some(0.5),
        8_000 if bps > 0.75 => None,
        8_000 => Some(0.65),
        _ if bps >= 0.8 => Some(0.75),
        _ if bps >= 0.6 => Some(0.6),
        _ => Some(0.5),
    };
    let nyquist = rate as f32 * 0.5;
    (factor.is_some(), nyquist * factor.unwrap_or(1.0))
}

/// The widths of a block's exponent bands: WMA v2's tables for its short blocks where it has
/// them (`table` < 3), else the critical bands at the block's resolution (rounded to four
/// coefficients in v2).
fn exponent_bands(version: u8, rate: u32, block_len: usize, table: u32) -> Vec<usize> {
    let tables = match rate {
        44_100.. => Some(BANDS_44100),
        32_000.. => Some(BANDS_32000),
        22_050.. => Some(BANDS_22050),
        _ => None,
    };
    if version == 2
        && table < 3
        && let Some(tables) = tables
    {
        return tables[table as usize].iter().map(|&w| usize::from(w)).collect();
    }
    let (rate, len) = (rate as usize, block_len);
    let mut widths = Vec::new();
    let mut last = 0;
    for freq in CRITICAL_FREQS.map(|f| f as usize) {
        let pos = if version == 1 { (len * 2 * freq + rate / 2) / rate } else { ((len * 2 * freq + rate * 2) / (rate * 4)) * 4 }.min(len);
        if pos > last || version == 1 {
            widths.push(pos - last);
        }
        if pos >= len {
            break;
        }
        last = pos;
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(tag: u16, channels: u16, rate: u32, kbps: u32, flags2: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(tag.to_le_bytes());
        f.extend(channels.to_le_bytes());
        f.extend(rate.to_le_bytes());
        f.extend((kbps * 125).to_le_bytes());
        f.extend(2048u16.to_le_bytes());
        f.extend(16u16.to_le_bytes());
        if tag == 0x0160 {
            f.extend(4u16.to_le_bytes());
            f.extend([0, 0]);
        } else {
            f.extend(6u16.to_le_bytes());
            f.extend([0, 0, 0, 0]);
        }
        f.extend(flags2.to_le_bytes());
        f
    }

    #[test]
    fn every_table_covers_its_block() {
        for tables in [BANDS_44100, BANDS_32000, BANDS_22050] {
            for (i, widths) in tables.iter().enumerate() {
                assert_eq!(widths.iter().map(|&w| usize::from(w)).sum::<usize>(), 128 << i);
            }
        }
        for (version, rate) in [(1, 44_100), (1, 22_050), (2, 48_000), (2, 32_000), (2, 16_000), (2, 8_000)] {
            for flags2 in [1, 1 | 4 | (3 << 3)] {
                let tag = if version == 1 { 0x0160 } else { 0x0161 };
                let p = Params::parse(&format(tag, 2, rate, 128, flags2)).unwrap();
                for (bsize, bands) in p.bands.iter().enumerate() {
                    assert_eq!(bands.exponent.iter().sum::<usize>(), p.frame_len >> bsize, "v{version} {rate} Hz block {bsize}");
                    assert!(!p.noise_coding || bands.high_start <= bands.coefs_end);
                }
            }
        }
    }

    #[test]
    fn sizes_frames_from_the_streams_own_rate() {
        let bits = |tag, rate| Params::parse(&format(tag, 2, rate, 128, 1)).unwrap().frame_len_bits;
        assert_eq!([bits(0x0161, 16_000), bits(0x0161, 22_050), bits(0x0161, 32_000), bits(0x0161, 48_000)], [9, 10, 11, 11]);
        assert_eq!(bits(0x0160, 32_000), 10);
    }

    #[test]
    fn noise_codes_high_bands_at_low_bit_rates_only() {
        let noise = |channels, rate, kbps| Params::parse(&format(0x0161, channels, rate, kbps, 1)).unwrap().noise_coding;
        assert!(!noise(2, 44_100, 128));
        assert!(noise(2, 44_100, 32));
        assert!(noise(1, 16_000, 16));
        assert!(!noise(1, 8_000, 8 * 8000 / 1000));
    }

    #[test]
    fn names_what_it_does_not_decode() {
        assert_eq!(Params::parse(&format(0x0162, 2, 44_100, 128, 1)).unwrap_err(), "format tag 0x0162");
        assert_eq!(Params::parse(&format(0x0161, 6, 44_100, 128, 1)).unwrap_err(), "6 channels");
        assert_eq!(Params::parse(&format(0x0160, 2, 44_100, 128, 0)).unwrap_err(), "LSP-coded exponents");
        assert_eq!(Params::parse(&[0x61, 0x01]).unwrap_err(), "stream format too short");
    }
}
