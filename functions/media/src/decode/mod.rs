//! Packet decoders: symphonia's for everything it knows, plus Opus through the pure-Rust
//! `opus-rs` decoder (symphonia has none). Both hand back planar f32. `choose` picks the track
//! and its decoder.

use std::sync::LazyLock;

use symphonia::core::codecs::registry::CodecRegistry;

pub mod choose;
mod opus;

pub use opus::{OpusDecoder, opus_pre_skip};

use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::AudioDecoder;
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

pub enum Decoder {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(Box<OpusDecoder>),
}

/// A decoded block: frames per channel, sample rate and layout; samples are in the planes.
pub struct Block {
    pub frames: usize,
    pub rate: u32,
    pub channels: Channels,
}

impl Decoder {
    pub fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        match self {
            Decoder::Symphonia(d) => {
                let buf = d.decode(packet)?;
                buf.copy_to_vecs_planar::<f32>(planes);
                Ok(Block { frames: buf.frames(), rate: buf.spec().rate(), channels: buf.spec().channels().clone() })
            }
            Decoder::Opus(d) => d.decode(packet, planes),
        }
    }

    pub fn reset(&mut self) {
        match self {
            Decoder::Symphonia(d) => d.reset(),
            Decoder::Opus(d) => d.reset(),
        }
    }
}

/// symphonia's decoders and ours, in one registry: a decoder of ours implements symphonia's
/// `AudioDecoder` + `RegisterableAudioDecoder` and is registered here.
pub fn codecs() -> &'static CodecRegistry {
    static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
        let mut codecs = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut codecs);
        codecs
    });
    &CODECS
}
