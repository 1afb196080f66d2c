//! Packet decoders, each handing back planar f32 in the canonical channel layout (see
//! `crate::mix`): symphonia's for what it decodes well, and ours (behind [`PacketDecoder`])
//! for the rest — AAC (`aac`: HE-AAC and multichannel), AC-3/E-AC-3 (`ac3`), DTS (`dts`), Opus
//! (`opus`), WMA v1/v2 (`wma`). `choose` picks the track and its decoder; `layout` maps codecs'
//! channel orders.

use std::sync::LazyLock;

use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::AudioDecoder;
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

mod aac;
mod ac3;
pub mod choose;
mod dts;
mod layout;
mod opus;
pub(crate) mod wma;

pub use opus::opus_pre_skip;

pub enum Decoder {
    Symphonia(Box<dyn AudioDecoder>),
    Own(Box<dyn PacketDecoder>),
}

/// A decoder of ours: one packet (one codec frame) in, planar f32 out.
pub trait PacketDecoder: Send {
    /// Decodes `packet` into `planes` (one Vec per channel, canonical order).
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError>;
    /// At the end of the stream: what the decoder still holds (most decode each packet at once).
    fn drain(&mut self, _planes: &mut Vec<Vec<f32>>) -> Block {
        Block::empty()
    }
    /// Forgets the stream's state (after a packet that could not be decoded).
    fn reset(&mut self);
}

/// A decoded block: frames per channel, sample rate and layout; samples are in the planes.
pub struct Block {
    pub frames: usize,
    pub rate: u32,
    pub channels: Channels,
}

impl Block {
    /// Nothing decoded yet (a decoder that needs more packets first).
    pub fn empty() -> Block {
        Block { frames: 0, rate: 0, channels: Channels::Discrete(0) }
    }
}

impl Decoder {
    pub fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        match self {
            Decoder::Symphonia(d) => {
                let buf = d.decode(packet)?;
                buf.copy_to_vecs_planar::<f32>(planes);
                Ok(Block { frames: buf.frames(), rate: buf.spec().rate(), channels: buf.spec().channels().clone() })
            }
            Decoder::Own(d) => {
                let block = d.decode(packet, planes)?;
                Ok(trim(block, packet, planes))
            }
        }
    }

    /// At the end of the stream: what the decoder still holds.
    pub fn drain(&mut self, planes: &mut Vec<Vec<f32>>) -> Block {
        match self {
            Decoder::Symphonia(_) => Block::empty(),
            Decoder::Own(d) => d.drain(planes),
        }
    }

    pub fn reset(&mut self) {
        match self {
            Decoder::Symphonia(d) => d.reset(),
            Decoder::Own(d) => d.reset(),
        }
    }
}

/// Drops what the demuxer marks as padding at either end of the packet (symphonia's decoders
/// do this themselves): the Ogg demuxer marks the last packet's padding from the granule
/// position, for instance.
fn trim(block: Block, packet: &Packet, planes: &mut [Vec<f32>]) -> Block {
    let (front, back) = (packet.trim_start.get() as usize, packet.trim_end.get() as usize);
    if front == 0 && back == 0 {
        return block;
    }
    let start = front.min(block.frames);
    let end = block.frames.saturating_sub(back).max(start);
    for plane in planes.iter_mut() {
        plane.truncate(end);
        plane.drain(..start);
    }
    Block { frames: end - start, ..block }
}

/// symphonia's decoders, in one registry.
pub fn codecs() -> &'static CodecRegistry {
    static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
        let mut codecs = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut codecs);
        codecs
    });
    &CODECS
}
