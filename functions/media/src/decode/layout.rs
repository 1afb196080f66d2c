//! From a codec's own channel order to the canonical one (see `crate::mix`): planes in the
//! order of their position bits.

use symphonia::core::audio::{Channels, Position};

/// The canonical layout of channels stored in `stream_order`, and for each canonical plane
/// the index of the stored channel that feeds it. `None` when positions repeat.
pub fn canonical(stream_order: &[Position]) -> Option<(Channels, Vec<usize>)> {
    let mask = stream_order.iter().fold(Position::empty(), |m, p| m | *p);
    if mask.bits().count_ones() as usize != stream_order.len() || stream_order.iter().any(|p| p.bits().count_ones() != 1) {
        return None;
    }
    let mut order: Vec<usize> = (0..stream_order.len()).collect();
    order.sort_by_key(|&i| stream_order[i].bits());
    Some((Channels::Positioned(mask), order))
}

/// Interleaved samples of `channels` channels into planes, plane `p` taking stored channel
/// `order[p]` (identity when `order` is empty).
pub fn deinterleave(samples: &[f32], channels: usize, order: &[usize], planes: &mut Vec<Vec<f32>>) -> usize {
    let frames = samples.len().checked_div(channels).unwrap_or(0);
    planes.resize(channels, Vec::new());
    for (p, plane) in planes.iter_mut().enumerate() {
        let source = order.get(p).copied().unwrap_or(p);
        plane.clear();
        plane.extend(samples.chunks_exact(channels).map(|frame| frame[source]));
    }
    frames
}

/// The layout for `channels` planes already in canonical order with the given positions, or
/// an undescribed layout (the mixer's WAVE default) when the count does not match.
pub fn positioned_or_discrete(mask: Position, channels: usize) -> Channels {
    if mask.bits().count_ones() as usize == channels { Channels::Positioned(mask) } else { Channels::Discrete(channels as u16) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vorbis_5_1_order_becomes_canonical() {
        let vorbis = [
            Position::FRONT_LEFT,
            Position::FRONT_CENTER,
            Position::FRONT_RIGHT,
            Position::REAR_LEFT,
            Position::REAR_RIGHT,
            Position::LFE1,
        ];
        let (channels, order) = canonical(&vorbis).unwrap();
        assert_eq!(channels.count(), 6);
        // FL FR FC LFE RL RR, taken from stored channels 0 2 1 5 3 4.
        assert_eq!(order, [0, 2, 1, 5, 3, 4]);
        let mut planes = Vec::new();
        let frames = deinterleave(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 6, &order, &mut planes);
        assert_eq!(frames, 1);
        assert_eq!(planes.iter().map(|p| p[0]).collect::<Vec<_>>(), [0.0, 2.0, 1.0, 5.0, 3.0, 4.0]);
    }

    #[test]
    fn repeated_positions_have_no_canonical_layout() {
        assert!(canonical(&[Position::FRONT_LEFT, Position::FRONT_LEFT]).is_none());
    }
}
