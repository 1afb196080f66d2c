//! FLV audio tags: the sound format byte (and AAC's sequence header) to the track's codec
//! parameters and the packetizer that turns tag payloads into codec packets.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, CODEC_ID_NULL_AUDIO};

use crate::demux::aac;
use crate::demux::codec_ids::{CODEC_ID_ADPCM_SWF, CODEC_ID_NELLYMOSER};
use crate::demux::frames::{FrameInfo, mpeg};
use crate::demux::packets::Packetizer;
use crate::demux::split::Syntax;

/// FLV's SoundFormat values we treat apart.
pub const AAC: u8 = 10;

/// The stream's codec as the first audio tag gives it.
pub struct Setup {
    pub params: AudioCodecParameters,
    pub packets: Packetizer,
    /// Bytes of each tag payload before the codec data (the sound format byte, and AAC's
    /// packet type).
    pub skip: usize,
}

/// PCM frames per packet at most (tags hold far fewer).
const MAX_PCM_FRAMES: usize = 1 << 16;

/// From the first audio tag's payload (`first[0]` is the sound format byte; for AAC the tag
/// is the sequence header, else the config is made from the flags).
pub fn setup(first: &[u8]) -> Option<Setup> {
    let flags = *first.first()?;
    let format = flags >> 4;
    // Rate index 0–3 (5.5, 11, 22, 44 kHz), 8/16-bit, mono/stereo.
    let flag_rate = [5_512u32, 11_025, 22_050, 44_100][usize::from((flags >> 2) & 3)];
    let wide = flags & 2 != 0;
    let flag_channels: u16 = if flags & 1 != 0 { 2 } else { 1 };
    let mut params = AudioCodecParameters::new();
    let (codec, rate, channels, packets, skip): (AudioCodecId, u32, u16, Packetizer, usize) = match format {
        AAC => {
            let asc = match first.get(1) {
                Some(0) => first.get(2..).filter(|a| a.len() >= 2).map(<[u8]>::to_vec),
                _ => None,
            }
            .unwrap_or_else(|| aac::config_for(flag_rate, flag_channels));
            let (rate, channels) = aac::rate_and_channels(&asc).unwrap_or((flag_rate, flag_channels));
            params.with_extra_data(asc.into_boxed_slice());
            (CODEC_ID_AAC, rate, channels, Packetizer::whole(1024, false), 2)
        }
        2 | 14 => {
            // The frames say what they are (format 14 is MP3 at 8 kHz, which no flag can say).
            let header = first.get(1..).and_then(first_mpa_header);
            let fallback_rate = if format == 14 { 8_000 } else { flag_rate };
            let (codec, rate, channels) =
                header.map_or((CODEC_ID_MP3, fallback_rate, flag_channels), |h| (h.codec, h.rate, h.channels.count() as u16));
            params.with_max_frames_per_packet(1152);
            (codec, rate, channels, Packetizer::split(Syntax::Mpa), 1)
        }
        0 | 3 => {
            // Format 0 is "platform endian", in practice the little-endian of the PCs that wrote it.
            let (codec, width) = if wide { (CODEC_ID_PCM_S16LE, 2) } else { (CODEC_ID_PCM_U8, 1) };
            let frame = usize::from(flag_channels).saturating_mul(width);
            params.with_max_frames_per_packet(MAX_PCM_FRAMES as u64).with_bits_per_coded_sample(8u32.saturating_mul(width as u32));
            (codec, flag_rate, flag_channels, Packetizer::blocks(frame, 1, MAX_PCM_FRAMES), 1)
        }
        7 | 8 => {
            let codec = if format == 7 { CODEC_ID_PCM_ALAW } else { CODEC_ID_PCM_MULAW };
            params.with_max_frames_per_packet(MAX_PCM_FRAMES as u64);
            let frame = usize::from(flag_channels);
            (codec, 8_000, flag_channels, Packetizer::blocks(frame, 1, MAX_PCM_FRAMES), 1)
        }
        // Named only: no decoder here.
        1 => (CODEC_ID_ADPCM_SWF, flag_rate, flag_channels, Packetizer::whole(0, false), 1),
        4 => (CODEC_ID_NELLYMOSER, 16_000, 1, Packetizer::whole(0, false), 1),
        5 => (CODEC_ID_NELLYMOSER, 8_000, 1, Packetizer::whole(0, false), 1),
        6 => (CODEC_ID_NELLYMOSER, flag_rate, flag_channels, Packetizer::whole(0, false), 1),
        11 => (CODEC_ID_SPEEX, 16_000, 1, Packetizer::whole(0, false), 1),
        _ => (CODEC_ID_NULL_AUDIO, flag_rate, flag_channels, Packetizer::whole(0, false), 1),
    };
    params.for_codec(codec).with_sample_rate(rate).with_channels(layout(channels));
    Some(Setup { params, packets, skip })
}

/// The first MPEG audio header in the payload, near its start.
fn first_mpa_header(payload: &[u8]) -> Option<FrameInfo> {
    (0..payload.len().min(4096)).find_map(|at| Some(mpeg::parse(payload.get(at..)?)?.1))
}

/// WAVE order for as many channels as the codec says (AAC's 3–8 channel configurations have
/// other orders, but symphonia decodes AAC in stereo at most).
pub fn layout(channels: u16) -> Channels {
    match Position::from_wave_channel_count(u32::from(channels)) {
        Some(p) => Channels::Positioned(p),
        None => Channels::Discrete(channels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_takes_its_config_from_the_sequence_header() {
        let s = setup(&[0xaf, 0x00, 0x11, 0x90]).unwrap();
        assert_eq!(s.params.codec, CODEC_ID_AAC);
        assert_eq!((s.params.sample_rate, s.skip), (Some(48_000), 2));
        assert_eq!(s.params.extra_data.as_deref(), Some(&[0x11, 0x90][..]));
    }

    #[test]
    fn mp3_takes_rate_and_channels_from_its_frames() {
        let s = setup(&[0x2f, 0xff, 0xf3, 0x82, 0xc4]).unwrap();
        assert_eq!((s.params.codec, s.params.sample_rate), (CODEC_ID_MP3, Some(22_050)));
        assert_eq!(s.params.channels.map(|c| c.count()), Some(1));
    }

    #[test]
    fn nellymoser_and_speex_are_listed() {
        assert_eq!(setup(&[0x52]).unwrap().params.codec, CODEC_ID_NELLYMOSER);
        assert_eq!(setup(&[0xb2]).unwrap().params.codec, CODEC_ID_SPEEX);
        assert_eq!(setup(&[]).map(|s| s.skip), None);
    }
}
