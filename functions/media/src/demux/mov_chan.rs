//! QuickTime channel layouts (the `chan` box of a sound sample entry): the speaker of each
//! stored channel, so that PCM in MOV with more than two channels is down-mixed from the right
//! sources. Channels come out in WAVE order (ascending speaker bits), with the plane order
//! that puts them there.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::Position;

use crate::demux::bytes::be32;

/// Where each stored channel goes: `order[i]` is the stored channel of the `i`th position of
/// `positions` (in ascending bit order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub positions: Position,
    pub order: Vec<usize>,
}

const USE_DESCRIPTIONS: u32 = 0;
const USE_BITMAP: u32 = 0x1_0000;

/// Layout tags (their upper 16 bits) and the WAVE speaker bit of each channel, in stored
/// order (FL 0, FR 1, FC 2, LFE 3, BL 4, BR 5, FLC 6, FRC 7, BC 8, SL 9, SR 10), for the tags
/// ffmpeg and Apple's tools write.
const TAGS: [(u32, &[u8]); 17] = [
    (108, &[0, 1, 4, 5]),
    (113, &[0, 1, 2]),
    (114, &[2, 0, 1]),
    (115, &[0, 1, 2, 8]),
    (116, &[2, 0, 1, 8]),
    (117, &[0, 1, 2, 4, 5]),
    (118, &[0, 1, 4, 5, 2]),
    (119, &[0, 2, 1, 4, 5]),
    (120, &[2, 0, 1, 4, 5]),
    (121, &[0, 1, 2, 3, 4, 5]),
    (122, &[0, 1, 4, 5, 2, 3]),
    (123, &[0, 2, 1, 4, 5, 3]),
    (124, &[2, 0, 1, 4, 5, 3]),
    (125, &[0, 1, 2, 3, 4, 5, 8]),
    (126, &[0, 1, 2, 3, 4, 5, 6, 7]),
    (127, &[2, 6, 7, 0, 1, 4, 5, 3]),
    (128, &[0, 1, 2, 3, 4, 5, 9, 10]),
];

/// The layout of the `chan` box found in `entry` (a sample entry's bytes) for `channels`
/// channels; `None` when there is none or it is not one we know (WAVE order is assumed).
pub fn find(entry: &[u8], channels: usize) -> Option<Layout> {
    let at = entry.windows(4).position(|w| w == b"chan")?;
    let payload = entry.get(at.checked_add(4)?..)?;
    // Full box header (4), layout tag, bitmap, description count, descriptions of 20 bytes.
    let tag = be32(payload, 4)?;
    let bits: Vec<u32> = match tag {
        USE_BITMAP => {
            let mask = be32(payload, 8)?;
            return Position::from_wave_channel_mask(mask)
                .filter(|p| p.bits().count_ones() as usize == channels)
                .map(|positions| Layout { positions, order: (0..channels).collect() });
        }
        USE_DESCRIPTIONS => {
            let count = be32(payload, 12)? as usize;
            // CoreAudio labels 1–18 are the WAVE speakers in WAVE order.
            (0..count.min(channels.saturating_add(1)))
                .map(|i| {
                    be32(payload, crate::demux::bytes::entry(16, i, 20)?).filter(|l| (1..=18).contains(l)).map(|l| l.saturating_sub(1))
                })
                .collect::<Option<_>>()?
        }
        tag => TAGS.iter().find(|(t, _)| Some(*t) == tag.checked_shr(16))?.1.iter().map(|b| u32::from(*b)).collect(),
    };
    from_bits(&bits, channels)
}

/// From the speaker bit of each stored channel; `None` if they repeat or do not match.
fn from_bits(bits: &[u32], channels: usize) -> Option<Layout> {
    if bits.len() != channels {
        return None;
    }
    let mask = bits.iter().try_fold(0u32, |mask, b| {
        let bit = 1u32.checked_shl(*b)?;
        (mask & bit == 0).then_some(mask | bit)
    })?;
    let mut order: Vec<usize> = (0..channels).collect();
    order.sort_by_key(|&c| bits.get(c).copied());
    Some(Layout { positions: Position::from_wave_channel_mask(mask)?, order })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan(tag: u32, bitmap: u32, labels: &[u32]) -> Vec<u8> {
        let mut b = b"....chan\0\0\0\0".to_vec();
        for v in [tag, bitmap, labels.len() as u32] {
            b.extend(v.to_be_bytes());
        }
        for l in labels {
            b.extend(l.to_be_bytes());
            b.extend([0u8; 16]);
        }
        b
    }

    #[test]
    fn bitmaps_tags_and_descriptions_give_wave_positions_and_order() {
        let wave_5_1 = Position::from_wave_channel_mask(0x3f).unwrap();
        assert_eq!(find(&chan(USE_BITMAP, 0x3f, &[]), 6), Some(Layout { positions: wave_5_1, order: vec![0, 1, 2, 3, 4, 5] }));
        // MPEG 5.1 C: L C R Ls Rs LFE.
        assert_eq!(find(&chan(123 << 16 | 6, 0, &[]), 6).unwrap().order, vec![0, 2, 1, 5, 3, 4]);
        let described = find(&chan(USE_DESCRIPTIONS, 0, &[3, 1, 2]), 3).unwrap();
        assert_eq!(described.order, vec![1, 2, 0]);
        assert_eq!(find(&chan(USE_DESCRIPTIONS, 0, &[1, 1, 2]), 3), None, "a repeated speaker");
        assert_eq!(find(&chan(USE_BITMAP, 0x3f, &[]), 8), None, "a bitmap for other channels");
        assert_eq!(find(b"no box", 2), None);
    }
}
