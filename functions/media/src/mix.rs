//! Channel mixing: mono and stereo pass through; wider layouts fold down to stereo with the
//! ITU-R BS.775 / ffmpeg default coefficients (centre and surrounds at -3 dB, LFE dropped),
//! normalised so that a full-scale input cannot clip.
//!
//! The one canonical layout: planes come in the order of their symphonia `Position` bits (the
//! WAVE/WAVEFORMATEXTENSIBLE order: FL, FR, FC, LFE, BL, BR, FLC, FRC, BC, SL, SR, ...). Every
//! decoder hands its planes out in that order with their positions, whatever order its codec
//! stores channels in (Vorbis and Opus: FL, FC, FR, ...; AAC: FC, FL, FR, ...; AC-3 by acmod),
//! so the down-mix below is the only place that knows what a position is worth.

use symphonia::core::audio::{Channels, Position};

const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// Maps the decoder's planes onto the one or two channels LAME encodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixer {
    /// Per input plane: gain into (left, right). Unused for mono and stereo.
    gains: Vec<[f32; 2]>,
    out_channels: usize,
}

impl Mixer {
    /// Builds the mixer for the given layout and number of decoded planes.
    pub fn new(channels: &Channels, planes: usize) -> Mixer {
        match planes {
            0 | 1 => return Mixer { gains: vec![[1.0, 0.0]], out_channels: 1 },
            2 => return Mixer { gains: vec![[1.0, 0.0], [0.0, 1.0]], out_channels: 2 },
            _ => {}
        }
        let positions: Vec<Position> = match channels {
            Channels::Positioned(p) if p.bits().count_ones() as usize == planes => p.iter().collect(),
            _ => match Position::from_wave_channel_count(planes as u32) {
                Some(p) => p.iter().collect(),
                None => Vec::new(),
            },
        };
        let mut gains: Vec<[f32; 2]> = if positions.len() == planes {
            positions.iter().map(|p| gain_for(*p)).collect()
        } else {
            // Unknown layout: alternate planes left/right.
            (0..planes).map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] }).collect()
        };
        let max_sum = (0..2).map(|o| gains.iter().map(|g| g[o]).sum::<f32>()).fold(0.0f32, f32::max);
        if max_sum > 1.0 {
            for g in &mut gains {
                g[0] /= max_sum;
                g[1] /= max_sum;
            }
        }
        Mixer { gains, out_channels: 2 }
    }

    /// 1 or 2.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// The (left, right) gain of each input plane.
    pub fn gains(&self) -> &[[f32; 2]] {
        &self.gains
    }

    /// Appends `frames` mixed frames from `planes[..][start..start + frames]` to `out`.
    pub fn mix_into(&self, planes: &[Vec<f32>], start: usize, frames: usize, out: &mut [Vec<f32>; 2]) {
        let end = start + frames;
        if self.gains.len() <= 2 || planes.len() < self.gains.len() {
            for (o, plane) in planes.iter().take(self.out_channels).enumerate() {
                out[o].extend_from_slice(&plane[start..end]);
            }
            return;
        }
        for (o, dst) in out.iter_mut().enumerate() {
            let base = dst.len();
            dst.resize(base + frames, 0.0);
            let dst = &mut dst[base..];
            for (plane, g) in planes.iter().zip(&self.gains) {
                let gain = g[o];
                if gain == 0.0 {
                    continue;
                }
                for (d, s) in dst.iter_mut().zip(&plane[start..end]) {
                    *d += gain * s;
                }
            }
        }
    }
}

fn gain_for(p: Position) -> [f32; 2] {
    if p == Position::FRONT_LEFT {
        [1.0, 0.0]
    } else if p == Position::FRONT_RIGHT {
        [0.0, 1.0]
    } else if p.intersects(Position::LFE1 | Position::LFE2) {
        [0.0, 0.0]
    } else if p.intersects(Position::FRONT_CENTER | Position::TOP_CENTER | Position::TOP_FRONT_CENTER) {
        [MINUS_3DB, MINUS_3DB]
    } else if p.intersects(Position::REAR_CENTER | Position::TOP_REAR_CENTER | Position::BOTTOM_FRONT_CENTER) {
        [0.5, 0.5]
    } else if p.intersects(
        Position::REAR_LEFT
            | Position::SIDE_LEFT
            | Position::FRONT_LEFT_CENTER
            | Position::FRONT_LEFT_WIDE
            | Position::TOP_FRONT_LEFT
            | Position::TOP_REAR_LEFT
            | Position::TOP_SIDE_LEFT
            | Position::BOTTOM_FRONT_LEFT,
    ) {
        [MINUS_3DB, 0.0]
    } else if p.intersects(
        Position::REAR_RIGHT
            | Position::SIDE_RIGHT
            | Position::FRONT_RIGHT_CENTER
            | Position::FRONT_RIGHT_WIDE
            | Position::TOP_FRONT_RIGHT
            | Position::TOP_REAR_RIGHT
            | Position::TOP_SIDE_RIGHT
            | Position::BOTTOM_FRONT_RIGHT,
    ) {
        [0.0, MINUS_3DB]
    } else {
        [0.5, 0.5]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_one() -> Channels {
        Channels::Positioned(
            Position::FRONT_LEFT
                | Position::FRONT_RIGHT
                | Position::FRONT_CENTER
                | Position::LFE1
                | Position::SIDE_LEFT
                | Position::SIDE_RIGHT,
        )
    }

    #[test]
    fn mono_and_stereo_pass_through() {
        let m = Mixer::new(&Channels::Discrete(1), 1);
        assert_eq!(m.out_channels(), 1);
        let s = Mixer::new(&Channels::Discrete(2), 2);
        assert_eq!(s.out_channels(), 2);
        let mut out = [Vec::new(), Vec::new()];
        s.mix_into(&[vec![0.1, 0.2, 0.3], vec![-0.1, -0.2, -0.3]], 1, 2, &mut out);
        assert_eq!(out, [vec![0.2, 0.3], vec![-0.2, -0.3]]);
    }

    #[test]
    fn five_one_uses_itu_coefficients_normalised() {
        let m = Mixer::new(&five_one(), 6);
        assert_eq!(m.out_channels(), 2);
        let norm = 1.0 + 2.0 * MINUS_3DB;
        let g = m.gains();
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(g[0][0], 1.0 / norm) && close(g[0][1], 0.0), "FL {:?}", g[0]);
        assert!(close(g[1][1], 1.0 / norm) && close(g[1][0], 0.0), "FR {:?}", g[1]);
        assert!(close(g[2][0], MINUS_3DB / norm) && close(g[2][1], MINUS_3DB / norm), "FC {:?}", g[2]);
        assert_eq!(g[3], [0.0, 0.0], "LFE is dropped");
        assert!(close(g[4][0], MINUS_3DB / norm) && close(g[4][1], 0.0), "SL {:?}", g[4]);
        assert!(close(g[5][1], MINUS_3DB / norm) && close(g[5][0], 0.0), "SR {:?}", g[5]);
    }

    #[test]
    fn full_scale_five_one_does_not_clip_and_keeps_sides_apart() {
        let m = Mixer::new(&five_one(), 6);
        // Everything at +1 except the right surround at -1.
        let planes: Vec<Vec<f32>> = (0..6).map(|i| vec![if i == 5 { -1.0 } else { 1.0 }; 4]).collect();
        let mut out = [Vec::new(), Vec::new()];
        m.mix_into(&planes, 0, 4, &mut out);
        assert_eq!(out[0].len(), 4);
        assert!((out[0][0] - 1.0).abs() < 1e-6, "left sums to full scale: {}", out[0][0]);
        assert!(out[1][0] < 0.5, "right surround at -1 pulls right down: {}", out[1][0]);
        assert!(out.iter().flatten().all(|s| s.abs() <= 1.0 + 1e-6));
    }

    #[test]
    fn discrete_six_channels_use_the_wave_layout() {
        assert_eq!(Mixer::new(&Channels::Discrete(6), 6).gains()[3], [0.0, 0.0]);
    }
}
