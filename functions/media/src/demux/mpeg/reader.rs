//! The symphonia `FormatReader` the MPEG-TS and MPEG-PS demuxers share. A container reads its
//! own packets and hands out audio payloads ([`Unit`]s); this reader keeps one elementary
//! stream per audio track and hands out their frames. On opening it reads ahead (bounded) to
//! learn the tracks and their first frames, then goes back to the start; when the source can
//! seek it also reads the last presentation times, for the tracks' durations.

#![deny(clippy::arithmetic_side_effects)]

use std::io::{self, ErrorKind};

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::errors::{Error, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::{FormatInfo, FormatOptions, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::packet::Packet;
use symphonia::core::units::Duration;

use crate::demux::mpeg::es::{Coding, Es, StreamKind};
use crate::demux::mpeg::window::{CAPACITY, Window};

/// What a container hands the elementary streams, by stream key (TS: the PID; PS: the stream
/// id, with the substream for private stream 1).
pub enum Unit<'a> {
    /// A PES packet starts, with these first payload bytes.
    Start { key: u32, kind: StreamKind, pts: Option<u64>, data: &'a [u8] },
    /// More of the current PES packet.
    Data { key: u32, data: &'a [u8] },
    /// Some of the stream went missing (a TS continuity error, a PES cut short).
    Lost { key: u32 },
}

pub trait Container: Sized + Send + Sync {
    const INFO: FormatInfo;
    /// Bytes read ahead at least before the tracks are taken as known (PS has no table of them).
    const MIN_LOOKAHEAD: u64;

    fn new() -> Self;
    /// Reads on (a packet or so), handing audio payloads to `out`; `Ok(false)` at the end.
    fn step(&mut self, w: &mut Window<'_>, out: &mut dyn FnMut(Unit<'_>)) -> io::Result<bool>;
    /// The audio streams the container's tables declare, in their order.
    fn declared(&self) -> &[(u32, StreamKind)];
    /// Whether every table that declares streams has been read.
    fn tables_read(&self) -> bool;
    /// A reader of the same container from a new position, knowing the streams found so far.
    fn restart(&self) -> Self;
    /// Whether the source ended inside one of the container's packets.
    fn cut(&self) -> bool;
}

/// The most audio tracks kept.
const MAX_STREAMS: usize = 16;
/// Read ahead at most this far on opening: more when the source can seek back.
const LOOKAHEAD_SEEKABLE: u64 = 8 * 1024 * 1024;
const LOOKAHEAD_UNSEEKABLE: usize = 1024 * 1024;
/// The last presentation times are looked for this far from the end.
const TAIL: u64 = 512 * 1024;
/// 33-bit presentation times wrap around.
const PTS_MASK: u64 = (1 << 33) - 1;

struct Stream {
    key: u32,
    kind: StreamKind,
    es: Es,
    first_pts: Option<u64>,
    last_pts: Option<u64>,
}

pub struct MpegReader<'s, C: Container> {
    window: Window<'s>,
    container: C,
    streams: Vec<Stream>,
    tracks: Vec<Track>,
    info: FormatInfo,
    media_info: MediaInfo,
    metadata: MetadataLog,
    ended: bool,
    reported_cut: bool,
}

impl<'s, C: Container> MpegReader<'s, C> {
    pub fn try_new(mss: MediaSourceStream<'s>, opts: FormatOptions) -> Result<Self> {
        let mut window = Window::new(mss);
        let start = window.pos();
        let len = window.seekable_len();
        let budget = if len.is_some() {
            LOOKAHEAD_SEEKABLE
        } else {
            // The window reads ahead of what it has handed out.
            window.keep_for_rewind(LOOKAHEAD_UNSEEKABLE.saturating_add(CAPACITY.saturating_mul(2)));
            LOOKAHEAD_UNSEEKABLE as u64
        };
        let (container, mut streams) = look_ahead::<C>(&mut window, start, budget)?;
        if let Some(len) = len.filter(|len| *len > window.pos()) {
            window.rewind(len.saturating_sub(TAIL).max(window.pos()))?;
            read_last_pts(&mut window, container.restart(), &mut streams)?;
        }
        window.rewind(start)?;
        let streams: Vec<Stream> = streams.into_iter().filter(|s| s.kind.coding != Coding::Detect || s.es.info.is_some()).collect();
        let tracks: Vec<Track> = streams.iter().map(track).collect();
        let streams = streams
            .into_iter()
            .map(|s| {
                let coding = match (s.kind.coding, &s.es.info) {
                    // What the look-ahead found the stream to be.
                    (Coding::Detect, Some(_)) => s.es.coding(),
                    (coding, _) => coding,
                };
                Stream { es: Es::new(coding), ..s }
            })
            .collect();
        Ok(MpegReader {
            window,
            container: container.restart(),
            streams,
            media_info: tracks.first().map(MediaInfo::from_track).unwrap_or_default(),
            tracks,
            info: C::INFO,
            metadata: opts.external_data.metadata.unwrap_or_default(),
            ended: false,
            reported_cut: false,
        })
    }
}

/// Reads from `start` until the container's tables are read and every stream's first frame is
/// known, or `budget` bytes.
fn look_ahead<C: Container>(w: &mut Window<'_>, start: u64, budget: u64) -> Result<(C, Vec<Stream>)> {
    let mut container = C::new();
    let mut streams: Vec<Stream> = Vec::new();
    loop {
        let scanned = w.pos().saturating_sub(start);
        let known = streams.iter().all(|s| s.es.info.is_some() || s.es.coding() == Coding::Opaque);
        if scanned >= budget || (scanned >= C::MIN_LOOKAHEAD && container.tables_read() && known && !streams.is_empty()) {
            break;
        }
        let more = container.step(w, &mut |unit| route(&mut streams, unit, true))?;
        for (key, kind) in container.declared() {
            if !streams.iter().any(|s| s.key == *key) && streams.len() < MAX_STREAMS {
                streams.push(Stream { key: *key, kind: *kind, es: Es::new(kind.coding), first_pts: None, last_pts: None });
            }
        }
        for s in streams.iter_mut().filter(|s| s.es.info.is_none()) {
            while s.es.info.is_none() && s.es.next_packet(s.key, !more).is_some() {}
        }
        if !more {
            break;
        }
    }
    Ok((container, streams))
}

/// Hands a unit to its stream; a stream seen for the first time is added when `add`.
fn route(streams: &mut Vec<Stream>, unit: Unit<'_>, add: bool) {
    let key = match &unit {
        Unit::Start { key, .. } | Unit::Data { key, .. } | Unit::Lost { key } => *key,
    };
    let index = match streams.iter().position(|s| s.key == key) {
        Some(i) => i,
        None => match unit {
            Unit::Start { kind, .. } if add && streams.len() < MAX_STREAMS => {
                streams.push(Stream { key, kind, es: Es::new(kind.coding), first_pts: None, last_pts: None });
                streams.len().saturating_sub(1)
            }
            _ => return,
        },
    };
    let Some(s) = streams.get_mut(index) else { return };
    match unit {
        Unit::Start { pts, data, .. } => {
            if let Some(pts) = pts {
                s.first_pts.get_or_insert(pts);
                s.last_pts = Some(pts);
            }
            s.es.start_unit(data);
        }
        Unit::Data { data, .. } => s.es.push(data),
        Unit::Lost { .. } => s.es.lost(),
    }
}

/// Reads to the end for the streams' last presentation times.
fn read_last_pts<C: Container>(w: &mut Window<'_>, mut container: C, streams: &mut [Stream]) -> Result<()> {
    while container.step(w, &mut |unit| {
        if let Unit::Start { key, pts: Some(pts), .. } = unit
            && let Some(s) = streams.iter_mut().find(|s| s.key == key)
        {
            s.last_pts = Some(pts);
        }
    })? {}
    Ok(())
}

fn track(s: &Stream) -> Track {
    let mut params = AudioCodecParameters::new();
    params.for_codec(s.es.info.as_ref().map_or(s.kind.codec, |i| i.codec));
    if let Some(info) = &s.es.info {
        params.with_sample_rate(info.rate);
        if info.channels.count() > 0 {
            params.with_channels(info.channels.clone());
        }
    }
    if let Some(extra) = &s.es.extra_data {
        params.with_extra_data(extra.clone());
    }
    let mut track = Track::new(s.key);
    track.with_codec_params(CodecParameters::Audio(params));
    // For progress: the span of presentation times, in samples.
    if let (Some(info), Some(first), Some(last)) = (&s.es.info, s.first_pts, s.last_pts) {
        let ticks = last.wrapping_sub(first) & PTS_MASK;
        let samples = u128::from(ticks).saturating_mul(u128::from(info.rate)) / 90_000;
        track.with_duration(Duration::new(u64::try_from(samples).unwrap_or(u64::MAX)));
    }
    track
}

impl<C: Container> FormatReader for MpegReader<'_, C> {
    fn format_info(&self) -> &FormatInfo {
        &self.info
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
            for s in &mut self.streams {
                if let Some(p) = s.es.next_packet(s.key, self.ended) {
                    return Ok(Some(p));
                }
            }
            if self.ended {
                let cut = self.container.cut() || self.streams.iter().any(|s| s.es.cut());
                if cut && !self.reported_cut {
                    self.reported_cut = true;
                    return Err(Error::IoError(io::Error::new(ErrorKind::UnexpectedEof, "the file ends inside a packet")));
                }
                return Ok(None);
            }
            let streams = &mut self.streams;
            self.ended = !self.container.step(&mut self.window, &mut |unit| route(streams, unit, false))?;
        }
    }

    fn into_inner<'s>(self: Box<Self>) -> MediaSourceStream<'s>
    where
        Self: 's,
    {
        self.window.into_inner()
    }
}
