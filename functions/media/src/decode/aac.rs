//! AAC through the pure-Rust `rusty_aac` decoder: LC, HE-AAC v1 (SBR) and v2 (PS), and
//! multichannel layouts (channel configurations and PCEs), which symphonia's AAC decoder
//! refuses. It hands out channels in the WAVE order (as ffmpeg does).

use rusty_aac::AacDecoder as Inner;
use symphonia::core::audio::Position;
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::layout::{deinterleave, positioned_or_discrete};
use crate::decode::{Block, PacketDecoder};
use crate::demux::aac::config_for;

pub struct AacDecoder {
    inner: Inner,
    /// The AudioSpecificConfig, to start afresh on reset.
    config: Vec<u8>,
    positions: Position,
}

impl AacDecoder {
    /// From the AudioSpecificConfig (MP4 `esds`, Matroska CodecPrivate); without one (raw
    /// frames from an ADTS stream, whose demuxer keeps the headers), from the stream's rate and
    /// channel count as AAC-LC — HE-AAC is then found from the frames (implicit signalling).
    pub fn new(config: Option<&[u8]>, rate: Option<u32>, channels: Option<usize>) -> Result<AacDecoder, String> {
        let made;
        let config = match config {
            Some(asc) => asc,
            None => {
                let rate = rate.ok_or("no AudioSpecificConfig and no sample rate")?;
                made = config_for(rate, u16::try_from(channels.unwrap_or(2)).unwrap_or(u16::MAX));
                &made[..]
            }
        };
        let inner = Inner::with_config_bytes(config).map_err(|e| e.to_string())?;
        let positions = channel_configuration(config).map_or(Position::empty(), positions_for);
        Ok(AacDecoder { inner, config: config.to_vec(), positions })
    }
}

impl PacketDecoder for AacDecoder {
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let audio = match self.inner.decode(&packet.data, None) {
            Ok(audio) => audio,
            Err(rusty_aac::Error::Again) => return Ok(Block::empty()),
            Err(rusty_aac::Error::Unsupported(_) | rusty_aac::Error::Unimplemented(_)) => {
                return Err(SymError::Unsupported("a profile or tool the AAC decoder does not implement"));
            }
            Err(_) => return Err(SymError::DecodeError("aac: undecodable frame")),
        };
        let channels = usize::from(audio.channels);
        let frames = deinterleave(&audio.samples, channels, &[], planes);
        Ok(Block { frames, rate: audio.sample_rate, channels: positioned_or_discrete(self.positions, channels) })
    }

    fn reset(&mut self) {
        if let Ok(inner) = Inner::with_config_bytes(&self.config) {
            self.inner = inner;
        }
    }
}

/// `channelConfiguration` of an AudioSpecificConfig (after the object type, which may be
/// escaped to 6 more bits, and the sampling frequency index, which may be followed by 24 bits
/// of explicit rate).
fn channel_configuration(asc: &[u8]) -> Option<u8> {
    let bits = |from: usize, n: usize| -> Option<u32> {
        (from..from + n).try_fold(0u32, |acc, i| Some((acc << 1) | u32::from((asc.get(i / 8)? >> (7 - i % 8)) & 1)))
    };
    let mut at = 5;
    if bits(0, 5)? == 31 {
        at += 6;
    }
    let frequency_index = bits(at, 4)?;
    at += if frequency_index == 15 { 28 } else { 4 };
    u8::try_from(bits(at, 4)?).ok()
}

/// The positions of a channel configuration, as ffmpeg lays them out (ISO 14496-3 Table 1.19).
fn positions_for(configuration: u8) -> Position {
    let (fl, fr, fc, lfe) = (Position::FRONT_LEFT, Position::FRONT_RIGHT, Position::FRONT_CENTER, Position::LFE1);
    let (bl, br, bc) = (Position::REAR_LEFT, Position::REAR_RIGHT, Position::REAR_CENTER);
    match configuration {
        1 => fc,
        2 => fl | fr,
        3 => fl | fr | fc,
        4 => fl | fr | fc | bc,
        5 => fl | fr | fc | bl | br,
        6 => fl | fr | fc | lfe | bl | br,
        7 => fl | fr | fc | lfe | bl | br | Position::FRONT_LEFT_CENTER | Position::FRONT_RIGHT_CENTER,
        11 => fl | fr | fc | lfe | bl | br | bc,
        12 => fl | fr | fc | lfe | bl | br | Position::SIDE_LEFT | Position::SIDE_RIGHT,
        _ => Position::empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_channel_configuration() {
        assert_eq!(channel_configuration(&[0x12, 0x10]), Some(2));
        assert_eq!(channel_configuration(&[0x11, 0xb0]), Some(6));
        assert_eq!(channel_configuration(&[0x2b, 0x92, 0x08, 0x00]), Some(2));
        assert_eq!(channel_configuration(&[0x12]), None);
        assert_eq!(channel_configuration(&config_for(48000, 6)), Some(6));
    }
}
