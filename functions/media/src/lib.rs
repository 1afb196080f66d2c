//! The conversion engine: any common audio/video file to a correct, tagged MP3, streamed with
//! bounded memory.
//!
//! Layout, in pipeline order:
//! - [`convert`] drives `pipeline`: container probing with symphonia, track and decoder choice,
//!   the packet loop with progress, cancellation and per-packet error containment.
//! - `demux/`: the containers we read ourselves, where symphonia has no demuxer or mishandles
//!   one (one file per format), and how the source is presented to symphonia's demuxers.
//! - `decode/`: the packet decoders (symphonia's, plus Opus via `opus-rs`) and the choice of
//!   track and decoder (`decode::choose`).
//! - `feed` takes decoded planar PCM, trims it and hands it to `mix` (down-mix to mono/stereo)
//!   and `encode/` (optional resampling to an MP3 rate, LAME on a thread of its own, the ID3
//!   tag, the final LAME/Xing frame written back through [`Mp3Sink::overwrite`]).
//! - `limits`: what is refused before anything is sized by the input (rates, channels, length).
//! - [`isolate`]: a conversion in a worker process of its own, under a memory limit and a time
//!   budget, so no input can take the caller down.

mod decode;
mod demux;
mod encode;
pub use encode::default_threads as default_encode_threads;
pub use encode::parallel::{NEAR_FRAMES as PARALLEL_NEAR_FRAMES, SEGMENT_FRAMES as PARALLEL_SEGMENT_FRAMES};
mod error;
mod feed;
#[doc(hidden)]
pub mod fuzzing;
pub mod isolate;
mod limits;
pub mod mix;
mod pipeline;
mod preset;

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

pub use encode::lame::{MP3_RATES, nearest_mp3_rate};
pub use error::MediaError;
pub use limits::{DEFAULT_MAX_DURATION, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
pub use preset::{CBR_BITRATES, Preset};
pub use symphonia::core::io::MediaSource;

/// Where the MP3 goes: a byte stream that can also patch bytes already written.
pub trait Mp3Sink: Write + Send {
    /// Overwrite bytes already written, at `offset` from the start of the output (used once, after
    /// the last frame, to replace LAME's placeholder Xing/LAME tag frame). Must leave the write
    /// position at the end.
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()>;
}

impl Mp3Sink for File {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let end = self.stream_position()?;
        self.seek(SeekFrom::Start(offset))?;
        self.write_all(bytes)?;
        self.seek(SeekFrom::Start(end))?;
        Ok(())
    }
}

impl<W: Mp3Sink + ?Sized> Mp3Sink for &mut W {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        (**self).overwrite(offset, bytes)
    }
}

impl<W: Mp3Sink> Mp3Sink for std::io::BufWriter<W> {
    fn overwrite(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.flush()?;
        self.get_mut().overwrite(offset, bytes)
    }
}

/// What to produce.
#[derive(Debug, Clone)]
pub struct Options {
    pub preset: Preset,
    /// File extension hint of the source (e.g. "mp4"), helps probing.
    pub extension: Option<String>,
    /// Title used when the source has no title tag (callers pass the file stem).
    pub fallback_title: String,
    /// The longest MP3 to produce ([`MediaError::TooLong`] past it); `None`: no cap.
    pub max_duration: Option<std::time::Duration>,
    /// LAME instances encoding the one stream at once (1: one, on a thread of its own;
    /// 0: [`default_encode_threads`]).
    pub encode_threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            preset: Preset::default(),
            extension: None,
            fallback_title: String::new(),
            max_duration: Some(DEFAULT_MAX_DURATION),
            encode_threads: 0,
        }
    }
}

/// What was produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Of the audio written.
    pub duration_ms: u64,
    /// Per channel, at the output sample rate.
    pub samples: u64,
    /// Output rate.
    pub sample_rate: u32,
    /// Output channels (1 or 2).
    pub channels: u8,
    /// Total MP3 bytes written (ID3 tag included).
    pub bytes: u64,
    /// The input ended early and only the readable part was converted.
    pub truncated: bool,
    /// e.g. "aac".
    pub source_codec: String,
    /// Peak resident memory of the process that converted (known for [`isolate`]d conversions).
    pub peak_memory_bytes: Option<u64>,
}

/// Streams `source` to MP3 in `sink`. Blocking and CPU-bound (callers run it in `spawn_blocking`).
///
/// `progress` is called with 0.0..=1.0 now and then (at most ~100 times); `cancel` is polled
/// between packets and aborts with [`MediaError::Cancelled`]. On error the sink holds a partial
/// file that the caller discards.
pub fn convert(
    source: Box<dyn MediaSource>,
    sink: &mut dyn Mp3Sink,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<Report, MediaError> {
    pipeline::run(source, sink, options, progress, cancel)
}

/// File to file, for the CLI: writes `output` via a temporary file in the same directory and a
/// rename, so a failed conversion leaves no half file; the file's mode follows the umask. In a
/// worker process when `sandbox` is given (see [`isolate`]), in this one otherwise.
pub fn convert_file(input: &Path, output: &Path, options: &Options, sandbox: Option<&isolate::Sandbox>) -> Result<Report, MediaError> {
    convert_file_with_progress(input, output, options, sandbox, &mut |_| {})
}

/// [`convert_file`], calling `progress` as [`convert`] does.
pub fn convert_file_with_progress(
    input: &Path,
    output: &Path,
    options: &Options,
    sandbox: Option<&isolate::Sandbox>,
    progress: &mut dyn FnMut(f32),
) -> Result<Report, MediaError> {
    let source = File::open(input)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    // The MP3 gets the mode any tool's new file gets (0666 less the umask), not a temporary
    // file's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.prefix(".mp3convert-").suffix(".part").tempfile_in(dir)?;
    let report = {
        let mut sink = std::io::BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        let cancel = &AtomicBool::new(false);
        let report = match sandbox {
            Some(sandbox) => isolate::convert(sandbox, Box::new(source), &mut sink, options, progress, cancel)?,
            None => convert(Box::new(source), &mut sink, options, progress, cancel)?,
        };
        sink.flush()?;
        report
    };
    tmp.as_file().sync_all()?;
    tmp.persist(output).map_err(|e| MediaError::Io(e.error))?;
    Ok(report)
}

impl Options {
    /// The options for converting the file at `path`: its extension as the probing hint, its
    /// stem as the fallback title.
    pub fn for_path(path: &Path, preset: Preset) -> Options {
        Options {
            preset,
            extension: path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()),
            fallback_title: path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            ..Options::default()
        }
    }
}
