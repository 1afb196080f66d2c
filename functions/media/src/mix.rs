//! Channel mixing: mono and stereo pass through; wider layouts fold down to stereo with the
//! ITU-R BS.775 coefficients (centre and surrounds at -3 dB, LFE dropped), at the level of
//! ffmpeg's own conversion to MP3 (`ffmpeg -i film.mkv -ac 2 film.mp3`), which users compare
//! with. That level depends on the codec: ffmpeg mixes in the decoder's sample format, and
//! normalises the matrix (divides by the sum of the coefficients, 2.41 for 5.1, 3.12 for 7.1)
//! only when that format is an integer one: PCM, FLAC, ALAC, ADPCM, WavPack, TrueHD. The lossy
//! codecs (AAC, AC-3, DTS, Opus, Vorbis) and float PCM decode to float, are mixed without
//! normalisation and come out 7.7 dB (5.1) or 9.9 dB (7.1) louder. [`normalises`] says which.
//!
//! Unnormalised, the coefficients can sum past full scale; where they would clip, a peak
//! limiter follows the mix (ffmpeg lets them clip): it only turns the level down around the
//! moments that would clip, reaching the needed gain a few milliseconds before the peak within
//! the block being mixed, and recovers over a quarter of a second, so nothing clips and quiet
//! passages are untouched.
//!
//! The one canonical layout: planes come in the order of their symphonia `Position` bits (the
//! WAVE/WAVEFORMATEXTENSIBLE order: FL, FR, FC, LFE, BL, BR, FLC, FRC, BC, SL, SR, ...). Every
//! decoder hands its planes out in that order with their positions, whatever order its codec
//! stores channels in (Vorbis and Opus: FL, FC, FR, ...; AAC: FC, FL, FR, ...; AC-3 by acmod),
//! so the down-mix below is the only place that knows what a position is worth.

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known::*;

const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// How long the limiter takes to reach a lower gain before a peak.
const ATTACK_SECS: f32 = 0.005;
/// The time constant of the limiter's recovery towards unity gain.
const RELEASE_SECS: f32 = 0.25;
/// The limiter's ceiling, a little under full scale (-0.2 dB) to leave room for the MP3's
/// coding noise on top of the peaks.
const CEILING: f32 = 0.977;

/// Maps the decoder's planes onto the one or two channels LAME encodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixer {
    /// Per input plane: gain into (left, right). Unused for mono and stereo.
    gains: Vec<[f32; 2]>,
    out_channels: usize,
    /// Present when the gains can sum past full scale.
    limiter: Option<Limiter>,
}

impl Mixer {
    /// Builds the mixer for the given layout, number of decoded planes and sample rate;
    /// `normalise` as [`normalises`] says for the codec.
    pub fn new(channels: &Channels, planes: usize, rate: u32, normalise: bool) -> Mixer {
        match planes {
            0 | 1 => return Mixer { gains: vec![[1.0, 0.0]], out_channels: 1, limiter: None },
            2 => return Mixer { gains: vec![[1.0, 0.0], [0.0, 1.0]], out_channels: 2, limiter: None },
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
        if normalise && max_sum > 1.0 {
            for g in &mut gains {
                g[0] /= max_sum;
                g[1] /= max_sum;
            }
        }
        let limiter = (!normalise && max_sum > 1.0).then(|| Limiter::new(rate));
        Mixer { gains, out_channels: 2, limiter }
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
    pub fn mix_into(&mut self, planes: &[Vec<f32>], start: usize, frames: usize, out: &mut [Vec<f32>; 2]) {
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
        if let Some(limiter) = self.limiter.as_mut() {
            let [left, right] = out;
            let (l, r) = (left.len() - frames, right.len() - frames);
            limiter.apply(&mut left[l..], &mut right[r..]);
        }
    }
}

/// A peak limiter on a stereo pair, one gain for both channels so the image does not shift.
#[derive(Debug, Clone, PartialEq)]
struct Limiter {
    /// The gain the last block ended on.
    gain: f32,
    /// Per-sample fraction of the distance to unity recovered.
    release: f32,
    /// Per-sample gain change allowed on the way down before a peak.
    attack: f32,
    /// Scratch: the gain each frame of the block needs.
    needed: Vec<f32>,
}

impl Limiter {
    fn new(rate: u32) -> Limiter {
        let rate = rate.max(1) as f32;
        Limiter {
            gain: 1.0,
            release: 1.0 - (-1.0 / (RELEASE_SECS * rate)).exp(),
            attack: 1.0 / (ATTACK_SECS * rate).max(1.0),
            needed: Vec::new(),
        }
    }

    fn apply(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.needed.clear();
        self.needed.extend(left.iter().zip(right.iter()).map(|(l, r)| {
            let peak = l.abs().max(r.abs());
            // NaN peaks fail the comparison and keep the gain; the encoder clamps them later.
            if peak > CEILING { CEILING / peak } else { 1.0 }
        }));
        // Look ahead within the block: reach each peak's gain by a ramp, not a step.
        for i in (0..self.needed.len().saturating_sub(1)).rev() {
            self.needed[i] = self.needed[i].min(self.needed[i + 1] + self.attack);
        }
        let mut gain = self.gain;
        for ((l, r), needed) in left.iter_mut().zip(right.iter_mut()).zip(&self.needed) {
            gain = (gain + (1.0 - gain) * self.release).min(*needed);
            *l *= gain;
            *r *= gain;
        }
        self.gain = gain;
    }
}

/// Whether ffmpeg decodes `codec` to integer samples, and so normalises its down-mix (see the
/// module doc): integer PCM, G.711, FLAC, ALAC, ADPCM, WavPack, TrueHD.
pub fn normalises(codec: AudioCodecId) -> bool {
    let float_pcm = [CODEC_ID_PCM_F32LE, CODEC_ID_PCM_F32BE, CODEC_ID_PCM_F64LE, CODEC_ID_PCM_F64BE];
    let integer = [CODEC_ID_FLAC, CODEC_ID_ALAC, CODEC_ID_WAVPACK, CODEC_ID_TRUEHD, CODEC_ID_PCM_ALAW, CODEC_ID_PCM_MULAW];
    let family = crate::decode::choose::id_value(codec) & !0xff;
    integer.contains(&codec) || (family == 0x100 && !float_pcm.contains(&codec)) || family == 0x200
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
        let m = Mixer::new(&Channels::Discrete(1), 1, 48_000, false);
        assert_eq!(m.out_channels(), 1);
        let mut s = Mixer::new(&Channels::Discrete(2), 2, 48_000, false);
        assert_eq!(s.out_channels(), 2);
        let mut out = [Vec::new(), Vec::new()];
        s.mix_into(&[vec![0.1, 0.2, 0.3], vec![-0.1, -0.2, -0.3]], 1, 2, &mut out);
        assert_eq!(out, [vec![0.2, 0.3], vec![-0.2, -0.3]]);
    }

    #[test]
    fn five_one_uses_the_itu_coefficients_at_ffmpegs_level() {
        let m = Mixer::new(&five_one(), 6, 48_000, false);
        assert_eq!(m.out_channels(), 2);
        let g = m.gains();
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(g[0][0], 1.0) && close(g[0][1], 0.0), "FL {:?}", g[0]);
        assert!(close(g[1][1], 1.0) && close(g[1][0], 0.0), "FR {:?}", g[1]);
        assert!(close(g[2][0], MINUS_3DB) && close(g[2][1], MINUS_3DB), "FC {:?}", g[2]);
        assert_eq!(g[3], [0.0, 0.0], "LFE is dropped");
        assert!(close(g[4][0], MINUS_3DB) && close(g[4][1], 0.0), "SL {:?}", g[4]);
        assert!(close(g[5][1], MINUS_3DB) && close(g[5][0], 0.0), "SR {:?}", g[5]);
    }

    /// `frames` frames of 5.1 where every plane holds `level`, except the right surround.
    fn mix_five_one(m: &mut Mixer, level: f32, right_surround: f32, frames: usize) -> [Vec<f32>; 2] {
        let planes: Vec<Vec<f32>> = (0..6).map(|i| vec![if i == 5 { right_surround } else { level }; frames]).collect();
        let mut out = [Vec::new(), Vec::new()];
        m.mix_into(&planes, 0, frames, &mut out);
        out
    }

    #[test]
    fn quiet_five_one_is_mixed_without_gain_change() {
        let mut m = Mixer::new(&five_one(), 6, 48_000, false);
        let out = mix_five_one(&mut m, 0.2, 0.0, 480);
        let left = 0.2 * (1.0 + 2.0 * MINUS_3DB);
        assert!(out[0].iter().all(|s| (s - left).abs() < 1e-6), "left {:?}", &out[0][..4]);
        assert!(out[1].iter().all(|s| (s - 0.2 * (1.0 + MINUS_3DB)).abs() < 1e-6));
    }

    #[test]
    fn full_scale_five_one_does_not_clip_and_keeps_sides_apart() {
        let mut m = Mixer::new(&five_one(), 6, 48_000, false);
        // Everything at +1 except the right surround at -1.
        let out = mix_five_one(&mut m, 1.0, -1.0, 4800);
        assert!(out.iter().flatten().all(|s| s.abs() <= 1.0 + 1e-6), "a sample clips");
        assert!(out[0][4000] > 0.95, "left is held just under full scale: {}", out[0][4000]);
        assert!(out[1][4000] < 0.5 * out[0][4000], "right surround at -1 pulls right down: {}", out[1][4000]);
    }

    #[test]
    fn the_limiter_lets_go_after_a_peak() {
        let mut m = Mixer::new(&five_one(), 6, 48_000, false);
        let loud = mix_five_one(&mut m, 1.0, 1.0, 480);
        assert!(loud[0].iter().all(|s| *s <= 1.0 + 1e-6));
        // A second of quiet afterwards: four release time constants bring the gain back.
        let quiet = mix_five_one(&mut m, 0.1, 0.1, 48_000);
        let expected = 0.1 * (1.0 + 2.0 * MINUS_3DB);
        assert!(quiet[0][0] < 0.5 * expected, "the gain does not jump back: {}", quiet[0][0]);
        assert!((quiet[0][47_999] - expected).abs() < 0.03 * expected, "recovered: {}", quiet[0][47_999]);
    }

    #[test]
    fn the_limiter_ramps_down_before_a_peak_in_the_block() {
        let mut m = Mixer::new(&five_one(), 6, 48_000, false);
        let mut planes: Vec<Vec<f32>> = (0..6).map(|_| vec![0.3; 960]).collect();
        for p in &mut planes {
            p[900] = 1.0;
        }
        let mut out = [Vec::new(), Vec::new()];
        m.mix_into(&planes, 0, 960, &mut out);
        assert!(out[0][900] <= 1.0 + 1e-6, "the peak is held: {}", out[0][900]);
        let unlimited = 0.3 * (1.0 + 2.0 * MINUS_3DB);
        assert!(out[0][899] < unlimited && out[0][899] > 0.0, "the gain is already down before the peak");
        assert!((out[0][500] - unlimited).abs() < 1e-6, "well before the peak nothing changes");
    }

    #[test]
    fn integer_sources_are_normalised_as_ffmpeg_does_without_a_limiter() {
        let mut m = Mixer::new(&five_one(), 6, 48_000, true);
        let norm = 1.0 + 2.0 * MINUS_3DB;
        assert!((m.gains()[0][0] - 1.0 / norm).abs() < 1e-6 && (m.gains()[2][0] - MINUS_3DB / norm).abs() < 1e-6);
        let out = mix_five_one(&mut m, 1.0, 1.0, 480);
        assert!(out[0].iter().all(|s| (s - 1.0).abs() < 1e-6), "full scale in, full scale out: {}", out[0][0]);
        let quiet = mix_five_one(&mut m, 0.1, 0.1, 480);
        assert!((quiet[0][0] - 0.1).abs() < 1e-6, "no limiter state carried: {}", quiet[0][0]);
    }

    #[test]
    fn which_codecs_ffmpeg_mixes_in_integers() {
        for integer in
            [CODEC_ID_PCM_S16LE, CODEC_ID_PCM_S24BE, CODEC_ID_PCM_U8, CODEC_ID_PCM_ALAW, CODEC_ID_FLAC, CODEC_ID_ALAC, CODEC_ID_ADPCM_MS]
        {
            assert!(normalises(integer), "{integer}");
        }
        for float in [
            CODEC_ID_PCM_F32LE,
            CODEC_ID_PCM_F64BE,
            CODEC_ID_AAC,
            CODEC_ID_AC3,
            CODEC_ID_EAC3,
            CODEC_ID_DCA,
            CODEC_ID_OPUS,
            CODEC_ID_VORBIS,
            CODEC_ID_MP3,
        ] {
            assert!(!normalises(float), "{float}");
        }
    }

    #[test]
    fn discrete_six_channels_use_the_wave_layout() {
        assert_eq!(Mixer::new(&Channels::Discrete(6), 6, 48_000, false).gains()[3], [0.0, 0.0]);
    }
}
