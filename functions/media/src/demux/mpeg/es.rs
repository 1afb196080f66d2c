//! One audio elementary stream, reassembled from the container's packets and cut into codec
//! frames: one symphonia packet per frame (per block of PCM), timed by the samples before it.
//! What is buffered is bounded whatever the input declares.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, Timestamp};

use crate::demux::frames::{self, FrameInfo, Framing, adts, latm};
use crate::demux::mpeg::lpcm::{self, Flavour};

/// How an elementary stream's bytes are cut into packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Framed(Framing),
    Latm,
    Lpcm(Flavour),
    /// Not known from the container: the framing that finds a run of frames wins.
    Detect,
    /// Listed (so it can be named) but never cut into packets: no decoder would take them.
    Opaque,
}

/// What the container says a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamKind {
    pub coding: Coding,
    /// Until a frame header says otherwise.
    pub codec: AudioCodecId,
}

/// The most bytes buffered: far more than a frame (at most 16 KiB, DTS) and a PES packet
/// (64 KiB) need; past it the buffer is junk and dropped.
const MAX_BUFFERED: usize = 256 * 1024;
/// PCM is handed out in packets of about this many bytes.
const PCM_PACKET: usize = 16 * 1024;
/// The framings `Coding::Detect` tries, in order.
const DETECT: [Framing; 4] = [Framing::Adts, Framing::Mpeg, Framing::Ac3, Framing::Dts];
/// `Coding::Detect` tries again after this many more bytes (each try reads all it has).
const DETECT_STEP: usize = 2048;

pub struct Es {
    coding: Coding,
    buf: Vec<u8>,
    /// Where the unread bytes start in `buf`.
    at: usize,
    latm: latm::Latm,
    lpcm: Option<lpcm::Format>,
    /// What the first frame held, and the decoder's configuration (AAC's AudioSpecificConfig).
    pub info: Option<FrameInfo>,
    pub extra_data: Option<Box<[u8]>>,
    /// Samples handed out so far: the next packet's timestamp.
    next_ts: u64,
    /// The stream ended inside a frame.
    cut: bool,
    /// How many bytes `Coding::Detect` last tried.
    tried: usize,
}

impl Es {
    pub fn new(coding: Coding) -> Es {
        Es {
            coding,
            buf: Vec::new(),
            at: 0,
            latm: latm::Latm::default(),
            lpcm: None,
            info: None,
            extra_data: None,
            next_ts: 0,
            cut: false,
            tried: 0,
        }
    }

    /// A new container packet (PES) starts with `data`.
    pub fn start_unit(&mut self, data: &[u8]) {
        let Coding::Lpcm(flavour) = self.coding else { return self.push(data) };
        let header_len = lpcm::Format::header_len(flavour);
        let format = match flavour {
            Flavour::Dvd => lpcm::Format::dvd(data),
            Flavour::Bluray => lpcm::Format::bluray(data),
        };
        if format != self.lpcm {
            // A new format: what is left of the old one cannot be converted with it.
            self.lost();
            self.lpcm = format;
        }
        self.push(data.get(header_len..).unwrap_or(&[]));
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.coding == Coding::Opaque {
            return;
        }
        if self.buf.len().saturating_sub(self.at).saturating_add(data.len()) > MAX_BUFFERED {
            self.lost();
        }
        if self.at > 0 && self.buf.len().saturating_add(data.len()) > MAX_BUFFERED {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.extend_from_slice(data.get(..MAX_BUFFERED.min(data.len())).unwrap_or(&[]));
    }

    /// Some of the stream went missing: a frame in progress cannot be completed.
    pub fn lost(&mut self) {
        self.buf.clear();
        self.at = 0;
        self.tried = 0;
    }

    /// How the stream is cut into packets (what `Coding::Detect` found, once it has).
    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// Whether the stream ended inside a frame.
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// The next packet, if the bytes at hand hold one; at the end of the stream (`at_end`),
    /// what is left is handed out and a frame cut short is noted.
    pub fn next_packet(&mut self, track_id: u32, at_end: bool) -> Option<Packet> {
        let (data, info) = match self.coding {
            Coding::Framed(framing) => self.framed(framing, at_end)?,
            Coding::Latm => self.latm(at_end)?,
            Coding::Lpcm(_) => self.pcm(at_end)?,
            Coding::Detect => {
                self.coding = self.detect(at_end)?;
                return self.next_packet(track_id, at_end);
            }
            Coding::Opaque => return None,
        };
        if self.info.is_none() {
            self.info = Some(info.clone());
        }
        let ts = Timestamp::new(i64::try_from(self.next_ts).unwrap_or(i64::MAX));
        self.next_ts = self.next_ts.saturating_add(u64::from(info.samples));
        Some(Packet::new(track_id, ts, Duration::new(u64::from(info.samples)), data))
    }

    fn unread(&self) -> &[u8] {
        self.buf.get(self.at..).unwrap_or(&[])
    }

    fn advance(&mut self, n: usize) {
        self.at = self.at.saturating_add(n).min(self.buf.len());
        if self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        }
    }

    /// Handles a frame found at `start` running for `len` bytes: `Some(true)` when it is all
    /// at hand; `Some(false)` to look further (a frame cut off by the end of the stream);
    /// `None` to wait for more bytes.
    fn whole(&mut self, start: usize, len: usize, at_end: bool) -> Option<bool> {
        self.advance(start);
        if len <= self.unread().len() {
            return Some(true);
        }
        if !at_end {
            return None;
        }
        self.cut = true;
        self.advance(1);
        Some(false)
    }

    /// Nothing found: keeps only what could still start a header.
    fn nothing_found(&mut self) {
        let keep = frames::MAX_HEADER.saturating_sub(1);
        self.advance(self.unread().len().saturating_sub(keep));
    }

    fn framed(&mut self, framing: Framing, at_end: bool) -> Option<(Vec<u8>, FrameInfo)> {
        loop {
            let Some(frame) = frames::next_frame(framing, self.unread()) else {
                self.nothing_found();
                return None;
            };
            if !self.whole(frame.start, frame.len, at_end)? {
                continue;
            }
            let bytes = self.buf.get(self.at..)?.get(..frame.len)?;
            let payload = match framing {
                Framing::Adts => {
                    if self.extra_data.is_none() {
                        self.extra_data = adts::audio_specific_config(bytes).map(|c| Box::from(c.as_slice()));
                    }
                    bytes.get(adts::header_len(bytes)..).unwrap_or(&[]).to_vec()
                }
                _ => bytes.to_vec(),
            };
            self.advance(frame.len);
            return Some((payload, frame.info));
        }
    }

    fn latm(&mut self, at_end: bool) -> Option<(Vec<u8>, FrameInfo)> {
        loop {
            let Some((start, len)) = latm::next_frame(self.unread()) else {
                self.nothing_found();
                return None;
            };
            if !self.whole(start, len, at_end)? {
                continue;
            }
            let unpacked = self.buf.get(self.at..).and_then(|b| b.get(..len)).and_then(|frame| self.latm.unpack(frame));
            self.advance(len);
            if let Some(found) = unpacked {
                if self.extra_data.is_none() {
                    self.extra_data = self.latm.audio_specific_config().map(Box::from);
                }
                return Some(found);
            }
        }
    }

    fn pcm(&mut self, at_end: bool) -> Option<(Vec<u8>, FrameInfo)> {
        let format = self.lpcm.as_ref()?;
        if self.unread().len() < PCM_PACKET && !at_end {
            return None;
        }
        let mut out = Vec::with_capacity(self.unread().len().min(PCM_PACKET.saturating_mul(2)));
        let used = format.convert(self.unread(), &mut out);
        let frame_bytes = format.frame_bytes().max(1);
        let info = FrameInfo {
            codec: format.codec(),
            rate: format.rate,
            channels: format.channels.clone(),
            samples: u32::try_from(out.len().checked_div(frame_bytes)?).ok()?,
        };
        self.advance(used);
        if at_end && used == 0 {
            self.cut |= !self.unread().is_empty();
            self.lost();
        }
        (info.samples > 0).then_some((out, info))
    }

    /// The framing whose frames follow each other from the first one found, if any yet.
    fn detect(&mut self, at_end: bool) -> Option<Coding> {
        if !at_end && self.unread().len() < self.tried.saturating_add(DETECT_STEP) {
            return None;
        }
        self.tried = self.unread().len();
        let data = self.unread();
        for framing in DETECT {
            let Some(first) = frames::next_frame(framing, data) else { continue };
            let rest = data.get(first.end()..).unwrap_or(&[]);
            if frames::next_frame(framing, rest).is_some_and(|second| second.start == 0 && second.end() <= rest.len()) {
                return Some(Coding::Framed(framing));
            }
        }
        if latm::next_frame(data).is_some_and(|(start, len)| {
            let rest = data.get(start.saturating_add(len)..).unwrap_or(&[]);
            latm::next_frame(rest).is_some_and(|(s, l)| s == 0 && l <= rest.len())
        }) {
            return Some(Coding::Latm);
        }
        if at_end || self.unread().len() >= MAX_BUFFERED / 4 {
            // Not audio we know: stop buffering it.
            self.coding = Coding::Opaque;
            self.lost();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MPEG-1 layer II frame, 48 kHz mono 64 kbps: 192 bytes.
    fn mp2_frame() -> Vec<u8> {
        let mut f = vec![0u8; 192];
        f[..4].copy_from_slice(&[0xff, 0xfd, 0x44, 0xc0]);
        f
    }

    #[test]
    fn frames_are_timed_by_the_samples_before_them_and_a_frame_cut_off_is_noted() {
        let mut es = Es::new(Coding::Framed(Framing::Mpeg));
        let (frame, mut stream) = (mp2_frame(), mp2_frame());
        stream.extend(&frame);
        stream.extend(&frame[..100]);
        es.start_unit(&stream[..150]);
        assert!(es.next_packet(1, false).is_none());
        es.push(&stream[150..]);
        let pts: Vec<i64> = std::iter::from_fn(|| es.next_packet(1, false)).map(|p| p.pts.get()).collect();
        assert_eq!(pts, [0, 1152]);
        assert!(!es.cut());
        assert!(es.next_packet(1, true).is_none());
        assert!(es.cut());
    }

    #[test]
    fn adts_frames_lose_their_header_and_give_the_decoder_its_config() {
        let mut frame = vec![0xff, 0xf1, 0x4c, 0x40, 0x01, 0x5f, 0xfc];
        frame.resize(10, 0xaa);
        let mut es = Es::new(Coding::Framed(Framing::Adts));
        es.push(&frame);
        let p = es.next_packet(1, true).unwrap();
        assert_eq!(&p.data[..], [0xaa; 3]);
        assert_eq!(es.extra_data.as_deref(), Some(&[0x11, 0x88][..]));
        assert_eq!(es.info.as_ref().map(|i| i.rate), Some(48_000));
    }

    #[test]
    fn an_undetected_stream_stops_being_buffered() {
        let mut es = Es::new(Coding::Detect);
        es.push(&[0x12; 70_000]);
        assert!(es.next_packet(1, false).is_none());
        assert_eq!(es.coding(), Coding::Opaque);
    }
}
