//! The AAC AudioSpecificConfig, as far as demuxers need it: its rate and channel count (for
//! the track listing) and one made from a container's rate and channels when the container
//! carries none (AVI from some muxers, FLV without a sequence header).

#![deny(clippy::arithmetic_side_effects)]

const RATES: [u32; 13] = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350];

/// An AAC-LC config for `rate` and `channels` (1–7; 8 channels is configuration 7).
pub fn config_for(rate: u32, channels: u16) -> Vec<u8> {
    let config = match channels {
        0..=6 => channels as u8,
        _ => 7,
    };
    // 5 bits object type (2 = LC), 4 bits rate index (15: 24 bits of rate follow), 4 bits
    // channel configuration, 3 zero bits (1024-sample frames, no core coder, no extension).
    let mut bits: u64 = 2;
    let mut len = 5u32;
    let mut put = |value: u64, width: u32| {
        bits = bits.checked_shl(width).unwrap_or(0) | value;
        len = len.saturating_add(width);
    };
    match RATES.iter().position(|r| *r == rate) {
        Some(i) => put(i as u64, 4),
        None => {
            put(15, 4);
            put(u64::from(rate & 0x00ff_ffff), 24);
        }
    }
    put(u64::from(config), 4);
    put(0, 3);
    let bytes = len.div_ceil(8);
    let padded = bits.checked_shl(bytes.saturating_mul(8).saturating_sub(len)).unwrap_or(0);
    padded.to_be_bytes()[8usize.saturating_sub(bytes as usize)..].to_vec()
}

/// Sample rate and channel count of a config (`None` for a channel configuration of 0, which
/// needs the program config element).
pub fn rate_and_channels(asc: &[u8]) -> Option<(u32, u16)> {
    let bits = asc.iter().take(5).fold(0u64, |acc, b| acc.checked_shl(8).unwrap_or(0) | u64::from(*b));
    let avail = u32::try_from(asc.len().min(5)).ok()?.saturating_mul(8);
    let field = |from: u32, width: u32| -> Option<u64> {
        let end = from.checked_add(width).filter(|e| *e <= avail)?;
        let shifted = bits.checked_shr(avail.checked_sub(end)?)?;
        Some(shifted & 1u64.checked_shl(width)?.checked_sub(1)?)
    };
    let mut at = if field(0, 5)? == 31 { 11 } else { 5 };
    let rate = match field(at, 4)? {
        15 => {
            at = at.saturating_add(24);
            u32::try_from(field(at.saturating_sub(20), 24)?).ok()?
        }
        i => *RATES.get(usize::try_from(i).ok()?)?,
    };
    at = at.saturating_add(4);
    let channels = match field(at, 4)? {
        0 => return None,
        7 => 8,
        c => u16::try_from(c).ok()?,
    };
    Some((rate, channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_and_reads_configs() {
        assert_eq!(config_for(44_100, 2), vec![0x12, 0x10]);
        assert_eq!(config_for(48_000, 1), vec![0x11, 0x88]);
        assert_eq!(rate_and_channels(&[0x12, 0x10]), Some((44_100, 2)));
        assert_eq!(rate_and_channels(&[0x11, 0xb0]), Some((48_000, 6)));
        let odd = config_for(50_000, 2);
        assert_eq!(odd.len(), 5);
        assert_eq!(rate_and_channels(&odd), Some((50_000, 2)));
        assert_eq!(rate_and_channels(&[0x12]), None);
    }
}
