//! The engine's error type: one variant per outcome a caller can act on.

/// Why a conversion failed. [`MediaError::code`] gives the stable snake_case code used by the API
/// and the CLI.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the file has no audio track")]
    NoAudioTrack,
    #[error("unsupported audio codec: {codec}")]
    UnsupportedCodec { codec: String },
    /// Includes "not a media file at all" (random bytes) and containers without an index.
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
            MediaError::CorruptInput(_) => "corrupt_input",
            MediaError::Cancelled => "cancelled",
            MediaError::Io(_) => "io_error",
            MediaError::Encoder(_) => "encoder_error",
            MediaError::BadPreset(_) => "bad_preset",
        }
    }
}
