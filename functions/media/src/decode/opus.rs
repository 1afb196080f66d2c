//! Opus through the pure-Rust `opus-rs` decoder (symphonia has none).

use symphonia::core::audio::{Channels, Position};
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::Block;

/// Longest Opus packet: 120 ms at 48 kHz.
const OPUS_MAX_FRAMES: usize = 5760;

pub struct OpusDecoder {
    inner: opus_rs::OpusDecoder,
    channels: usize,
    pcm: Vec<f32>,
}

impl OpusDecoder {
    /// Mono or stereo Opus at 48 kHz (multistream layouts are not supported).
    pub fn new(channels: usize) -> Result<OpusDecoder, &'static str> {
        if !(1..=2).contains(&channels) {
            return Err("more than 2 channels");
        }
        Ok(OpusDecoder { inner: opus_rs::OpusDecoder::new(48000, channels)?, channels, pcm: vec![0.0; OPUS_MAX_FRAMES * channels] })
    }

    pub fn reset(&mut self) {
        if let Ok(fresh) = opus_rs::OpusDecoder::new(48000, self.channels) {
            self.inner = fresh;
        }
    }

    pub fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let n = self.inner.decode(&packet.data, OPUS_MAX_FRAMES, &mut self.pcm).map_err(SymError::DecodeError)?;
        let n = n.min(OPUS_MAX_FRAMES);
        // The Ogg demuxer marks the final packet's padding (from the granule position).
        let start = (packet.trim_start.get() as usize).min(n);
        let end = n.saturating_sub(packet.trim_end.get() as usize).max(start);
        planes.resize(self.channels, Vec::new());
        for (c, plane) in planes.iter_mut().enumerate() {
            plane.clear();
            plane.extend((start..end).map(|f| self.pcm[f * self.channels + c]));
        }
        let channels = if self.channels == 1 {
            Channels::Positioned(Position::FRONT_CENTER)
        } else {
            Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT)
        };
        Ok(Block { frames: end - start, rate: 48000, channels })
    }
}

/// The pre-skip from an `OpusHead` (Ogg and Matroska both carry it as codec private data).
pub fn opus_pre_skip(extra_data: Option<&[u8]>) -> Option<u32> {
    let head = extra_data?;
    (head.starts_with(b"OpusHead") && head.len() >= 12).then(|| u32::from(u16::from_le_bytes([head[10], head[11]])))
}
