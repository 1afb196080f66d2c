//! Decoded PCM in, MP3 out: on the first audio it writes the ID3 tag and sets up the mixer and
//! output stage; it applies the container's trim (encoder priming, real length) and builds the
//! report. It also enforces the format limits on what decoders hand out and the cap on the
//! MP3's length. Shared by the symphonia pipeline and the MOV PCM reader.

use std::time::Duration;

use symphonia::core::audio::Channels;

use crate::encode::Output;
use crate::limits::{check_format, max_frames};
use crate::mix::Mixer;
use crate::{MediaError, Mp3Sink, Options, Preset, Report};

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
    encode_threads: usize,
    max_duration: Option<Duration>,
    /// Rate and number of planes of the first block; every later block must match.
    format: Option<(u32, usize)>,
    /// Frames decoded so far (before trimming).
    pub decoded: u64,
    /// Frames that may still be written before the MP3 is too long.
    allowance: Option<u64>,
    skip: u64,
    remaining: Option<u64>,
    /// The down-mix is normalised, as ffmpeg's for codecs that decode to integers.
    normalise: bool,
}

/// What [`Feed::push`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Give it more.
    More,
    /// The container's length is reached: no more audio is wanted.
    Done,
    /// The stream changed its rate or channel count: the audio so far is all it gets.
    FormatChanged,
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
            peak_memory_bytes: None,
        }
    }
}

impl<'s> Feed<'s> {
    pub fn new(sink: &'s mut dyn Mp3Sink, options: &Options) -> Feed<'s> {
        Feed {
            sink: Some(sink),
            out: None,
            preset: options.preset,
            encode_threads: if options.encode_threads == 0 { crate::encode::default_threads() } else { options.encode_threads },
            max_duration: options.max_duration,
            format: None,
            decoded: 0,
            allowance: None,
            skip: 0,
            remaining: None,
            normalise: false,
        }
    }

    /// Whether the down-mix is normalised (see `mix::normalises`); before the first push.
    pub fn normalise_downmix(&mut self, normalise: bool) {
        self.normalise = normalise;
    }

    /// Takes `frames` frames of `planes`. Fails on a format outside the limits and once the MP3
    /// would be longer than the cap.
    pub fn push(
        &mut self,
        planes: &[Vec<f32>],
        frames: usize,
        rate: u32,
        channels: &Channels,
        start: impl FnOnce(u32) -> Result<Start, MediaError>,
    ) -> Result<Pushed, MediaError> {
        if frames == 0 || planes.is_empty() {
            return Ok(Pushed::More);
        }
        if planes.iter().any(|p| p.len() < frames) {
            return Err(MediaError::CorruptInput("a decoder returned fewer samples than it reported".into()));
        }
        match self.format {
            Some(format) if format != (rate, planes.len()) => return Ok(Pushed::FormatChanged),
            Some(_) => {}
            None => {
                check_format(u64::from(rate), planes.len() as u64)?;
                self.format = Some((rate, planes.len()));
                self.allowance = max_frames(self.max_duration, rate);
            }
        }
        if self.out.is_none() {
            let Some(sink) = self.sink.take() else { return Ok(Pushed::Done) };
            let mixer = Mixer::new(channels, planes.len(), rate, self.normalise);
            let Start { id3, skip, limit } = start(rate)?;
            sink.write_all(&id3)?;
            let output = Output::new(sink, id3.len() as u64, rate, mixer.out_channels(), self.preset, self.encode_threads)?;
            self.skip = skip;
            self.remaining = limit;
            self.out = Some((output, mixer));
        }
        let Some((output, mixer)) = self.out.as_mut() else { return Ok(Pushed::Done) };
        self.decoded = self.decoded.saturating_add(frames as u64);
        let start = self.skip.min(frames as u64);
        self.skip -= start;
        let mut n = frames as u64 - start;
        if let Some(rem) = self.remaining.as_mut() {
            n = n.min(*rem);
            *rem -= n;
        }
        if let Some(allowance) = self.allowance.as_mut() {
            if n > *allowance {
                let limit_secs = self.max_duration.map_or(0, |d| d.as_secs());
                return Err(MediaError::TooLong { limit_secs });
            }
            *allowance -= n;
        }
        if n > 0 {
            mixer.mix_into(planes, start as usize, n as usize, &mut output.pending);
            output.maybe_flush()?;
        }
        Ok(if self.remaining == Some(0) { Pushed::Done } else { Pushed::More })
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
