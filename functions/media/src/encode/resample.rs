//! Streaming sample-rate conversion for rates MP3 cannot carry: rubato's FFT resampler for
//! ratios of small integers (44.1 ↔ 48 kHz, 96 → 48 kHz), its sinc resampler for the rest (an
//! FFT's size grows with `rate / gcd(rate_in, rate_out)`: 767,999 Hz → 48 kHz would need
//! ~100 MiB). Output is trimmed of the resampler's delay and cut to `input × ratio` frames, so
//! the duration is preserved exactly.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction};

use crate::MediaError;

const CHUNK: usize = 1024;
/// Largest `rate_in / gcd` handed to the FFT resampler (44.1 → 48 kHz is 147).
const MAX_FFT_BLOCK: u32 = 1024;

/// Receives each block of resampled planes and its frame count.
pub type Emit<'a> = dyn FnMut(&[Vec<f32>], usize) -> Result<(), MediaError> + 'a;

pub struct Resample {
    inner: Box<dyn Resampler<f32>>,
    rate_in: u64,
    rate_out: u64,
    channels: usize,
    pending: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    to_skip: usize,
    in_total: u64,
    out_total: u64,
}

fn err(e: impl std::fmt::Display) -> MediaError {
    MediaError::Encoder(format!("resampler: {e}"))
}

impl Resample {
    pub fn new(rate_in: u32, rate_out: u32, channels: usize) -> Result<Resample, MediaError> {
        let inner: Box<dyn Resampler<f32>> = if rate_in / gcd(rate_in, rate_out) <= MAX_FFT_BLOCK {
            Box::new(Fft::<f32>::new(rate_in as usize, rate_out as usize, CHUNK, channels, FixedSync::Input).map_err(err)?)
        } else {
            let parameters = SincInterpolationParameters {
                sinc_len: 128,
                f_cutoff: None,
                oversampling_factor: 128,
                interpolation: SincInterpolationType::Cubic,
                window: WindowFunction::BlackmanHarris2,
            };
            let ratio = f64::from(rate_out) / f64::from(rate_in);
            Box::new(Async::<f32>::new_sinc(ratio, 1.0, &parameters, CHUNK, channels, FixedAsync::Input).map_err(err)?)
        };
        let to_skip = inner.output_delay();
        let max_out = inner.output_frames_max();
        Ok(Resample {
            inner,
            rate_in: rate_in as u64,
            rate_out: rate_out as u64,
            channels,
            pending: vec![Vec::with_capacity(CHUNK * 2); channels],
            out: vec![vec![0.0; max_out]; channels],
            to_skip,
            in_total: 0,
            out_total: 0,
        })
    }

    /// Feeds frames; calls `emit` with each block of resampled planes.
    pub fn push(&mut self, input: &[Vec<f32>], emit: &mut Emit<'_>) -> Result<(), MediaError> {
        for (p, i) in self.pending.iter_mut().zip(input) {
            p.extend_from_slice(i);
        }
        self.in_total += input.first().map_or(0, |c| c.len() as u64);
        self.drain(false, emit)
    }

    /// Pads with silence until every input frame has come out, then stops at the exact length.
    pub fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), MediaError> {
        self.drain(true, emit)
    }

    fn expected_out(&self) -> u64 {
        (self.in_total * self.rate_out + self.rate_in / 2) / self.rate_in
    }

    fn drain(&mut self, flushing: bool, emit: &mut Emit<'_>) -> Result<(), MediaError> {
        loop {
            let need = self.inner.input_frames_next();
            if self.pending[0].len() < need {
                if !flushing || self.out_total >= self.expected_out() {
                    return Ok(());
                }
                for p in &mut self.pending {
                    p.resize(need, 0.0);
                }
            }
            let input = SequentialSliceOfVecs::new(&self.pending, self.channels, need).map_err(err)?;
            let frames_out = self.out[0].len();
            let mut output = SequentialSliceOfVecs::new_mut(&mut self.out, self.channels, frames_out).map_err(err)?;
            let (used, produced) = self.inner.process_into_buffer(&input, &mut output, None).map_err(err)?;
            for p in &mut self.pending {
                p.drain(..used);
            }
            let skip = self.to_skip.min(produced);
            self.to_skip -= skip;
            let mut avail = produced - skip;
            if flushing {
                avail = avail.min(self.expected_out().saturating_sub(self.out_total) as usize);
            }
            if avail > 0 {
                if skip > 0 {
                    for c in &mut self.out {
                        c.copy_within(skip..skip + avail, 0);
                    }
                }
                self.out_total += avail as u64;
                emit(&self.out, avail)?;
            }
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten blocks of a stereo tone through a `rate_in` → `rate_out` resampler: frames out and
    /// the peak of the left channel.
    fn run(rate_in: u32, rate_out: u32, tone: &[f32]) -> (usize, f32) {
        let mut r = Resample::new(rate_in, rate_out, 2).unwrap();
        let (mut total, mut peak) = (0usize, 0.0f32);
        let mut emit = |out: &[Vec<f32>], n: usize| {
            total += n;
            peak = out[0][..n].iter().fold(peak, |p, s| p.max(s.abs()));
            Ok(())
        };
        for _ in 0..10 {
            r.push(&[tone.to_vec(), tone.to_vec()], &mut emit).unwrap();
        }
        r.finish(&mut emit).unwrap();
        (total, peak)
    }

    #[test]
    fn awkward_ratios_use_little_memory_and_keep_duration_and_tone() {
        // 767,999 / gcd(767,999, 48,000) is prime-sized: an FFT resampler would need ~100 MiB.
        let tone: Vec<f32> = (0..76_800).map(|i| (i as f32 * 0.002).sin() * 0.5).collect();
        let (total, peak) = run(767_999, 48_000, &tone);
        assert_eq!(total as u64, (768_000u64 * 48_000 + 767_999 / 2) / 767_999);
        assert!(peak > 0.4 && peak < 0.6, "the tone survives: {peak}");
    }

    #[test]
    fn keeps_duration_exact_when_downsampling_96k_to_48k() {
        let tone: Vec<f32> = (0..9600).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let (total, peak) = run(96000, 48000, &tone);
        assert_eq!(total, 48000);
        assert!(peak > 0.4 && peak < 0.6, "the tone survives: {peak}");
    }
}
