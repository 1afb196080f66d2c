//! AC-3 and E-AC-3 through the pure-Rust `oxideav-ac3` decoder. One packet is one syncframe
//! (E-AC-3: every substream of one frame). It hands out 16-bit samples in the WAVE order; the
//! positions come from the frame header's audio coding mode and LFE flag.

use oxideav_core::{CodecId, CodecParameters, Decoder as Inner, Frame, Packet as OxPacket, TimeBase};
use symphonia::core::audio::Position;
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::layout::{deinterleave, positioned_or_discrete};
use crate::decode::{Block, PacketDecoder};

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
        let header = Header::parse(&packet.data).ok_or(SymError::DecodeError("ac3: no syncframe header"))?;
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
        Ok(Block { frames, rate: header.rate, channels: positioned_or_discrete(header.positions, channels) })
    }

    fn reset(&mut self) {
        if let Ok(fresh) = Ac3Decoder::new() {
            *self = fresh;
        }
    }
}

/// What the decoder does not say: the rate and the speaker positions of a syncframe.
struct Header {
    rate: u32,
    positions: Position,
}

impl Header {
    /// AC-3 (bsid ≤ 10, A/52 §5.3) or E-AC-3 (bsid 11–16, Annex E).
    fn parse(frame: &[u8]) -> Option<Header> {
        if frame.get(0..2)? != [0x0b, 0x77] {
            return None;
        }
        let mut bits = Bits { data: frame, at: 16 };
        let bsid = frame.get(5)? >> 3;
        let (rate, acmod, lfeon) = if bsid <= 10 {
            bits.skip(16); // crc1
            let fscod = bits.take(2)?;
            bits.skip(6 + 5 + 3); // frmsizecod, bsid, bsmod
            let acmod = bits.take(3)?;
            if acmod & 1 == 1 && acmod != 1 {
                bits.skip(2); // cmixlev
            }
            if acmod & 4 == 4 {
                bits.skip(2); // surmixlev
            }
            if acmod == 2 {
                bits.skip(2); // dsurmod
            }
            (*[48000, 44100, 32000].get(fscod as usize)?, acmod, bits.take(1)? == 1)
        } else {
            bits.skip(2 + 3 + 11); // strmtyp, substreamid, frmsiz
            let fscod = bits.take(2)?;
            let rate = match fscod {
                3 => *[24000, 22050, 16000].get(bits.take(2)? as usize)?,
                _ => {
                    bits.skip(2); // numblkscod
                    [48000, 44100, 32000][fscod as usize]
                }
            };
            (rate, bits.take(3)?, bits.take(1)? == 1)
        };
        let (fl, fr, fc) = (Position::FRONT_LEFT, Position::FRONT_RIGHT, Position::FRONT_CENTER);
        let (sl, sr, bc) = (Position::SIDE_LEFT, Position::SIDE_RIGHT, Position::REAR_CENTER);
        // The layouts ffmpeg gives each acmod (1+1 dual mono as a stereo pair).
        let positions = match acmod {
            1 => fc,
            0 | 2 => fl | fr,
            3 => fl | fr | fc,
            4 => fl | fr | bc,
            5 => fl | fr | fc | bc,
            6 => fl | fr | sl | sr,
            _ => fl | fr | fc | sl | sr,
        };
        Some(Header { rate, positions: if lfeon { positions | Position::LFE1 } else { positions } })
    }
}

/// Big-endian bits, most significant first.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn take(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.data.get(self.at / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.at % 8)) & 1);
            self.at += 1;
        }
        Some(v)
    }

    fn skip(&mut self, n: usize) {
        self.at = self.at.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rate_and_positions_of_a_5_1_syncframe() {
        // sync, crc1, fscod 0 + frmsizecod, bsid 8 bsmod 0, acmod 7: cmixlev, surmixlev, lfeon.
        let frame = [0x0b, 0x77, 0, 0, 0x1c, 0x40, 0b1110_1011, 0];
        let header = Header::parse(&frame).unwrap();
        assert_eq!(header.rate, 48000);
        assert_eq!(header.positions.bits().count_ones(), 6);
        assert!(header.positions.contains(Position::LFE1));
    }

    #[test]
    fn refuses_what_is_not_a_syncframe() {
        assert!(Header::parse(&[0x0b, 0x78, 0, 0, 0, 0]).is_none());
        assert!(Header::parse(&[0x0b, 0x77]).is_none());
    }
}
