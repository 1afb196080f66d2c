//! A minimal AVI (RIFF `AVI `, with OpenDML `AVIX` extensions) reader for its PCM audio stream,
//! which symphonia has no demuxer for. Compressed audio in AVI is reported as unsupported by name.

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use symphonia::core::audio::{Channels, Position};
use symphonia::core::io::MediaSource;

use crate::demux::bytes;
use crate::demux::pcm::{SampleKind, deinterleave};
use crate::encode::tags::SourceTags;
use crate::feed::{Feed, Pushed, Start};
use crate::{MediaError, Mp3Sink, Options, Report};

/// Whether the first 12 bytes are an AVI RIFF header. Leaves the position at 0.
pub fn looks_like_avi<R: Read + Seek>(r: &mut R) -> io::Result<bool> {
    let mut h = [0u8; 12];
    let ok = r.read_exact(&mut h).is_ok() && &h[0..4] == b"RIFF" && &h[8..12] == b"AVI ";
    r.seek(SeekFrom::Start(0))?;
    Ok(ok)
}

#[derive(Debug)]
struct AudioStream {
    /// Chunk id prefix, e.g. `01` for the second stream.
    index: [u8; 2],
    kind: SampleKind,
    channels: usize,
    rate: u32,
    layout: Channels,
}

const MAX_HEADER_CHUNKS: u32 = 4096;

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_fourcc(r: &mut impl Read) -> io::Result<[u8; 4]> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn le16(b: &[u8], at: usize) -> u16 {
    bytes::le16(b, at).unwrap_or(0)
}

fn le32(b: &[u8], at: usize) -> u32 {
    bytes::le32(b, at).unwrap_or(0)
}

/// Where the chunk at `pos` with `size` bytes of payload ends, padding byte included.
fn chunk_end(pos: u64, size: u32) -> u64 {
    pos.saturating_add(8).saturating_add(u64::from(size)).saturating_add(u64::from(size & 1))
}

fn format_name(tag: u16) -> String {
    match tag {
        0x0055 => "mp3".into(),
        0x0050 => "mp2".into(),
        0x2000 => "ac3".into(),
        0x2001 => "dts".into(),
        0x00ff | 0x1600 | 0x706d => "aac".into(),
        0x0161..=0x0163 => "wma".into(),
        0x0002 | 0x0011 => "adpcm".into(),
        0x0006 => "pcm_alaw".into(),
        0x0007 => "pcm_mulaw".into(),
        0x566f => "vorbis".into(),
        0xf1ac => "flac".into(),
        other => format!("avi audio format 0x{other:04x}"),
    }
}

/// Parses `strf` (WAVEFORMATEX / WAVEFORMATEXTENSIBLE).
fn parse_strf(index: [u8; 2], f: &[u8]) -> Result<AudioStream, MediaError> {
    let mut tag = le16(f, 0);
    let channels = usize::from(le16(f, 2));
    let rate = le32(f, 4);
    let bits = le16(f, 14);
    let mut layout = Channels::Discrete(channels as u16);
    if tag == 0xfffe && f.len() >= 40 {
        if let Some(p) = Position::from_wave_channel_mask(le32(f, 20)).filter(|p| p.bits().count_ones() as usize == channels) {
            layout = Channels::Positioned(p);
        }
        tag = le16(f, 24);
    }
    let kind = match (tag, bits) {
        (1, 8) => SampleKind::U8,
        (1, 16) => SampleKind::I16,
        (1, 24) => SampleKind::I24,
        (1, 32) => SampleKind::I32,
        (3, 32) => SampleKind::F32,
        (3, 64) => SampleKind::F64,
        (1 | 3, _) => return Err(MediaError::UnsupportedCodec { codec: format!("pcm ({bits} bit)") }),
        (other, _) => return Err(MediaError::UnsupportedCodec { codec: format_name(other) }),
    };
    if channels == 0 || rate == 0 {
        return Err(MediaError::CorruptInput("AVI audio stream without channels or rate".into()));
    }
    crate::limits::check_format(u64::from(rate), channels as u64)?;
    Ok(AudioStream { index, kind, channels, rate, layout })
}

/// Walks `hdrl` for the first audio stream; returns it and leaves the reader after `hdrl`.
fn read_headers<R: Read + Seek>(r: &mut R) -> Result<Option<AudioStream>, MediaError> {
    r.seek(SeekFrom::Start(12))?;
    let id = read_fourcc(r)?;
    let size = read_u32(r)?;
    let kind = read_fourcc(r)?;
    if &id != b"LIST" || &kind != b"hdrl" {
        return Err(MediaError::CorruptInput("AVI without a header list".into()));
    }
    // The list runs from offset 12 (its own header included): 8 bytes of header + `size`.
    let end = chunk_end(12, size);
    let mut pos = 24u64;
    let mut stream = 0u8;
    let mut found = None;
    // A real header list holds a few stream lists of a few chunks each.
    let mut chunks = 0u32;
    let mut count = || {
        chunks = chunks.saturating_add(1);
        if chunks > MAX_HEADER_CHUNKS { Err(MediaError::CorruptInput("AVI header list with too many chunks".into())) } else { Ok(()) }
    };
    while pos.saturating_add(8) <= end {
        count()?;
        r.seek(SeekFrom::Start(pos))?;
        let id = read_fourcc(r)?;
        let size = read_u32(r)?;
        if &id == b"LIST" && &read_fourcc(r)? == b"strl" {
            let strl_end = chunk_end(pos, size);
            let (mut kind, mut strf) = (None, None);
            let mut p = pos.saturating_add(12);
            while p.saturating_add(8) <= strl_end {
                count()?;
                r.seek(SeekFrom::Start(p))?;
                let cid = read_fourcc(r)?;
                let csize = read_u32(r)?;
                // Only the two small chunks we parse are read, and at most 4 KiB of each.
                if matches!(&cid, b"strh" | b"strf") {
                    let mut data = vec![0u8; csize.min(4096) as usize];
                    r.read_exact(&mut data)?;
                    match &cid {
                        b"strh" => kind = data.get(0..4).map(|k| [k[0], k[1], k[2], k[3]]),
                        _ => strf = Some(data),
                    }
                }
                p = chunk_end(p, csize);
            }
            if found.is_none()
                && kind == Some(*b"auds")
                && let Some(f) = strf
            {
                found = Some(parse_strf(stream_index(stream), &f)?);
            }
            stream = stream.saturating_add(1);
        }
        pos = chunk_end(pos, size);
    }
    r.seek(SeekFrom::Start(end.saturating_add(end & 1)))?;
    Ok(found)
}

/// The two-digit prefix of a stream's chunk ids (`01wb` for the second stream); streams past
/// the hundredth have no id of their own.
fn stream_index(stream: u8) -> [u8; 2] {
    const DIGITS: &[u8; 10] = b"0123456789";
    let n = usize::from(stream.min(99));
    [DIGITS[n / 10], DIGITS[n % 10]]
}

pub fn run(
    mut source: Box<dyn MediaSource>,
    sink: &mut dyn Mp3Sink,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &AtomicBool,
) -> Result<Report, MediaError> {
    let len = source.byte_len().unwrap_or(0);
    let audio = read_headers(&mut source).map_err(|e| match e {
        MediaError::Io(e) if e.kind() == ErrorKind::UnexpectedEof => MediaError::CorruptInput("truncated AVI header".into()),
        other => other,
    })?;
    let Some(audio) = audio else { return Err(MediaError::NoAudioTrack) };
    let mut r = BufReader::with_capacity(64 * 1024, source);
    let mut pos = r.stream_position()?;
    let mut feed = Feed::new(sink, options);
    let mut pcm = PcmChunks::new(audio);
    let mut last_progress = 0.0f32;
    progress(0.0);
    let truncated = loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(MediaError::Cancelled);
        }
        let header = read_fourcc(&mut r).and_then(|id| Ok((id, read_u32(&mut r)?)));
        let (id, size) = match header {
            Ok(h) => h,
            // A clean end falls exactly on a chunk boundary.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break len > 0 && pos.saturating_add(8) <= len,
            Err(e) => return Err(e.into()),
        };
        pos = pos.saturating_add(8);
        // Descend into RIFF AVIX, LIST movi and LIST rec; skip every other list and chunk.
        if &id == b"RIFF" || &id == b"LIST" {
            let mut kind = [0u8; 4];
            r.read_exact(&mut kind)?;
            pos = pos.saturating_add(4);
            if !matches!(&kind, b"movi" | b"rec " | b"AVIX") {
                let skip = u64::from(size).saturating_sub(4).saturating_add(u64::from(size & 1));
                r.seek_relative(skip as i64)?;
                pos = pos.saturating_add(skip);
            }
            continue;
        }
        let padded = u64::from(size).saturating_add(u64::from(size & 1));
        if id[0..2] != pcm.stream.index || &id[2..4] != b"wb" {
            r.seek_relative(padded as i64)?;
            pos = pos.saturating_add(padded);
            continue;
        }
        match pcm.read_chunk(&mut r, padded, size, &mut feed, options)? {
            ChunkEnd::More => {}
            ChunkEnd::Cut => break true,
            ChunkEnd::Stop(format_changed) => break format_changed,
        }
        pos = pos.saturating_add(padded);
        if len > 0 {
            let p = (pos as f64 / len as f64).min(1.0) as f32;
            if p >= last_progress + 0.01 {
                last_progress = p;
                progress(p);
            }
        }
    };
    let written = feed.finish()?;
    progress(1.0);
    Ok(written.report(truncated, "pcm".into()))
}

/// Bytes of an audio chunk read and converted at a time: chunks may be any size, memory not.
const READ_BLOCK: usize = 64 * 1024;

enum ChunkEnd {
    More,
    /// The file ends inside the chunk.
    Cut,
    /// No more audio is wanted (true: the stream changed format).
    Stop(bool),
}

/// The audio stream's chunks, read in bounded blocks; a frame split across chunks is carried over.
struct PcmChunks {
    stream: AudioStream,
    buf: Vec<u8>,
    planes: Vec<Vec<f32>>,
}

impl PcmChunks {
    fn new(stream: AudioStream) -> PcmChunks {
        let planes = vec![Vec::new(); stream.channels];
        PcmChunks { stream, buf: Vec::with_capacity(READ_BLOCK * 2), planes }
    }

    fn read_chunk(
        &mut self,
        r: &mut impl Read,
        padded: u64,
        size: u32,
        feed: &mut Feed<'_>,
        options: &Options,
    ) -> Result<ChunkEnd, MediaError> {
        // At most 8 bytes × 32 channels (the format was checked).
        let frame_bytes = self.stream.kind.width().saturating_mul(self.stream.channels).max(1);
        let mut left = u64::from(size);
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(READ_BLOCK).min(READ_BLOCK);
            let have = self.buf.len();
            self.buf.resize(have.saturating_add(want), 0);
            match r.read_exact(&mut self.buf[have..]) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(ChunkEnd::Cut),
                Err(e) => return Err(e.into()),
            }
            left = left.saturating_sub(want as u64);
            let whole = self.buf.len().saturating_sub(self.buf.len().checked_rem(frame_bytes).unwrap_or(0));
            let frames = deinterleave(&self.buf[..whole], self.stream.kind, false, self.stream.channels, &mut self.planes);
            self.buf.drain(..whole);
            let pushed = feed.push(&self.planes, frames, self.stream.rate, &self.stream.layout, |_| {
                let id3 =
                    SourceTags::default().to_id3(&options.fallback_title).map_err(|e| MediaError::Encoder(format!("id3 tag: {e}")))?;
                Ok(Start { id3, skip: 0, limit: None })
            })?;
            if pushed != Pushed::More {
                return Ok(ChunkEnd::Stop(pushed == Pushed::FormatChanged));
            }
        }
        if padded > u64::from(size) {
            let mut pad = [0u8; 1];
            let _ = r.read(&mut pad)?;
        }
        Ok(ChunkEnd::More)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compressed_formats() {
        let mut f = vec![0u8; 16];
        f[0..2].copy_from_slice(&0x55u16.to_le_bytes());
        f[2] = 2;
        f[4..8].copy_from_slice(&44100u32.to_le_bytes());
        match parse_strf(*b"01", &f) {
            Err(MediaError::UnsupportedCodec { codec }) => assert_eq!(codec, "mp3"),
            other => panic!("{other:?}"),
        }
    }
}
