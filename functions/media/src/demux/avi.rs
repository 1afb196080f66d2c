//! AVI (RIFF `AVI `, with OpenDML `AVIX` extensions): a symphonia `FormatReader` for its audio
//! streams, which symphonia has no demuxer for. The `movi` chunks are walked front to back;
//! video and other chunks are skipped unread, audio chunks are read in bounded pieces and cut
//! into codec packets (see `codec`), so memory does not grow with chunk or file size.

#![deny(clippy::arithmetic_side_effects)]

mod header;

use std::io;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::{Error, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::prelude::*;
use symphonia::core::formats::probe::{ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::formats::well_known::FORMAT_ID_AVI;
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::{Metadata, MetadataLog};

use crate::demux::bytes::{le32, read_up_to};
use crate::demux::packets::Packetizer;

const INFO: FormatInfo = FormatInfo { format: FORMAT_ID_AVI, short_name: "avi", long_name: "Audio Video Interleave" };

/// Bytes of an audio chunk read at a time.
const PIECE: usize = 64 * 1024;

struct Audio {
    /// Chunk id prefix: the stream number in two digits.
    prefix: [u8; 2],
    track_id: u32,
    packets: Packetizer,
    next_pts: u64,
}

/// The audio chunk being read.
struct Current {
    audio: usize,
    left: u64,
    pad: bool,
}

pub struct AviReader<'s> {
    reader: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    audio: Vec<Audio>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    current: Option<Current>,
    /// The file ended: cut short inside a chunk (`true`) or cleanly.
    ended: Option<bool>,
    piece: Vec<u8>,
}

impl Scoreable for AviReader<'_> {
    fn score(mut src: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut h = [0u8; 12];
        src.read_buf_exact(&mut h)?;
        Ok(if &h[0..4] == b"RIFF" && &h[8..12] == b"AVI " { Score::Supported(255) } else { Score::Unsupported })
    }
}

impl ProbeableFormat<'_> for AviReader<'_> {
    fn try_probe_new(mss: MediaSourceStream<'_>, _opts: FormatOptions) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(AviReader::try_new(mss)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        const DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec { extensions: &["avi"], mime_types: &["video/x-msvideo", "video/avi"], markers: &[b"RIFF"] },
            info: INFO,
        }];
        &DATA
    }
}

impl<'s> AviReader<'s> {
    pub fn try_new(mut reader: MediaSourceStream<'s>) -> Result<AviReader<'s>> {
        let mut h = [0u8; 12];
        reader.read_buf_exact(&mut h)?;
        if &h[0..4] != b"RIFF" || &h[8..12] != b"AVI " {
            return Err(Error::DecodeError("avi: not an AVI file"));
        }
        let (mut tracks, mut audio) = (Vec::new(), Vec::new());
        for stream in header::read(&mut reader)?.iter().filter(|s| s.is_audio()) {
            let Some((params, packets)) = crate::demux::wave_format::parse(&stream.strf) else { continue };
            let rate = params.sample_rate.unwrap_or(0);
            let mut track = Track::new(stream.number);
            track.with_codec_params(CodecParameters::Audio(params));
            if let Some(frames) = length(&stream.strh, rate) {
                track.with_duration(Duration::from(frames));
            }
            tracks.push(track);
            audio.push(Audio { prefix: prefix(stream.number), track_id: stream.number, packets, next_pts: 0 });
        }
        let media_info = tracks.first().map(MediaInfo::from_track).unwrap_or_default();
        Ok(AviReader { reader, tracks, audio, media_info, metadata: MetadataLog::default(), current: None, ended: None, piece: Vec::new() })
    }

    /// Reads the next piece of the current audio chunk, or walks to the next audio chunk.
    fn advance(&mut self) -> Result<()> {
        if let Some(cur) = self.current.as_mut() {
            let want = usize::try_from(cur.left).unwrap_or(PIECE).min(PIECE);
            self.piece.resize(want, 0);
            let got = read_up_to(&mut self.reader, &mut self.piece)?;
            cur.left = cur.left.saturating_sub(got as u64);
            if let Some(a) = self.audio.get_mut(cur.audio) {
                a.packets.push(self.piece.get(..got).unwrap_or_default());
                if cur.left == 0 || got < want {
                    a.packets.end_chunk();
                }
            }
            if got < want {
                self.ended = Some(true);
            } else if cur.left == 0 {
                if cur.pad {
                    self.reader.ignore_bytes(1).or_else(|e| if e.kind() == io::ErrorKind::UnexpectedEof { Ok(()) } else { Err(e) })?;
                }
                self.current = None;
            }
            return Ok(());
        }
        let mut h = [0u8; 8];
        match read_up_to(&mut self.reader, &mut h)? {
            0 => {
                self.ended = Some(false);
                return Ok(());
            }
            8 => {}
            _ => {
                self.ended = Some(true);
                return Ok(());
            }
        }
        let (id, size) = ([h[0], h[1], h[2], h[3]], le32(&h, 4).unwrap_or(0));
        // Descend into RIFF AVIX, LIST movi and LIST rec; skip every other list and chunk.
        if &id == b"RIFF" || &id == b"LIST" {
            let mut kind = [0u8; 4];
            if read_up_to(&mut self.reader, &mut kind)? < 4 {
                self.ended = Some(true);
                return Ok(());
            }
            if !matches!(&kind, b"movi" | b"rec " | b"AVIX") {
                self.skip(u64::from(size).saturating_sub(4).saturating_add(u64::from(size & 1)))?;
            }
            return Ok(());
        }
        let audio = self.audio.iter().position(|a| id[0..2] == a.prefix && &id[2..4] == b"wb");
        match audio {
            Some(audio) => self.current = Some(Current { audio, left: u64::from(size), pad: size & 1 == 1 }),
            None => self.skip(u64::from(size).saturating_add(u64::from(size & 1)))?,
        }
        Ok(())
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        match self.reader.ignore_bytes(n) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.ended = Some(true),
            other => other?,
        }
        // A seekable source skips by seeking, which does not stop at the end of the file.
        if self.reader.byte_len().is_some_and(|len| self.reader.pos() > len) {
            self.ended = Some(true);
        }
        Ok(())
    }
}

/// The stream's length in frames at `rate`, from `strh` (dwLength in units of dwScale/dwRate s).
fn length(strh: &[u8], rate: u32) -> Option<u64> {
    let (scale, per_sec, len) = (le32(strh, 20)?, le32(strh, 24)?, le32(strh, 32)?);
    let frames = u128::from(len).saturating_mul(u128::from(scale)).saturating_mul(u128::from(rate)).checked_div(u128::from(per_sec))?;
    u64::try_from(frames).ok().filter(|f| *f > 0)
}

/// The two-digit prefix of a stream's chunk ids (`01wb` for the second stream); streams past
/// the hundredth have no id of their own.
fn prefix(stream: u32) -> [u8; 2] {
    const DIGITS: &[u8; 10] = b"0123456789";
    let n = usize::try_from(stream.min(99)).unwrap_or(99);
    [DIGITS[n / 10], DIGITS[n % 10]]
}

impl FormatReader for AviReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        &INFO
    }

    fn media_info(&self) -> &MediaInfo {
        &self.media_info
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, _to: SeekTo) -> Result<SeekedTo> {
        seek_error(SeekErrorKind::Unseekable)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        loop {
            let at_end = self.ended.is_some();
            for a in &mut self.audio {
                if let Some(packet) = a.packets.next_packet(a.track_id, &mut a.next_pts, at_end) {
                    return Ok(Some(packet));
                }
            }
            match self.ended {
                Some(true) => return Err(Error::IoError(io::ErrorKind::UnexpectedEof.into())),
                Some(false) => return Ok(None),
                None if self.audio.is_empty() => return Ok(None),
                None => self.advance()?,
            }
        }
    }

    fn into_inner<'s>(self: Box<Self>) -> MediaSourceStream<'s>
    where
        Self: 's,
    {
        self.reader
    }
}
