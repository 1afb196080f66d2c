//! The back half of the pipeline: mixed PCM in, through the optional resampler and LAME, into the
//! sink; finishes by rewriting LAME's placeholder tag frame.

pub mod frame;
pub mod lame;
pub mod lame_tag;
pub mod parallel;
pub mod resample;
pub mod tags;
pub mod thread;

use crate::encode::lame::Mp3Encoder;
use crate::encode::parallel::ParallelEncoder;
use crate::encode::resample::Resample;
use crate::encode::thread::EncoderThread;
use crate::{MediaError, Mp3Sink, Preset};

/// Frames gathered before a call into the resampler or LAME (keeps per-call overhead low even for
/// demuxers that hand out one sample per packet).
const BLOCK: usize = 8192;

pub struct Output<'s> {
    sink: &'s mut dyn Mp3Sink,
    encoder: Encoder,
    resampler: Option<Resample>,
    channels: usize,
    /// Mixed frames at the source rate, not yet encoded.
    pub pending: [Vec<f32>; 2],
    tag_offset: u64,
    pub bytes: u64,
    pub frames_out: u64,
    pub rate_out: u32,
}

impl<'s> Output<'s> {
    pub fn new(
        sink: &'s mut dyn Mp3Sink,
        tag_offset: u64,
        rate_in: u32,
        channels: usize,
        preset: Preset,
        threads: usize,
    ) -> Result<Output<'s>, MediaError> {
        let rate_out = crate::encode::lame::nearest_mp3_rate(rate_in);
        let resampler = if rate_out != rate_in { Some(Resample::new(rate_in, rate_out, channels)?) } else { None };
        Ok(Output {
            sink,
            encoder: Encoder::new(rate_out, channels, preset, threads)?,
            resampler,
            channels,
            pending: [Vec::with_capacity(BLOCK * 2), Vec::with_capacity(BLOCK * 2)],
            tag_offset,
            bytes: tag_offset,
            frames_out: 0,
            rate_out,
        })
    }

    /// Encodes the pending frames once enough have gathered.
    pub fn maybe_flush(&mut self) -> Result<(), MediaError> {
        if self.pending[0].len() >= BLOCK { self.encode_pending() } else { Ok(()) }
    }

    fn encode_pending(&mut self) -> Result<(), MediaError> {
        let Output { sink, encoder, resampler, channels, pending, bytes, frames_out, .. } = self;
        let mut emit = |planes: &[Vec<f32>], n: usize| -> Result<(), MediaError> {
            let right = if *channels == 2 { &planes[1][..n] } else { &planes[0][..n] };
            encoder.encode(&planes[0][..n], right, &mut |out| write_counted(&mut **sink, bytes, out))?;
            *frames_out += n as u64;
            Ok(())
        };
        match resampler {
            Some(r) => r.push(&pending[..*channels], &mut emit)?,
            None => {
                let n = pending[0].len();
                if n > 0 {
                    emit(&pending[..*channels], n)?;
                }
            }
        }
        pending[0].clear();
        pending[1].clear();
        Ok(())
    }

    /// Encodes what is left, flushes LAME and writes the final LAME/Xing frame over the
    /// placeholder.
    pub fn finish(mut self) -> Result<(u64, u64, u32), MediaError> {
        self.encode_pending()?;
        if let Some(mut r) = self.resampler.take() {
            let Output { sink, encoder, channels, bytes, frames_out, .. } = &mut self;
            r.finish(&mut |planes: &[Vec<f32>], n: usize| {
                let right = if *channels == 2 { &planes[1][..n] } else { &planes[0][..n] };
                encoder.encode(&planes[0][..n], right, &mut |out| write_counted(&mut **sink, bytes, out))?;
                *frames_out += n as u64;
                Ok(())
            })?;
        }
        let Output { sink, encoder, mut bytes, tag_offset, frames_out, rate_out, .. } = self;
        let tag = encoder.finish(&mut |out| write_counted(&mut *sink, &mut bytes, out))?;
        if !tag.is_empty() {
            sink.overwrite(tag_offset, &tag)?;
        }
        sink.flush()?;
        Ok((bytes, frames_out, rate_out))
    }
}

fn write_counted(sink: &mut dyn Mp3Sink, bytes: &mut u64, out: &[u8]) -> Result<(), MediaError> {
    sink.write_all(out)?;
    *bytes += out.len() as u64;
    Ok(())
}

/// LAME on one thread of its own, or on several for one stream ([`parallel`]).
enum Encoder {
    Serial(EncoderThread),
    Parallel(Box<ParallelEncoder>),
}

impl Encoder {
    fn new(rate: u32, channels: usize, preset: Preset, threads: usize) -> Result<Encoder, MediaError> {
        Ok(if threads > 1 {
            Encoder::Parallel(Box::new(ParallelEncoder::spawn(rate, channels, preset, threads)?))
        } else {
            Encoder::Serial(EncoderThread::spawn(Mp3Encoder::new(rate, channels, preset, true)?)?)
        })
    }

    fn encode(&mut self, left: &[f32], right: &[f32], write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<(), MediaError> {
        match self {
            Encoder::Serial(e) => e.encode(left, right, write),
            Encoder::Parallel(e) => e.encode(left, right, write),
        }
    }

    fn finish(self, write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<Vec<u8>, MediaError> {
        match self {
            Encoder::Serial(e) => e.finish(write),
            Encoder::Parallel(mut e) => e.finish(write),
        }
    }
}

/// Encoder threads when a caller asks for none in particular: the cores this process may use
/// (the standard library reads the cgroup CPU quota and the affinity mask).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
