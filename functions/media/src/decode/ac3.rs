//! AC-3 and E-AC-3 through the pure-Rust `oxideav-ac3` decoder. One packet is one syncframe
//! (E-AC-3: every substream of one frame). It hands out 16-bit samples in the WAVE order; the
//! rate and positions come from the frame header (`demux::frames::ac3`: acmod and LFE flag).

use oxideav_core::{CodecId, CodecParameters, Decoder as Inner, Frame, Packet as OxPacket, TimeBase};
use symphonia::core::audio::Channels;
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::layout::deinterleave;
use crate::decode::{Block, PacketDecoder};
use crate::demux::frames::ac3;

pub struct Ac3Decoder {
    inner: Box<dyn Inner>,
    samples: Vec<f32>,
}

impl Ac3Decoder {
    pub fn new() -> Result<Ac3Decoder, String> {
        // No channel count requested: every channel comes out, and our mixer down-mixes.
        let inner = oxideav_ac3::decoder::make_decoder(&CodecParameters::audio(CodecId::new("ac3"))).map_err(|e| e.to_string())?;
        Ok(Ac3Decoder { inner, samples: Vec::new() })
    }
}

impl PacketDecoder for Ac3Decoder {
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let (_, header) = ac3::parse(&packet.data).ok_or(SymError::DecodeError("ac3: no syncframe header"))?;
        let mut frame = OxPacket::new(0, TimeBase::new(1, i64::from(header.rate)), packet.data.to_vec());
        frame.pts = Some(0);
        self.inner.send_packet(&frame).map_err(|_| SymError::DecodeError("ac3: undecodable syncframe"))?;
        let Ok(Frame::Audio(audio)) = self.inner.receive_frame() else { return Ok(Block::empty()) };
        let frames = audio.samples as usize;
        let bytes = audio.data.first().map_or(&[][..], Vec::as_slice);
        let channels = bytes.len().checked_div(frames.saturating_mul(2)).unwrap_or(0);
        if channels == 0 {
            return Ok(Block::empty());
        }
        self.samples.clear();
        self.samples.extend(bytes.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0));
        let frames = deinterleave(&self.samples, channels, &[], planes);
        let layout = if header.channels.count() == channels { header.channels } else { Channels::Discrete(channels as u16) };
        Ok(Block { frames, rate: header.rate, channels: layout })
    }

    fn reset(&mut self) {
        if let Ok(fresh) = Ac3Decoder::new() {
            *self = fresh;
        }
    }
}
