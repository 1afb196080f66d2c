//! One WMA frame (`frame_len` samples a channel) from the bit stream: its blocks, each with
//! mid/side stereo, a gain, exponents (the spectral envelope, kept for shorter blocks after),
//! run-length coded coefficients and noise for the bands coded as noise; then the inverse
//! MDCT and the overlap of each block with its neighbours under sine windows.

use symphonia::core::dsp::mdct::Imdct;

use crate::decode::wma::params::Params;
use crate::decode::wma::vlc;
use crate::demux::frames::bits::Bits;

/// The noise the format adds: a fixed pseudo-random sequence, walked through across blocks.
const NOISE_LEN: usize = 8192;
const NOISE_MULT: f32 = 0.02;

/// Exponents are 10^(e/16) for e in this range.
const EXPONENTS: std::ops::Range<i32> = -60..84;

/// What a damaged or truncated frame gives.
#[derive(Debug, PartialEq)]
pub struct Damaged(pub &'static str);

type Result<T> = std::result::Result<T, Damaged>;

fn truncated() -> Damaged {
    Damaged("wma: frame cut short")
}

pub struct FrameDecoder {
    p: Params,
    /// One inverse MDCT and one sine window per block size.
    imdct: Vec<Imdct>,
    windows: Vec<Vec<f32>>,
    noise: Vec<f32>,
    noise_index: usize,
    /// Block sizes, as log2 of their coefficients.
    prev_bits: u32,
    bits: u32,
    next_bits: u32,
    /// Read the block lengths afresh at the next block (the first of a superframe).
    pub reset_block_lengths: bool,
    channels: Vec<Channel>,
    ms_stereo: bool,
    /// The inverse MDCT's output (2 × a block).
    output: Vec<f32>,
}

/// A channel's state across blocks.
struct Channel {
    coded: bool,
    exponents: Vec<f32>,
    /// The block size the exponents were decoded at, once they have been.
    exponents_bsize: Option<usize>,
    max_exponent: f32,
    high_coded: Vec<bool>,
    high_values: Vec<i32>,
    /// Decoded coefficient values, then the block's spectrum.
    levels: Vec<f32>,
    spectrum: Vec<f32>,
    /// Two frames: the one being completed, and the overlap into the next.
    out: Vec<f32>,
}

impl FrameDecoder {
    pub fn new(p: Params) -> FrameDecoder {
        // ffmpeg's scale and sign, so that the samples are its.
        let imdct = (0..p.block_sizes).map(|bsize| Imdct::new_scaled(p.frame_len >> bsize, -1.0 / 32768.0)).collect();
        let windows = (0..p.block_sizes)
            .map(|bsize| {
                let n = p.frame_len >> bsize;
                (0..n).map(|i| ((i as f64 + 0.5) * std::f64::consts::PI / (2.0 * n as f64)).sin() as f32).collect()
            })
            .collect();
        let norm = (1.0 / (1u64 << 31) as f32) * 3f32.sqrt() * NOISE_MULT;
        let mut seed = 1u32;
        let noise = (0..NOISE_LEN)
            .map(|_| {
                seed = seed.wrapping_mul(314_159).wrapping_add(1);
                seed as i32 as f32 * norm
            })
            .collect();
        let highs = p.bands.iter().map(|b| b.high.len()).max().unwrap_or(0);
        let channels = (0..p.channels)
            .map(|_| Channel {
                coded: false,
                exponents: vec![0.0; p.frame_len],
                exponents_bsize: None,
                max_exponent: 1.0,
                high_coded: vec![false; highs],
                high_values: vec![0; highs],
                levels: vec![0.0; p.frame_len],
                spectrum: vec![0.0; p.frame_len],
                out: vec![0.0; p.frame_len * 2],
            })
            .collect();
        let bits = p.frame_len_bits;
        FrameDecoder {
            output: vec![0.0; p.frame_len * 2],
            imdct,
            windows,
            noise,
            noise_index: 0,
            prev_bits: bits,
            bits,
            next_bits: bits,
            reset_block_lengths: true,
            channels,
            ms_stereo: false,
            p,
        }
    }

    pub fn params(&self) -> &Params {
        &self.p
    }

    /// Forgets the stream: overlap, exponents and block lengths.
    pub fn reset(&mut self) {
        self.reset_block_lengths = true;
        for ch in &mut self.channels {
            ch.out.fill(0.0);
            ch.exponents_bsize = None;
        }
    }

    /// Decodes a frame from `bits`, appending its samples to `planes` (one per channel).
    pub fn decode(&mut self, bits: &mut Bits, planes: &mut [Vec<f32>]) -> Result<()> {
        let mut pos = 0;
        while pos < self.p.frame_len {
            pos = self.block(bits, pos)?;
        }
        let n = self.p.frame_len;
        for (ch, plane) in self.channels.iter_mut().zip(planes) {
            plane.extend_from_slice(&ch.out[..n]);
            ch.out.copy_within(n.., 0);
            ch.out[n..].fill(0.0);
        }
        Ok(())
    }

    /// The overlap still held: the sound of the frame after the last (at the stream's end).
    pub fn flush(&mut self, planes: &mut [Vec<f32>]) {
        let n = self.p.frame_len;
        for (ch, plane) in self.channels.iter_mut().zip(planes) {
            plane.extend_from_slice(&ch.out[..n]);
            ch.out.fill(0.0);
        }
    }

    /// Decodes the block at `pos` into the channels' output; returns the next block's position.
    fn block(&mut self, bits: &mut Bits, pos: usize) -> Result<usize> {
        self.block_lengths(bits)?;
        let p = &self.p;
        let block_len = 1usize << self.bits;
        if pos + block_len > p.frame_len {
            return Err(Damaged("wma: blocks overrun the frame"));
        }
        let bsize = (p.frame_len_bits - self.bits) as usize;
        self.ms_stereo = p.channels == 2 && flag(bits)?;
        let mut any = false;
        for ch in &mut self.channels {
            ch.coded = flag(bits)?;
            any |= ch.coded;
        }
        if any {
            self.spectra(bits, bsize, block_len)?;
        }
        self.synthesise(bsize, block_len, pos);
        Ok(pos + block_len)
    }

    /// The sizes of the previous, this and the next block (a fixed size unless the stream varies it).
    fn block_lengths(&mut self, bits: &mut Bits) -> Result<()> {
        let p = &self.p;
        if !p.variable_block_len {
            return Ok(());
        }
        let n = (p.block_sizes - 1).max(1).ilog2() + 1;
        let read = |bits: &mut Bits| -> Result<u32> {
            let v = bits.read(n).ok_or_else(truncated)?;
            if v as usize >= p.block_sizes {
                return Err(Damaged("wma: block size out of range"));
            }
            Ok(p.frame_len_bits - v)
        };
        if self.reset_block_lengths {
            self.reset_block_lengths = false;
            self.prev_bits = read(bits)?;
            self.bits = read(bits)?;
        } else {
            self.prev_bits = self.bits;
            self.bits = self.next_bits;
        }
        self.next_bits = read(bits)?;
        Ok(())
    }

    /// Reads the coded channels' gain, noise bands, exponents and coefficients, and makes
    /// their spectra (mid/side undone).
    fn spectra(&mut self, bits: &mut Bits, bsize: usize, block_len: usize) -> Result<()> {
        let p = &self.p;
        let bands = &p.bands[bsize];
        let mut total_gain = 1;
        loop {
            let a = bits.read(7).ok_or_else(truncated)?;
            total_gain += a as i32;
            if a != 127 {
                break;
            }
            if total_gain > 600 {
                return Err(Damaged("wma: gain out of range"));
            }
        }
        let coef_bits = match total_gain {
            ..15 => 13,
            15..32 => 12,
            32..40 => 11,
            40..45 => 10,
            _ => 9,
        };
        let coded_len = bands.coefs_end - p.coefs_start;
        let mut nb_coefs = [coded_len; 2];
        if p.noise_coding {
            for (ch, nb) in self.channels.iter_mut().zip(&mut nb_coefs).filter(|(ch, _)| ch.coded) {
                for (i, width) in bands.high.iter().enumerate() {
                    ch.high_coded[i] = flag(bits)?;
                    if ch.high_coded[i] {
                        *nb = nb.saturating_sub(*width);
                    }
                }
            }
            for ch in self.channels.iter_mut().filter(|ch| ch.coded) {
                let mut value = None;
                for i in 0..bands.high.len() {
                    if ch.high_coded[i] {
                        let v = match value {
                            None => bits.read(7).ok_or_else(truncated)? as i32 - 19,
                            Some(v) => v + vlc::GAIN.read(bits).ok_or(Damaged("wma: bad noise gain code"))? as i32 - 18,
                        };
                        value = Some(v);
                        ch.high_values[i] = v;
                    }
                }
            }
        }
        // Exponents: new in every full-size block, reused by shorter ones unless a flag says.
        if self.bits == p.frame_len_bits || flag(bits)? {
            for ch in self.channels.iter_mut().filter(|ch| ch.coded) {
                decode_exponents(p, bits, ch, bsize)?;
            }
        }
        for (i, ch) in self.channels.iter_mut().enumerate().filter(|(_, ch)| ch.coded) {
            if ch.exponents_bsize.is_none() {
                return Err(Damaged("wma: no exponents yet"));
            }
            let table = &vlc::COEFS[p.coef_table][usize::from(i == 1 && self.ms_stereo)];
            run_levels(bits, table, &mut ch.levels[..block_len], nb_coefs[i], p.frame_len_bits, coef_bits)?;
            if p.version == 1 && p.channels == 2 {
                let pos = bits.pos();
                bits.skip((8 - pos % 8) % 8).ok_or_else(truncated)?;
            }
        }
        let mut norm = 1.0 / (block_len / 2) as f32;
        if p.version == 1 {
            norm *= ((block_len / 2) as f32).sqrt();
        }
        let gain = 10f32.powf(total_gain as f32 * 0.05);
        for ch in self.channels.iter_mut().filter(|ch| ch.coded) {
            let noise = Noise { table: &self.noise, index: &mut self.noise_index };
            spectrum(p, bsize, block_len, ch, gain, norm, noise);
        }
        if self.ms_stereo && self.channels[1].coded {
            let (mid, side) = self.channels.split_at_mut(1);
            let (mid, side) = (&mut mid[0], &mut side[0]);
            if !mid.coded {
                mid.spectrum[..block_len].fill(0.0);
                mid.coded = true;
            }
            for (m, s) in mid.spectrum[..block_len].iter_mut().zip(&mut side.spectrum[..block_len]) {
                (*m, *s) = (*m + *s, *m - *s);
            }
        }
        Ok(())
    }

    /// The inverse MDCT of each channel's block, windowed and overlapped into its output.
    fn synthesise(&mut self, bsize: usize, block_len: usize, pos: usize) {
        let at = self.p.frame_len / 2 + pos - block_len / 2;
        let output = &mut self.output[..block_len * 2];
        for (i, ch) in self.channels.iter_mut().enumerate() {
            if ch.coded {
                self.imdct[bsize].imdct(&ch.spectrum[..block_len], output);
            } else if !(self.ms_stereo && i == 1) {
                // The side channel uncoded: both channels are the mid's sound.
                output.fill(0.0);
            }
            let frame_bits = self.p.frame_len_bits;
            let window = |bits: u32| &self.windows[(frame_bits - bits) as usize];
            let out = &mut ch.out[at..at + block_len * 2];
            // The rising half, over the shorter of this block and the one before.
            if self.bits <= self.prev_bits {
                for ((o, x), w) in out.iter_mut().zip(&output[..block_len]).zip(window(self.bits)) {
                    *o += x * w;
                }
            } else {
                let short = 1usize << self.prev_bits;
                let n = (block_len - short) / 2;
                for ((o, x), w) in out[n..].iter_mut().zip(&output[n..n + short]).zip(window(self.prev_bits)) {
                    *o += x * w;
                }
                out[n + short..block_len].copy_from_slice(&output[n + short..block_len]);
            }
            // The falling half, over the shorter of this block and the next.
            let (out, output) = (&mut out[block_len..], &output[block_len..]);
            if self.bits <= self.next_bits {
                for ((o, x), w) in out.iter_mut().zip(output).zip(window(self.bits).iter().rev()) {
                    *o = x * w;
                }
            } else {
                let short = 1usize << self.next_bits;
                let n = (block_len - short) / 2;
                out[..n].copy_from_slice(&output[..n]);
                for ((o, x), w) in out[n..].iter_mut().zip(&output[n..n + short]).zip(window(self.next_bits).iter().rev()) {
                    *o = x * w;
                }
                out[n + short..].fill(0.0);
            }
        }
    }
}

fn flag(bits: &mut Bits) -> Result<bool> {
    bits.flag().ok_or_else(truncated)
}

/// A channel's exponents for a block of `bsize`: a start value (v1) and then steps, one per
/// exponent band, each 10^(e/16).
fn decode_exponents(p: &Params, bits: &mut Bits, ch: &mut Channel, bsize: usize) -> Result<()> {
    let block_len = p.frame_len >> bsize;
    let widths = &p.bands[bsize].exponent;
    let value = |e: i32| -> Result<f32> {
        if !EXPONENTS.contains(&e) {
            return Err(Damaged("wma: exponent out of range"));
        }
        Ok(10f32.powf(e as f32 / 16.0))
    };
    let (mut last, mut widths, mut q, mut max) = (36, widths.iter(), 0, 0f32);
    if p.version == 1 {
        last = bits.read(5).ok_or_else(truncated)? as i32 + 10;
        let v = value(last)?;
        let n = widths.next().copied().unwrap_or(block_len).min(block_len);
        ch.exponents[..n].fill(v);
        (q, max) = (n, v);
    }
    while q < block_len {
        let code = vlc::SCALE.read(bits).ok_or(Damaged("wma: bad exponent code"))?;
        last += code as i32 - 60;
        let v = value(last)?;
        max = max.max(v);
        let n = widths.next().copied().unwrap_or(block_len - q).min(block_len - q);
        ch.exponents[q..q + n].fill(v);
        q += n;
    }
    ch.max_exponent = max;
    ch.exponents_bsize = Some(bsize);
    Ok(())
}

/// The run-length coded coefficients into `levels` (zeroed first): runs of zeros and levels,
/// an escape for what the table lacks, up to the end-of-block symbol or `count` of them.
fn run_levels(bits: &mut Bits, table: &vlc::CoefTable, levels: &mut [f32], count: usize, frame_bits: u32, coef_bits: u32) -> Result<()> {
    levels.fill(0.0);
    let mask = levels.len() - 1;
    let mut offset = 0;
    while offset < count {
        let code = table.vlc.read(bits).ok_or(Damaged("wma: bad coefficient code"))?;
        let level = match code {
            1 => break,
            0 => {
                let level = bits.read(coef_bits).ok_or_else(truncated)?;
                offset += bits.read(frame_bits).ok_or_else(truncated)? as usize;
                level as f32
            }
            _ => {
                let &(run, level) = table.run_level.get(code - 2).ok_or(Damaged("wma: bad coefficient code"))?;
                offset += usize::from(run);
                f32::from(level)
            }
        };
        // A 0 sign bit is negative.
        levels[offset & mask] = if flag(bits)? { level } else { -level };
        offset += 1;
    }
    if offset > count {
        return Err(Damaged("wma: coefficients overrun the block"));
    }
    Ok(())
}

struct Noise<'a> {
    table: &'a [f32],
    index: &'a mut usize,
}

impl Noise<'_> {
    fn next(&mut self) -> f32 {
        let v = self.table[*self.index];
        *self.index = (*self.index + 1) % NOISE_LEN;
        v
    }
}

/// A coded channel's spectrum: its levels shaped by the exponents (at the resolution they
/// were decoded at) and the gain, with the format's small noise; noise-coded bands are noise
/// at their own power, the top of the band noise at the last exponent's. `norm` is the
/// inverse MDCT's.
fn spectrum(p: &Params, bsize: usize, block_len: usize, ch: &mut Channel, gain: f32, norm: f32, mut noise: Noise) {
    let bands = &p.bands[bsize];
    let esize = ch.exponents_bsize.unwrap_or(bsize);
    let exps = &ch.exponents;
    // Coefficient i from `base` of a block at `bsize`, against exponents decoded at `esize`.
    let exp = |base: usize, i: usize| exps.get(base + ((i << bsize) >> esize)).copied().unwrap_or(0.0);
    let step = |n: usize| (n << bsize) >> esize;
    let mult = gain / ch.max_exponent * norm;
    let spectrum = &mut ch.spectrum[..block_len];
    let mut levels = ch.levels.iter().copied();
    if !p.noise_coding {
        spectrum.fill(0.0);
        for (i, s) in spectrum[p.coefs_start..bands.coefs_end].iter_mut().enumerate() {
            *s = levels.next().unwrap_or(0.0) * exp(0, i) * mult;
        }
        return;
    }
    let mut k = 0;
    for i in 0..p.coefs_start {
        spectrum[k] = noise.next() * exp(0, i) * mult;
        k += 1;
    }
    // The power of each noise-coded band; each is heard relative to the last one's.
    let mut powers = vec![0f32; bands.high.len()];
    let mut last_high = 0;
    let mut base = step(bands.high_start);
    for (j, &n) in bands.high.iter().enumerate() {
        if ch.high_coded[j] {
            powers[j] = (0..n).map(|i| exp(base, i).powi(2)).sum::<f32>() / n as f32;
            last_high = j;
        }
        base += step(n);
    }
    let mut base = step(p.coefs_start);
    let below_high = bands.high_start.saturating_sub(p.coefs_start);
    let parts = std::iter::once((None, below_high)).chain(bands.high.iter().enumerate().map(|(j, &n)| (Some(j), n)));
    for (j, n) in parts {
        match j {
            Some(j) if ch.high_coded[j] => {
                let level = (powers[j] / powers[last_high]).sqrt() * 10f32.powf(ch.high_values[j] as f32 * 0.05);
                let mult = level / (ch.max_exponent * NOISE_MULT) * norm;
                for i in 0..n {
                    spectrum[k] = noise.next() * exp(base, i) * mult;
                    k += 1;
                }
            }
            _ => {
                for i in 0..n {
                    spectrum[k] = (levels.next().unwrap_or(0.0) + noise.next()) * exp(base, i) * mult;
                    k += 1;
                }
            }
        }
        base += step(n);
    }
    let top = exps.get(base.wrapping_add_signed((-(1isize << bsize)) >> esize)).copied().unwrap_or(0.0);
    for s in &mut spectrum[k..] {
        *s = noise.next() * mult * top;
    }
}
