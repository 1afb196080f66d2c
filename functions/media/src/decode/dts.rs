//! DTS core through the pure-Rust `oxideav-dts` decoder. One packet is one core frame (16-bit
//! big-endian words); extensions (DTS-HD, X96, XCH) are skipped, leaving the core's 5.1. It
//! hands out 32-bit planes in DTS's own order (C, L, R, Ls, Rs, LFE), reordered here.

use oxideav_core::{CodecId, CodecParameters, Decoder as Inner, Frame, Packet as OxPacket, TimeBase};
use oxideav_dts::{LfeMode, parse_frame_header};
use symphonia::core::audio::{Channels, Position};
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::layout::canonical;
use crate::decode::{Block, PacketDecoder};

pub struct DtsDecoder {
    inner: Box<dyn Inner>,
}

impl DtsDecoder {
    pub fn new() -> Result<DtsDecoder, String> {
        let inner = oxideav_dts::make_decoder(&CodecParameters::audio(CodecId::new("dts"))).map_err(|e| e.to_string())?;
        Ok(DtsDecoder { inner })
    }
}

impl PacketDecoder for DtsDecoder {
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let header = parse_frame_header(&packet.data).map_err(|_| SymError::DecodeError("dts: no core frame header"))?;
        let rate = header.sample_rate_hz().ok_or(SymError::DecodeError("dts: invalid sample rate"))?;
        let frame = OxPacket::new(0, TimeBase::new(1, i64::from(rate)), packet.data.to_vec());
        self.inner.send_packet(&frame).map_err(|_| SymError::DecodeError("dts: undecodable frame"))?;
        let Ok(Frame::Audio(audio)) = self.inner.receive_frame() else { return Ok(Block::empty()) };
        let frames = audio.samples as usize;
        if frames == 0 || audio.data.is_empty() || audio.data.iter().any(|p| p.len() < frames * 4) {
            return Ok(Block::empty());
        }
        let stored = stream_order(header.amode, !matches!(header.lfe, LfeMode::None));
        let (channels, order) = match stored.filter(|s| s.len() == audio.data.len()).and_then(|s| canonical(&s)) {
            Some(layout) => layout,
            None => (Channels::Discrete(audio.data.len() as u16), (0..audio.data.len()).collect()),
        };
        planes.resize(order.len(), Vec::new());
        for (plane, &source) in planes.iter_mut().zip(&order) {
            plane.clear();
            let bytes = &audio.data[source][..frames * 4];
            plane.extend(bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0));
        }
        Ok(Block { frames, rate, channels })
    }

    fn reset(&mut self) {
        if let Ok(fresh) = DtsDecoder::new() {
            *self = fresh;
        }
    }
}

/// The positions of the decoder's planes, in its order, for an audio channel arrangement
/// (ETSI TS 102 114 Table 5-4) and LFE flag; `None` for arrangements beyond 5 channels.
fn stream_order(amode: u8, lfe: bool) -> Option<Vec<Position>> {
    let (l, r, c) = (Position::FRONT_LEFT, Position::FRONT_RIGHT, Position::FRONT_CENTER);
    let (sl, sr, s) = (Position::SIDE_LEFT, Position::SIDE_RIGHT, Position::REAR_CENTER);
    let mut order = match amode {
        0 => vec![c],
        1..=4 => vec![l, r],
        5 => vec![c, l, r],
        6 => vec![l, r, s],
        7 => vec![c, l, r, s],
        8 => vec![l, r, sl, sr],
        9 => vec![c, l, r, sl, sr],
        _ => return None,
    };
    if lfe {
        order.push(Position::LFE1);
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dts_5_1_planes_are_reordered_to_the_wave_order() {
        let (channels, order) = canonical(&stream_order(9, true).unwrap()).unwrap();
        assert_eq!(channels.count(), 6);
        // FL FR FC LFE SL SR from C L R Ls Rs LFE.
        assert_eq!(order, [1, 2, 0, 5, 3, 4]);
    }
}
