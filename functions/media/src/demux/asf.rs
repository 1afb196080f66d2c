//! ASF (WMA, WMV): a symphonia `FormatReader` for its audio streams, which symphonia has no
//! demuxer for. The header gives the tracks (see `header`); the data packets, all of the
//! header's fixed size, are read one at a time and their payloads (see `packet`) cut into the
//! codec's blocks: WMA's for `decode::wma` (which refuses the streams it cannot decode right,
//! naming why), MP3 and PCM for symphonia.

#![deny(clippy::arithmetic_side_effects)]

mod header;
mod packet;

use std::io;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::{Error, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::prelude::*;
use symphonia::core::formats::probe::{ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::{Metadata, MetadataLog};

use crate::demux::bytes::read_up_to;
use crate::demux::packets::Packetizer;

const INFO: FormatInfo = FormatInfo {
    format: FormatId::new(symphonia::core::common::FourCc::new(*b"asf ")),
    short_name: "asf",
    long_name: "Advanced Systems Format",
};

struct Audio {
    number: u8,
    track_id: u32,
    packets: Packetizer,
    next_pts: u64,
}

pub struct AsfReader<'s> {
    reader: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    audio: Vec<Audio>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    packet: Vec<u8>,
    /// Bytes of data packets left (`None`: to the end of the file).
    data_left: Option<u64>,
    /// The file ended: cut short inside a packet (`true`) or cleanly.
    ended: Option<bool>,
}

impl Scoreable for AsfReader<'_> {
    fn score(mut src: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut guid = [0u8; 16];
        src.read_buf_exact(&mut guid)?;
        Ok(if guid == header::HEADER { Score::Supported(255) } else { Score::Unsupported })
    }
}

impl ProbeableFormat<'_> for AsfReader<'_> {
    fn try_probe_new(mss: MediaSourceStream<'_>, _opts: FormatOptions) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(AsfReader::try_new(mss)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        const DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["asf", "wma", "wmv"],
                mime_types: &["video/x-ms-asf", "audio/x-ms-wma", "video/x-ms-wmv"],
                markers: &[&[0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]],
            },
            info: INFO,
        }];
        &DATA
    }
}

impl<'s> AsfReader<'s> {
    pub fn try_new(mut reader: MediaSourceStream<'s>) -> Result<AsfReader<'s>> {
        let h = header::read(&mut reader)?;
        let (mut tracks, mut audio) = (Vec::new(), Vec::new());
        for stream in &h.audio {
            let Some((params, packets)) = crate::demux::wave_format::parse(&stream.format) else { continue };
            let rate = params.sample_rate.unwrap_or(0);
            let mut track = Track::new(u32::from(stream.number));
            track.with_codec_params(CodecParameters::Audio(params));
            // Play duration (100 ns units) includes the preroll (ms).
            let secs_e7 = h.play_duration.saturating_sub(h.preroll.saturating_mul(10_000));
            let frames = u128::from(secs_e7).saturating_mul(u128::from(rate)) / 10_000_000;
            if let Ok(frames) = u64::try_from(frames).map(|f| f.max(1)) {
                track.with_duration(Duration::from(frames));
            }
            tracks.push(track);
            audio.push(Audio { number: stream.number, track_id: u32::from(stream.number), packets, next_pts: 0 });
        }
        let media_info = tracks.first().map(MediaInfo::from_track).unwrap_or_default();
        let packet = vec![0u8; h.packet_size as usize];
        Ok(AsfReader { reader, tracks, audio, media_info, metadata: MetadataLog::default(), packet, data_left: h.data_len, ended: None })
    }

    /// Reads the next data packet into the audio streams' packetizers.
    fn advance(&mut self) -> io::Result<()> {
        let size = self.packet.len() as u64;
        if self.data_left.is_some_and(|left| left < size) {
            self.ended = Some(false);
            return Ok(());
        }
        let got = read_up_to(&mut self.reader, &mut self.packet)?;
        if got < self.packet.len() {
            self.ended = Some(got > 0);
            if got == 0 {
                return Ok(());
            }
        }
        self.data_left = self.data_left.map(|left| left.saturating_sub(size));
        let audio = &mut self.audio;
        let _ = packet::payloads(self.packet.get(..got).unwrap_or_default(), &mut |stream, data| {
            if let Some(a) = audio.iter_mut().find(|a| a.number == stream) {
                a.packets.push(data);
                a.packets.end_chunk();
            }
        });
        Ok(())
    }
}

impl FormatReader for AsfReader<'_> {
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
