//! Flash Video (FLV): a symphonia `FormatReader` for its audio tags, which symphonia has no
//! demuxer for. Video and unknown tags are skipped without being read; audio tags become
//! packets (AAC frames, MPEG audio frames, PCM blocks), timed by their tags; the script tag's
//! `onMetaData` gives the duration.

#![deny(clippy::arithmetic_side_effects)]

mod audio;
mod meta;

use std::io;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::{Error, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::prelude::*;
use symphonia::core::formats::probe::{ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::formats::well_known::FORMAT_ID_FLV;
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::{Metadata, MetadataLog};

use crate::demux::bytes::read_up_to;
use crate::demux::packets::Packetizer;

const INFO: FormatInfo = FormatInfo { format: FORMAT_ID_FLV, short_name: "flv", long_name: "Flash Video" };

const AUDIO: u8 = 8;
const SCRIPT: u8 = 18;
/// Audio and script tags larger than this are skipped, not read (tag sizes are 24-bit: up
/// to 16 MiB; real audio tags hold well under 64 KiB).
const MAX_TAG: u32 = 1 << 20;
/// Tags read looking for the first audio tag before the file counts as having no audio.
const MAX_TAGS_BEFORE_AUDIO: u32 = 10_000;

struct Tag {
    kind: u8,
    /// Milliseconds.
    ms: u32,
    /// Audio and script payloads (others are skipped).
    payload: Option<Vec<u8>>,
}

struct Audio {
    packets: Packetizer,
    /// Sound format of the track's tags (others are ignored).
    format: u8,
    skip: usize,
    rate: u32,
    next_pts: u64,
}

pub struct FlvReader<'s> {
    reader: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    audio: Option<Audio>,
    /// The file ended: cut short inside a tag (`true`) or cleanly.
    ended: Option<bool>,
}

impl Scoreable for FlvReader<'_> {
    fn score(mut src: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut h = [0u8; 9];
        src.read_buf_exact(&mut h)?;
        let offset = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
        Ok(if &h[..4] == b"FLV\x01" && offset >= 9 { Score::Supported(255) } else { Score::Unsupported })
    }
}

impl ProbeableFormat<'_> for FlvReader<'_> {
    fn try_probe_new(mss: MediaSourceStream<'_>, _opts: FormatOptions) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(FlvReader::try_new(mss)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        const DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec { extensions: &["flv"], mime_types: &["video/x-flv"], markers: &[b"FLV\x01"] },
            info: INFO,
        }];
        &DATA
    }
}

impl<'s> FlvReader<'s> {
    /// Reads the header and the tags up to the first audio tag, whose payload becomes the
    /// first packet unless it only held the codec config.
    pub fn try_new(mut reader: MediaSourceStream<'s>) -> Result<FlvReader<'s>> {
        let mut h = [0u8; 9];
        reader.read_buf_exact(&mut h)?;
        let offset = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
        if &h[..3] != b"FLV" || offset < 9 {
            return Err(Error::DecodeError("flv: not an FLV header"));
        }
        reader.ignore_bytes(u64::from(offset).saturating_sub(9))?;
        let mut flv = FlvReader {
            reader,
            tracks: Vec::new(),
            media_info: MediaInfo::default(),
            metadata: MetadataLog::default(),
            audio: None,
            ended: None,
        };
        let mut duration = None;
        for _ in 0..MAX_TAGS_BEFORE_AUDIO {
            let Some(tag) = flv.read_tag()? else { break };
            match (tag.kind, tag.payload) {
                (SCRIPT, Some(p)) => duration = meta::duration(&p).or(duration),
                (AUDIO, Some(p)) => {
                    flv.start_audio(&p, tag.ms, duration);
                    break;
                }
                _ => {}
            }
        }
        Ok(flv)
    }

    fn start_audio(&mut self, first: &[u8], ms: u32, duration: Option<f64>) {
        let Some(setup) = audio::setup(first) else { return };
        let rate = setup.params.sample_rate.unwrap_or(0);
        let mut track = Track::new(0);
        track.with_codec_params(CodecParameters::Audio(setup.params));
        if let Some(secs) = duration {
            track.with_duration(Duration::from((secs * f64::from(rate)) as u64));
        }
        self.media_info = MediaInfo::from_track(&track);
        self.tracks.push(track);
        let format = first.first().map_or(0, |f| f >> 4);
        let mut audio = Audio { packets: setup.packets, format, skip: setup.skip, rate, next_pts: 0 };
        // AAC's sequence header is the config, not audio.
        if !(format == audio::AAC && first.get(1) == Some(&0)) {
            audio.push(first, ms);
        }
        self.audio = Some(audio);
    }

    /// The next tag; `None` at the end of the file. Sets `ended`.
    fn read_tag(&mut self) -> Result<Option<Tag>> {
        // The previous tag's size (4 bytes), then an 11-byte tag header.
        let mut h = [0u8; 15];
        let got = read_up_to(&mut self.reader, &mut h)?;
        if got <= 4 {
            self.ended = Some(false);
            return Ok(None);
        }
        if got < h.len() {
            self.ended = Some(true);
            return Ok(None);
        }
        let kind = h[4] & 0x1f;
        let encrypted = h[4] & 0x20 != 0;
        let size = u32::from_be_bytes([0, h[5], h[6], h[7]]);
        let ms = u32::from_be_bytes([h[11], h[8], h[9], h[10]]);
        if matches!(kind, AUDIO | SCRIPT) && !encrypted && size <= MAX_TAG {
            let mut payload = vec![0u8; size as usize];
            if read_up_to(&mut self.reader, &mut payload)? < payload.len() {
                self.ended = Some(true);
                return Ok(None);
            }
            return Ok(Some(Tag { kind, ms, payload: Some(payload) }));
        }
        self.reader.ignore_bytes(u64::from(size))?;
        // A seekable source skips by seeking, which does not stop at the end of the file.
        if self.reader.byte_len().is_some_and(|len| self.reader.pos() > len) {
            self.ended = Some(true);
            return Ok(None);
        }
        Ok(Some(Tag { kind, ms, payload: None }))
    }
}

impl Audio {
    fn push(&mut self, payload: &[u8], ms: u32) {
        if payload.first().map(|f| f >> 4) != Some(self.format) {
            return;
        }
        // AAC packet type 0 again: a repeated config.
        if self.format == audio::AAC && payload.get(1) != Some(&1) {
            return;
        }
        let pts = u64::from(ms).saturating_mul(u64::from(self.rate)) / 1000;
        // MPEG audio frames span tags: they are timed from the first tag on.
        if !matches!(self.packets, Packetizer::Split(_)) || self.next_pts == 0 {
            self.next_pts = pts;
        }
        self.packets.push(payload.get(self.skip..).unwrap_or_default());
        self.packets.end_chunk();
    }
}

impl FormatReader for FlvReader<'_> {
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
            if let Some(audio) = self.audio.as_mut()
                && let Some(packet) = audio.packets.next_packet(0, &mut audio.next_pts, self.ended.is_some())
            {
                return Ok(Some(packet));
            }
            match self.ended {
                Some(true) => return Err(Error::IoError(io::ErrorKind::UnexpectedEof.into())),
                Some(false) => return Ok(None),
                None => {}
            }
            match self.read_tag()? {
                Some(Tag { kind: AUDIO, ms, payload: Some(p) }) => {
                    if let Some(audio) = self.audio.as_mut() {
                        audio.push(&p, ms);
                    }
                }
                Some(_) => {}
                None if self.audio.is_none() => return Ok(None),
                None => {}
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
