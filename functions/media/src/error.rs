//! The engine's error type: one variant per outcome a caller can act on.

/// Why a conversion failed. [`MediaError::code`] gives the stable snake_case code used by the API
/// and the CLI.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file has no audio track")]
    NoAudioTrack,
    #[error("unsupported audio codec: {codec}")]
    UnsupportedCodec { codec: String },
    /// A file we recognise (the format names it) in a container the engine does not read.
    #[error("unsupported file format: the file looks like {format}, which the converter does not read")]
    UnsupportedFormat { format: String },
    /// A sample rate outside [`MIN_SAMPLE_RATE`](crate::MIN_SAMPLE_RATE) to
    /// [`MAX_SAMPLE_RATE`](crate::MAX_SAMPLE_RATE).
    #[error("unsupported sample rate: {rate} Hz (the limits are 1 kHz to 768 kHz)")]
    UnsupportedSampleRate { rate: u64 },
    #[error("too many channels: {channels} (the limit is 32)")]
    TooManyChannels { channels: u64 },
    /// The MP3 would be longer than the caller's cap ([`Options::max_duration`](crate::Options)).
    #[error("the audio is longer than the limit of {limit_secs} s")]
    TooLong { limit_secs: u64 },
    /// The conversion needed more memory than its process may use (see `isolate`).
    #[error("the conversion needed more than {limit_mib} MiB of memory")]
    MemoryLimit { limit_mib: u64 },
    /// The conversion took longer than its time budget, or stalled (see `isolate`).
    #[error("the conversion took longer than its time budget of {budget_secs} s")]
    TimedOut { budget_secs: u64 },
    /// The conversion's process died (see `isolate`): a bug this input triggers.
    #[error("the converter crashed on this input: {0}")]
    Crashed(String),
    /// Damaged data: bytes no reader recognises, containers without an index, audio of which
    /// nothing decodes.
    #[error("corrupt input: {0}")]
    CorruptInput(String),
    #[error("conversion cancelled")]
    Cancelled,
    /// Reading the source or writing the sink failed; worth retrying.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    #[error("encoder error: {0}")]
    Encoder(String),
    /// A preset string that is not `v0`..`v9` or `cbr<standard kbps>`.
    #[error("unknown preset {0:?}: expected v0..v9 or cbr32..cbr320")]
    BadPreset(String),
}

impl MediaError {
    /// The stable error code (contract §2).
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::NoAudioTrack => "no_audio_track",
            MediaError::UnsupportedCodec { .. } => "unsupported_codec",
            MediaError::UnsupportedFormat { .. } => "unsupported_format",
            MediaError::UnsupportedSampleRate { .. } => "unsupported_sample_rate",
            MediaError::TooManyChannels { .. } => "too_many_channels",
            MediaError::TooLong { .. } => "too_long",
            MediaError::MemoryLimit { .. } => "memory_limit",
            MediaError::TimedOut { .. } => "conversion_timeout",
            MediaError::Crashed(_) => "converter_crashed",
            MediaError::CorruptInput(_) => "corrupt_input",
            MediaError::Cancelled => "cancelled",
            MediaError::Io(_) => "io_error",
            MediaError::Encoder(_) => "encoder_error",
            MediaError::BadPreset(_) => "bad_preset",
        }
    }
}
