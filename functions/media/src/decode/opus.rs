//! Opus through the pure-Rust `opus-rs` decoder (symphonia has none): mono and stereo streams,
//! and multistream layouts (channel mapping family 1: up to 7.1 in the Vorbis channel order,
//! reordered here to the canonical one).

use opus_rs::multistream::{ChannelMappingTable, MultistreamDecoder};
use symphonia::core::audio::{Channels, Position};
use symphonia::core::errors::Error as SymError;
use symphonia::core::packet::Packet;

use crate::decode::layout::{canonical, deinterleave};
use crate::decode::{Block, PacketDecoder};

/// Longest Opus packet: 120 ms at 48 kHz.
const OPUS_MAX_FRAMES: usize = 5760;

enum Inner {
    Single(Box<opus_rs::OpusDecoder>),
    Multi(MultistreamDecoder),
}

pub struct OpusDecoder {
    inner: Inner,
    /// What the decoder was made from, to start afresh on reset.
    head: Option<Vec<u8>>,
    channels: usize,
    layout: Channels,
    /// For each canonical plane, the decoded channel that feeds it.
    order: Vec<usize>,
    pcm: Vec<f32>,
}

impl OpusDecoder {
    /// From the `OpusHead` (Ogg and Matroska carry it as codec private data), else a plain
    /// mono or stereo stream of `channels`.
    pub fn new(head: Option<&[u8]>, channels: usize) -> Result<OpusDecoder, String> {
        let head = head.filter(|h| h.starts_with(b"OpusHead") && h.len() >= 19);
        let family = head.map_or(0, |h| h[18]);
        let channels = head.map_or(channels, |h| usize::from(h[9]));
        let (inner, layout, order) = if family == 0 {
            if !(1..=2).contains(&channels) {
                return Err(format!("{channels} channels without a channel mapping"));
            }
            let layout = if channels == 1 { Position::FRONT_CENTER } else { Position::FRONT_LEFT | Position::FRONT_RIGHT };
            (Inner::Single(Box::new(opus_rs::OpusDecoder::new(48000, channels)?)), Channels::Positioned(layout), Vec::new())
        } else {
            let head = head.unwrap_or_default();
            let table = ChannelMappingTable::parse(family, head[9], &head[19..]).ok_or("a truncated channel mapping table")?;
            check_mapping(&table)?;
            let (layout, order) = match vorbis_order(family, channels).and_then(|o| canonical(&o)) {
                Some(layout) => layout,
                None => (Channels::Discrete(channels as u16), Vec::new()),
            };
            (Inner::Multi(MultistreamDecoder::new(48000, table)?), layout, order)
        };
        let pcm = vec![0.0; OPUS_MAX_FRAMES * channels];
        Ok(OpusDecoder { inner, head: head.map(<[u8]>::to_vec), channels, layout, order, pcm })
    }
}

impl PacketDecoder for OpusDecoder {
    fn decode(&mut self, packet: &Packet, planes: &mut Vec<Vec<f32>>) -> Result<Block, SymError> {
        let n = match &mut self.inner {
            Inner::Single(d) => d.decode(&packet.data, OPUS_MAX_FRAMES, &mut self.pcm),
            Inner::Multi(d) => d.decode(&packet.data, OPUS_MAX_FRAMES, &mut self.pcm),
        }
        .map_err(SymError::DecodeError)?
        .min(OPUS_MAX_FRAMES);
        let frames = deinterleave(&self.pcm[..n * self.channels], self.channels, &self.order, planes);
        Ok(Block { frames, rate: 48000, channels: self.layout.clone() })
    }

    fn reset(&mut self) {
        if let Ok(fresh) = OpusDecoder::new(self.head.as_deref(), self.channels) {
            *self = fresh;
        }
    }
}

/// opus-rs trusts the table: every entry must name a decoded channel (or be 255, silence),
/// and there must be a stream to decode.
fn check_mapping(table: &ChannelMappingTable) -> Result<(), String> {
    let decoded = usize::from(table.coupled_count) * 2 + usize::from(table.stream_count.saturating_sub(table.coupled_count));
    if table.stream_count == 0 || table.coupled_count > table.stream_count {
        return Err("an invalid channel mapping table".into());
    }
    match table.mapping.iter().find(|&&m| m != 255 && usize::from(m) >= decoded) {
        Some(m) => Err(format!("a channel mapping entry ({m}) past the {decoded} decoded channels")),
        None => Ok(()),
    }
}

/// Mapping family 1's channel order (RFC 7845 §5.1.1.2, the Vorbis order).
fn vorbis_order(family: u8, channels: usize) -> Option<Vec<Position>> {
    use Position as P;
    if family != 1 {
        return None;
    }
    Some(match channels {
        1 => vec![P::FRONT_CENTER],
        2 => vec![P::FRONT_LEFT, P::FRONT_RIGHT],
        3 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT],
        4 => vec![P::FRONT_LEFT, P::FRONT_RIGHT, P::REAR_LEFT, P::REAR_RIGHT],
        5 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::REAR_LEFT, P::REAR_RIGHT],
        6 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::REAR_LEFT, P::REAR_RIGHT, P::LFE1],
        7 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::SIDE_LEFT, P::SIDE_RIGHT, P::REAR_CENTER, P::LFE1],
        8 => vec![P::FRONT_LEFT, P::FRONT_CENTER, P::FRONT_RIGHT, P::SIDE_LEFT, P::SIDE_RIGHT, P::REAR_LEFT, P::REAR_RIGHT, P::LFE1],
        _ => return None,
    })
}

/// The pre-skip from an `OpusHead` (Ogg and Matroska both carry it as codec private data).
///
/// symphonia hands MP4's `dOps` box out behind an `OpusHead` magic too, but `dOps` is version
/// 0 and big-endian where an `OpusHead` is version 1 and little-endian; read as the latter, a
/// 312-sample pre-skip became 14,337 and cut 0.3 s off every Opus MP4.
pub fn opus_pre_skip(extra_data: Option<&[u8]>) -> Option<u32> {
    let head = extra_data?;
    if !head.starts_with(b"OpusHead") || head.len() < 12 {
        return None;
    }
    let bytes = [head[10], head[11]];
    Some(u32::from(if head[8] == 0 { u16::from_be_bytes(bytes) } else { u16::from_le_bytes(bytes) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8, table: &[u8]) -> Vec<u8> {
        let mut h = b"OpusHead\x01".to_vec();
        h.extend([channels, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, family]);
        h.extend_from_slice(table);
        h
    }

    #[test]
    fn the_pre_skip_is_read_from_ogg_heads_and_mp4_dops_boxes() {
        assert_eq!(opus_pre_skip(Some(&head(2, 0, &[]))), Some(312));
        // symphonia's MP4 reader: "OpusHead" + the dOps box (version 0, big-endian).
        let dops = [b"OpusHead".as_slice(), &[0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0, 0, 0]].concat();
        assert_eq!(opus_pre_skip(Some(&dops)), Some(312));
        assert_eq!(opus_pre_skip(Some(b"OpusTags")), None);
    }

    #[test]
    fn a_5_1_head_makes_a_multistream_decoder_in_the_canonical_order() {
        let d = OpusDecoder::new(Some(&head(6, 1, &[4, 2, 0, 4, 1, 2, 3, 5])), 0).unwrap();
        assert_eq!(d.layout.count(), 6);
        assert_eq!(d.order, [0, 2, 1, 5, 3, 4]);
    }

    #[test]
    fn mapping_entries_past_the_decoded_channels_are_refused() {
        assert!(OpusDecoder::new(Some(&head(2, 1, &[1, 1, 0, 7])), 0).is_err());
        assert!(OpusDecoder::new(Some(&head(2, 1, &[0, 0, 0, 0])), 0).is_err());
        assert!(OpusDecoder::new(Some(&head(6, 1, &[4, 2])), 0).is_err());
    }
}
