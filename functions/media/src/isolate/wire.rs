//! The messages between a conversion's parent and its worker process: `[tag: u8][len: u32 LE]
//! [payload]`, over the worker's stdin (parent → worker) and stdout (worker → parent).

use std::io::{self, Read, Write};
use std::time::Duration;

use crate::{MediaError, Options, Preset, Report};

/// Nothing either side sends is larger (reads are asked for in smaller pieces).
pub const MAX_PAYLOAD: usize = 4 << 20;

pub mod tag {
    /// Parent → worker: the options and the source's shape; starts the conversion.
    pub const START: u8 = b'S';
    /// Parent → worker: the bytes a `READ` asked for (fewer at the end of the source).
    pub const DATA: u8 = b'D';
    /// Worker → parent: `offset: u64, len: u32`.
    pub const READ: u8 = b'R';
    /// Worker → parent: MP3 bytes to append.
    pub const WRITE: u8 = b'W';
    /// Worker → parent: `offset: u64` then bytes to write over what was written there.
    pub const OVERWRITE: u8 = b'O';
    /// Worker → parent: `progress: f32`.
    pub const PROGRESS: u8 = b'P';
    /// Worker → parent: the report; the conversion succeeded.
    pub const DONE: u8 = b'K';
    /// Worker → parent: the error; the conversion failed.
    pub const ERROR: u8 = b'E';
}

pub fn write_message(w: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too large"))?;
    w.write_all(&[tag])?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)
}

/// The next message; `None` at a clean end of the stream.
pub fn read_message(r: &mut impl Read, payload: &mut Vec<u8>) -> io::Result<Option<u8>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "message too large"));
    }
    payload.clear();
    payload.resize(len, 0);
    r.read_exact(payload)?;
    Ok(Some(head[0]))
}

/// Appends and takes apart the fields of a payload.
#[derive(Default)]
pub struct Fields(pub Vec<u8>);

impl Fields {
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn str(mut self, s: &str) -> Self {
        self = self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
}

pub struct Cursor<'a>(pub &'a [u8]);

fn bad() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "malformed message")
}

impl Cursor<'_> {
    pub fn u64(&mut self) -> io::Result<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>().ok_or_else(bad)?;
        self.0 = rest;
        Ok(u64::from_le_bytes(*head))
    }

    pub fn str(&mut self) -> io::Result<String> {
        let len = usize::try_from(self.u64()?).map_err(|_| bad())?;
        if len > self.0.len() {
            return Err(bad());
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(s.to_vec()).map_err(|_| bad())
    }
}

/// What the worker needs to start.
pub struct Start {
    pub options: Options,
    pub byte_len: Option<u64>,
    pub seekable: bool,
    pub memory_bytes: u64,
}

impl Start {
    pub fn encode(&self) -> Vec<u8> {
        let o = &self.options;
        Fields::default()
            .str(&o.preset.to_string())
            .str(o.extension.as_deref().unwrap_or(""))
            .str(&o.fallback_title)
            .u64(o.max_duration.map_or(u64::MAX, |d| d.as_millis().min(u128::from(u64::MAX - 1)) as u64))
            .u64(self.byte_len.unwrap_or(u64::MAX))
            .u64(u64::from(self.seekable))
            .u64(self.memory_bytes)
            .u64(o.encode_threads as u64)
            .0
    }

    pub fn decode(payload: &[u8]) -> io::Result<Start> {
        let mut c = Cursor(payload);
        let preset: Preset = c.str()?.parse().map_err(|_| bad())?;
        let extension = Some(c.str()?).filter(|e| !e.is_empty());
        let fallback_title = c.str()?;
        let max_duration = Some(c.u64()?).filter(|m| *m != u64::MAX).map(Duration::from_millis);
        let byte_len = Some(c.u64()?).filter(|l| *l != u64::MAX);
        let seekable = c.u64()? != 0;
        let memory_bytes = c.u64()?;
        let encode_threads = usize::try_from(c.u64()?).map_err(|_| bad())?;
        Ok(Start { options: Options { preset, extension, fallback_title, max_duration, encode_threads }, byte_len, seekable, memory_bytes })
    }
}

pub fn encode_report(r: &Report) -> Vec<u8> {
    Fields::default()
        .u64(r.duration_ms)
        .u64(r.samples)
        .u64(u64::from(r.sample_rate))
        .u64(u64::from(r.channels))
        .u64(r.bytes)
        .u64(u64::from(r.truncated))
        .str(&r.source_codec)
        .u64(r.peak_memory_bytes.unwrap_or(0))
        .0
}

pub fn decode_report(payload: &[u8]) -> io::Result<Report> {
    let mut c = Cursor(payload);
    Ok(Report {
        duration_ms: c.u64()?,
        samples: c.u64()?,
        sample_rate: u32::try_from(c.u64()?).map_err(|_| bad())?,
        channels: u8::try_from(c.u64()?).map_err(|_| bad())?,
        bytes: c.u64()?,
        truncated: c.u64()? != 0,
        source_codec: c.str()?,
        peak_memory_bytes: Some(c.u64()?).filter(|m| *m > 0),
    })
}

/// An error as the worker reports it: its code, one number and one text, enough to rebuild it.
pub fn encode_error(e: &MediaError) -> Vec<u8> {
    let (number, text) = match e {
        MediaError::UnsupportedCodec { codec } | MediaError::UnsupportedFormat { format: codec } => (0, codec.clone()),
        MediaError::UnsupportedSampleRate { rate } => (*rate, String::new()),
        MediaError::TooManyChannels { channels } => (*channels, String::new()),
        MediaError::TooLong { limit_secs } => (*limit_secs, String::new()),
        MediaError::MemoryLimit { limit_mib } => (*limit_mib, String::new()),
        MediaError::TimedOut { budget_secs } => (*budget_secs, String::new()),
        MediaError::CorruptInput(s) | MediaError::Encoder(s) | MediaError::BadPreset(s) | MediaError::Crashed(s) => (0, s.clone()),
        MediaError::Io(e) => (0, e.to_string()),
        MediaError::NoAudioTrack | MediaError::Cancelled => (0, String::new()),
    };
    Fields::default().str(e.code()).u64(number).str(&text).0
}

pub fn decode_error(payload: &[u8]) -> io::Result<MediaError> {
    let mut c = Cursor(payload);
    let (code, number, text) = (c.str()?, c.u64()?, c.str()?);
    Ok(match code.as_str() {
        "no_audio_track" => MediaError::NoAudioTrack,
        "unsupported_codec" => MediaError::UnsupportedCodec { codec: text },
        "unsupported_format" => MediaError::UnsupportedFormat { format: text },
        "unsupported_sample_rate" => MediaError::UnsupportedSampleRate { rate: number },
        "too_many_channels" => MediaError::TooManyChannels { channels: number },
        "too_long" => MediaError::TooLong { limit_secs: number },
        "memory_limit" => MediaError::MemoryLimit { limit_mib: number },
        "conversion_timeout" => MediaError::TimedOut { budget_secs: number },
        "corrupt_input" => MediaError::CorruptInput(text),
        "cancelled" => MediaError::Cancelled,
        "io_error" => MediaError::Io(io::Error::other(text)),
        "bad_preset" => MediaError::BadPreset(text),
        "encoder_error" => MediaError::Encoder(text),
        _ => MediaError::Crashed(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_survives_the_trip_with_its_code_and_details() {
        let errors = [
            MediaError::NoAudioTrack,
            MediaError::UnsupportedCodec { codec: "wma".into() },
            MediaError::UnsupportedFormat { format: "NUT".into() },
            MediaError::UnsupportedSampleRate { rate: 4_294_967_291 },
            MediaError::TooManyChannels { channels: 64 },
            MediaError::TooLong { limit_secs: 86_400 },
            MediaError::MemoryLimit { limit_mib: 64 },
            MediaError::TimedOut { budget_secs: 61 },
            MediaError::CorruptInput("cut".into()),
            MediaError::Crashed("boom".into()),
        ];
        for e in errors {
            let back = decode_error(&encode_error(&e)).unwrap();
            assert_eq!((back.code(), back.to_string()), (e.code(), e.to_string()));
        }
    }

    #[test]
    fn start_and_report_round_trip() {
        let start = Start {
            options: Options {
                preset: Preset::Cbr(128),
                extension: Some("mkv".into()),
                fallback_title: "t".into(),
                max_duration: None,
                encode_threads: 3,
            },
            byte_len: Some(42),
            seekable: true,
            memory_bytes: 64 << 20,
        };
        let back = Start::decode(&start.encode()).unwrap();
        assert_eq!(back.options.preset, Preset::Cbr(128));
        assert_eq!((back.options.extension.as_deref(), back.options.max_duration, back.byte_len), (Some("mkv"), None, Some(42)));
        assert_eq!(back.options.encode_threads, 3);
        let report = Report {
            duration_ms: 1,
            samples: 2,
            sample_rate: 44_100,
            channels: 2,
            bytes: 3,
            truncated: true,
            source_codec: "aac".into(),
            peak_memory_bytes: Some(9),
        };
        assert_eq!(decode_report(&encode_report(&report)).unwrap(), report);
    }

    #[test]
    fn an_oversized_message_is_refused_before_it_is_buffered() {
        let mut bytes = vec![tag::WRITE];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let mut payload = Vec::new();
        assert!(read_message(&mut &bytes[..], &mut payload).is_err());
        assert!(payload.capacity() < 1024);
    }
}
