//! WMA v1 and v2 (ASF's format tags 0x0160 and 0x0161), our own decoder. A packet is one
//! superframe of the stream's `nBlockAlign` bytes: one frame, or — with the bit reservoir
//! most encoders use — several, the first continuing a frame begun in the packet before.
//! `params` derives the stream's sizes from its WAVEFORMATEX (the track's extra data, see
//! `demux::wave_format`), `frame` decodes frames, `vlc` holds the prefix codes (their tables
//! come from the `oxideav-wma` crate, whose own decoder garbled noise-coded streams, WMA v1
//! and rates between 22.05 and 44.1 kHz).
//!
//! Measured against ffmpeg's decoder (README, "Licence"; `tests.rs`): the same samples to
//! within float rounding (125–135 dB), but for the first frame, which ffmpeg drops and we
//! keep. Exponents coded as line spectral pairs (an old v1 option that ffmpeg's encoder never
//! writes) are refused, naming that.

mod frame;
mod params;
mod vlc;

#[cfg(test)]
mod tests;

use symphonia::core::audio::{Channels, Position};
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::{Block, PacketDecoder};
use crate::demux::frames::bits::Bits;
use frame::FrameDecoder;
use params::Params;
pub use params::frame_len_bits;

/// The most a frame carried over from one superframe to the next may hold.
const MAX_CARRY: usize = 32_768;

pub struct WmaDecoder {
    frames: FrameDecoder,
    /// The end of the last superframe (a frame that continues in this one), and the bits to
    /// skip at its start.
    carry: Vec<u8>,
    carry_skip: usize,
    /// Samples (a channel) still to drop at the stream's start: the first frame, which is
    /// the transform's delay, so that the sound starts with the source's. (ffmpeg's decoder
    /// drops two, and so starts a frame, 46 ms at 44.1 kHz, into the source.)
    delay: usize,
}

impl WmaDecoder {
    /// From the track's WAVEFORMATEX; an error names what we do not decode.
    pub fn new(format: Option<&[u8]>) -> Result<WmaDecoder, String> {
        let params = Params::parse(format.ok_or("no stream format")?)?;
        let delay = params.frame_len;
        Ok(WmaDecoder { frames: FrameDecoder::new(params), carry: Vec::new(), carry_skip: 0, delay })
    }

    /// What `planes` hold, less what is still to drop of the delay.
    fn block(&mut self, planes: &mut [Vec<f32>]) -> Block {
        let n = self.delay.min(planes.first().map_or(0, Vec::len));
        planes.iter_mut().for_each(|plane| drop(plane.drain(..n)));
        self.delay -= n;
        let p = self.frames.params();
        let channels = if p.channels == 1 { Position::FRONT_CENTER } else { Position::FRONT_LEFT | Position::FRONT_RIGHT };
        Block { frames: planes.first().map_or(0, Vec::len), rate: p.rate, channels: Channels::Positioned(channels) }
    }

    /// A superframe with the bit reservoir: its frame count, the offset to its first own
    /// frame, the end of the carried-over frame, its own frames, and the start of the next.
    fn superframe(&mut self, packet: &[u8], planes: &mut [Vec<f32>]) -> Result<(), frame::Damaged> {
        let cut = || frame::Damaged("wma: superframe cut short");
        let offset_bits = self.frames.params().byte_offset_bits + 3;
        let mut bits = Bits::new(packet);
        bits.skip(4).ok_or_else(cut)?;
        let count = bits.read(4).ok_or_else(cut)? as usize;
        if count == 0 {
            // All of it continues the carried frame.
            if self.carry.is_empty() || self.carry.len() + packet.len() > MAX_CARRY {
                return Err(frame::Damaged("wma: superframe without frames"));
            }
            self.carry.extend_from_slice(&packet[1..]);
            return Ok(());
        }
        let offset = bits.read(offset_bits).ok_or_else(cut)? as usize;
        let start = 8 + offset_bits as usize + offset;
        if start > packet.len() * 8 {
            return Err(frame::Damaged("wma: first frame past the superframe's end"));
        }
        // The count includes the frame carried over, decoded or not.
        let own = count - 1;
        if !self.carry.is_empty() {
            let end = bits.copy(bits.pos(), offset).ok_or_else(cut)?;
            if self.carry.len() + end.len() > MAX_CARRY {
                return Err(frame::Damaged("wma: carried frame too long"));
            }
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&end);
            let mut carried = Bits::new(&joined);
            carried.skip(self.carry_skip).ok_or_else(cut)?;
            self.frames.decode(&mut carried, planes)?;
        }
        let mut bits = Bits::new(&packet[start / 8..]);
        bits.skip(start % 8).ok_or_else(cut)?;
        self.frames.reset_block_lengths = true;
        for _ in 0..own {
            self.frames.decode(&mut bits, planes)?;
        }
        let end = start / 8 * 8 + bits.pos();
        self.carry_skip = end % 8;
        self.carry = packet.get(end / 8..).unwrap_or_default().to_vec();
        Ok(())
    }
}

impl PacketDecoder for WmaDecoder {
    /// A packet is a superframe, or several (a Matroska block may hold more than one).
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let p = self.frames.params();
        let (reservoir, block_align) = (p.bit_reservoir, p.block_align);
        planes.resize_with(p.channels, Vec::new);
        planes.iter_mut().for_each(Vec::clear);
        for data in packet.data.chunks(block_align) {
            let decoded = if reservoir { self.superframe(data, planes) } else { self.frames.decode(&mut Bits::new(data), planes) };
            if let Err(frame::Damaged(why)) = decoded {
                self.carry.clear();
                planes.iter_mut().for_each(Vec::clear);
                return Err(SymError::DecodeError(why));
            }
        }
        Ok(self.block(planes))
    }

    /// The overlap of the last frame: ffmpeg's decoder gives it too.
    fn drain(&mut self, planes: &mut Vec<Vec<f32>>) -> Block {
        planes.resize_with(self.frames.params().channels, Vec::new);
        planes.iter_mut().for_each(Vec::clear);
        self.frames.flush(planes);
        self.block(planes)
    }

    fn reset(&mut self) {
        self.frames.reset();
        self.carry.clear();
    }
}
