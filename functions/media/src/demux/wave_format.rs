//! An audio stream's WAVEFORMATEX or WAVEFORMATEXTENSIBLE (AVI's `strf`, ASF's stream
//! properties) to the track's codec parameters and the packetizer that cuts its chunks into
//! what the decoder wants: PCM in blocks of frames, ADPCM and WMA in their blocks, MPEG audio
//! and AC-3 in frames, AAC and DTS as chunks. Codecs without a decoder here are listed with
//! their ID, to be named in the error.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::*;

use crate::demux::bytes::{le16, le32};
use crate::demux::codec_ids::{CODEC_ID_WMA_LOSSLESS, CODEC_ID_WMA_PRO, wave_format};
use crate::demux::packets::Packetizer;
use crate::demux::split::Syntax;

/// Bytes of PCM per packet, at most.
const PCM_PACKET: usize = 64 * 1024;

/// `None` for a format too short to hold a WAVEFORMATEX, or without channels or rate.
pub fn parse(f: &[u8]) -> Option<(AudioCodecParameters, Packetizer)> {
    let mut tag = le16(f, 0)?;
    let channels = le16(f, 2)?;
    let rate = le32(f, 4)?;
    let block_align = usize::from(le16(f, 12)?);
    let bits = le16(f, 14)?;
    if channels == 0 || rate == 0 {
        return None;
    }
    let extra = le16(f, 16).and_then(|n| f.get(18..18usize.saturating_add(usize::from(n))));
    let mut layout = Channels::Discrete(channels);
    if let Some(p) = Position::from_wave_channel_count(u32::from(channels)) {
        layout = Channels::Positioned(p);
    }
    if tag == 0xfffe && f.len() >= 40 {
        if let Some(p) = le32(f, 20).and_then(Position::from_wave_channel_mask).filter(|p| p.bits().count_ones() == u32::from(channels)) {
            layout = Channels::Positioned(p);
        }
        tag = le16(f, 24)?;
    }
    let mut params = AudioCodecParameters::new();
    params.with_sample_rate(rate).with_channels(layout);
    let ch = usize::from(channels);
    let packets = match tag {
        1 | 3 | 6 | 7 => {
            let Some(codec) = pcm_codec(tag, bits) else { return Some(named(params, tag, block_align)) };
            let frame = usize::from(bits / 8).saturating_mul(ch).max(1);
            let max = PCM_PACKET.checked_div(frame).unwrap_or(1).max(1);
            params.for_codec(codec).with_max_frames_per_packet(max as u64);
            // symphonia's G.711 decoder takes its implicit width (16) or none, never the 8 coded bits.
            if !matches!(tag, 6 | 7) {
                params.with_bits_per_coded_sample(u32::from(bits));
            }
            Packetizer::blocks(frame, 1, max)
        }
        0x0050 | 0x0055 => {
            params.for_codec(if tag == 0x0050 { CODEC_ID_MP2 } else { CODEC_ID_MP3 }).with_max_frames_per_packet(1152);
            Packetizer::split(Syntax::Mpa)
        }
        0x0002 | 0x0011 => {
            // 4-bit samples after a per-channel block header: 7 bytes and two samples (MS),
            // 4 bytes and one sample (IMA).
            let (header, header_samples) = if tag == 0x0002 { (7, 2) } else { (4, 1) };
            let codec = if tag == 0x0002 { CODEC_ID_ADPCM_MS } else { CODEC_ID_ADPCM_IMA_WAV };
            params.for_codec(codec);
            let body = block_align.checked_sub(ch.saturating_mul(header)).filter(|_| bits == 4);
            // Without a valid block the decoder refuses the track, which names the codec.
            if let Some(frames) = body.and_then(|b| b.saturating_mul(2).checked_div(ch)?.checked_add(header_samples)) {
                params.with_frames_per_block(frames as u64).with_max_frames_per_packet(frames as u64);
                Packetizer::blocks(block_align, u32::try_from(frames).ok()?, 1)
            } else {
                Packetizer::whole(0, false)
            }
        }
        0x00ff | 0x1600 | 0x1610 | 0x706d | 0x4143 => {
            let asc = extra.filter(|e| e.len() >= 2).map(<[u8]>::to_vec);
            let asc = asc.unwrap_or_else(|| crate::demux::aac::config_for(rate, channels));
            params.for_codec(CODEC_ID_AAC).with_extra_data(asc.into_boxed_slice());
            Packetizer::whole(1024, true)
        }
        0x2000 => {
            params.for_codec(CODEC_ID_AC3);
            Packetizer::split(Syntax::Ac3)
        }
        0x0160 | 0x0161 if block_align > 0 => {
            // The decoder wants the whole format: rate, bit rate and the codec's flags.
            params.for_codec(CODEC_ID_WMA).with_extra_data(f.to_vec().into_boxed_slice());
            // WMA is constant bit rate: a block's share of a second times the rate, for the
            // packets' timestamps (and so the conversion's progress).
            let frames = le32(f, 8)
                .filter(|b| *b > 0)
                .and_then(|bytes_per_sec| (block_align as u64).checked_mul(u64::from(rate))?.checked_div(u64::from(bytes_per_sec)));
            Packetizer::blocks(block_align, frames.and_then(|n| u32::try_from(n).ok()).unwrap_or(0), 1)
        }
        0x2001 => {
            params.for_codec(CODEC_ID_DCA);
            Packetizer::whole(512, false)
        }
        _ => return Some(named(params, tag, block_align)),
    };
    Some((params, packets))
}

fn pcm_codec(tag: u16, bits: u16) -> Option<symphonia::core::codecs::audio::AudioCodecId> {
    Some(match (tag, bits) {
        (1, 8) => CODEC_ID_PCM_U8,
        (1, 16) => CODEC_ID_PCM_S16LE,
        (1, 24) => CODEC_ID_PCM_S24LE,
        (1, 32) => CODEC_ID_PCM_S32LE,
        (3, 32) => CODEC_ID_PCM_F32LE,
        (3, 64) => CODEC_ID_PCM_F64LE,
        (6, 8) => CODEC_ID_PCM_ALAW,
        (7, 8) => CODEC_ID_PCM_MULAW,
        _ => return None,
    })
}

/// A track of a codec we cannot decode: listed so that the error names it (its packets, the
/// format's blocks, are for the decoder to come).
fn named(mut params: AudioCodecParameters, tag: u16, block_align: usize) -> (AudioCodecParameters, Packetizer) {
    let codec = match tag {
        0x0160 | 0x0161 => CODEC_ID_WMA,
        0x0162 => CODEC_ID_WMA_PRO,
        0x0163 => CODEC_ID_WMA_LOSSLESS,
        0x566f => CODEC_ID_VORBIS,
        0xf1ac => CODEC_ID_FLAC,
        other => wave_format(other),
    };
    params.for_codec(codec);
    let packets = if block_align > 0 { Packetizer::blocks(block_align, 0, 1) } else { Packetizer::whole(0, false) };
    (params, packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wfx(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(tag.to_le_bytes());
        f.extend(channels.to_le_bytes());
        f.extend(rate.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(block_align.to_le_bytes());
        f.extend(bits.to_le_bytes());
        f.extend(0u16.to_le_bytes());
        f
    }

    #[test]
    fn adpcm_blocks_and_aac_configs_are_worked_out() {
        let (p, _) = parse(&wfx(0x11, 2, 44_100, 2048, 4)).unwrap();
        assert_eq!((p.codec, p.frames_per_block), (CODEC_ID_ADPCM_IMA_WAV, Some(2041)));
        let (p, _) = parse(&wfx(0x02, 1, 22_050, 512, 4)).unwrap();
        assert_eq!((p.codec, p.frames_per_block), (CODEC_ID_ADPCM_MS, Some(1012)));
        let (p, _) = parse(&wfx(0xff, 2, 44_100, 0, 16)).unwrap();
        assert_eq!(p.extra_data.as_deref(), Some(&[0x12, 0x10][..]));
    }

    #[test]
    fn undecodable_formats_are_listed_by_id_and_broken_ones_not_at_all() {
        assert_eq!(parse(&wfx(0x2000, 6, 48_000, 0, 0)).unwrap().0.codec, CODEC_ID_AC3);
        assert_eq!(parse(&wfx(0x0161, 2, 44_100, 0, 0)).unwrap().0.codec, CODEC_ID_WMA);
        assert_eq!(parse(&wfx(0x1234, 2, 44_100, 0, 0)).unwrap().0.codec, wave_format(0x1234));
        assert!(parse(&wfx(1, 0, 44_100, 4, 16)).is_none());
        assert!(parse(&[1, 0, 2]).is_none());
    }
}
