//! Decoded PCM in, MP3 out: on the first audio it writes the ID3 tag and sets up the mixer and
//! output stage; it applies the container's trim (encoder priming, real length) and builds the
//! report. Shared by the symphonia pipeline and the AVI reader.

use symphonia::core::audio::Channels;

use crate::mix::Mixer;
use crate::output::Output;
use crate::{MediaError, Mp3Sink, Preset, Report};

/// What the first audio block needs from the caller: the ID3 tag bytes and the trim, in frames
/// at the decoded rate.
pub struct Start {
    pub id3: Vec<u8>,
    pub skip: u64,
    pub limit: Option<u64>,
}

pub struct Feed<'s> {
    sink: Option<&'s mut dyn Mp3Sink>,
    out: Option<(Output<'s>, Mixer)>,
    preset: Preset,
    /// Frames decoded so far (before trimming).
    pub decoded: u64,
    skip: u64,
    remaining: Option<u64>,
}

/// What was written.
pub struct Written {
    pub bytes: u64,
    pub samples: u64,
    pub sample_rate: u32,
    pub channels: u8,
}

impl Written {
    pub fn report(self, truncated: bool, source_codec: String) -> Report {
        Report {
            duration_ms: self.samples * 1000 / u64::from(self.sample_rate),
            samples: self.samples,
            sample_rate: self.sample_rate,
            channels: self.channels,
            bytes: self.bytes,
            truncated,
            source_codec,
        }
    }
}

impl<'s> Feed<'s> {
    pub fn new(sink: &'s mut dyn Mp3Sink, preset: Preset) -> Feed<'s> {
        Feed { sink: Some(sink), out: None, preset, decoded: 0, skip: 0, remaining: None }
    }

    /// Takes `frames` frames of `planes`. Returns false once the container's length is reached
    /// and no more audio is wanted.
    pub fn push(
        &mut self,
        planes: &[Vec<f32>],
        frames: usize,
        rate: u32,
        channels: &Channels,
        start: impl FnOnce(u32) -> Result<Start, MediaError>,
    ) -> Result<bool, MediaError> {
        if frames == 0 || planes.is_empty() {
            return Ok(true);
        }
        if self.out.is_none() {
            let Some(sink) = self.sink.take() else { return Ok(false) };
            let mixer = Mixer::new(channels, planes.len());
            let Start { id3, skip, limit } = start(rate)?;
            sink.write_all(&id3)?;
            let output = Output::new(sink, id3.len() as u64, rate, mixer.out_channels(), self.preset)?;
            self.skip = skip;
            self.remaining = limit;
            self.out = Some((output, mixer));
        }
        let Some((output, mixer)) = self.out.as_mut() else { return Ok(false) };
        self.decoded += frames as u64;
        let start = self.skip.min(frames as u64);
        self.skip -= start;
        let mut n = frames as u64 - start;
        if let Some(rem) = self.remaining.as_mut() {
            n = n.min(*rem);
            *rem -= n;
        }
        if n > 0 {
            mixer.mix_into(planes, start as usize, n as usize, &mut output.pending);
            output.maybe_flush()?;
        }
        Ok(self.remaining != Some(0))
    }

    /// Flushes everything; fails with `CorruptInput` if no audio at all came through.
    pub fn finish(self) -> Result<Written, MediaError> {
        let Some((output, mixer)) = self.out else {
            return Err(MediaError::CorruptInput("no audio could be decoded".into()));
        };
        let (bytes, samples, sample_rate) = output.finish()?;
        if samples == 0 {
            return Err(MediaError::CorruptInput("the audio track is empty".into()));
        }
        Ok(Written { bytes, samples, sample_rate, channels: mixer.out_channels() as u8 })
    }
}
