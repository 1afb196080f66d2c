//! Choosing the audio track and its decoder, and naming codecs (for errors and the report) the
//! way ffprobe does.

use std::panic::{AssertUnwindSafe, catch_unwind};

use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoderOptions, CODEC_ID_NULL_AUDIO};
use symphonia::core::formats::{Track, TrackType};

use crate::MediaError;
use crate::decode::aac::AacDecoder;
use crate::decode::ac3::Ac3Decoder;
use crate::decode::dts::DtsDecoder;
use crate::decode::opus::OpusDecoder;
use crate::decode::wma::WmaDecoder;
use crate::decode::{Decoder, PacketDecoder};
use crate::demux::mp4::{self, Mp4Info};

/// The codecs our own decoders take (see `crate::decode`).
const OURS: [AudioCodecId; 6] = [CODEC_ID_AAC, CODEC_ID_AC3, CODEC_ID_EAC3, CODEC_ID_DCA, CODEC_ID_OPUS, CODEC_ID_WMA];

/// The first audio track we can decode, else the first audio track (to name its codec).
pub fn choose_track(tracks: &[Track], mp4: Option<&Mp4Info>) -> Result<Track, MediaError> {
    let audio: Vec<&Track> = tracks.iter().filter(|t| t.track_type() == Some(TrackType::Audio)).collect();
    let codecs = crate::decode::codecs();
    let decodable = audio.iter().find(|t| {
        t.codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .is_some_and(|p| OURS.contains(&p.codec) || codecs.get_audio_decoder(p.codec).is_some())
    });
    if let Some(t) = decodable.or(audio.first()) {
        return Ok((*t).clone());
    }
    // symphonia may drop tracks whose codec it does not know; the MP4 walk still names them.
    match mp4.and_then(|i| i.fourcc) {
        Some(fourcc) => Err(MediaError::UnsupportedCodec { codec: mp4::codec_name(fourcc) }),
        None => Err(MediaError::NoAudioTrack),
    }
}

pub fn extra_data(track: &Track) -> Option<&[u8]> {
    track.codec_params.as_ref()?.audio()?.extra_data.as_deref()
}

pub fn make_decoder(track: &Track, name: &str, mp4: Option<&Mp4Info>) -> Result<Decoder, MediaError> {
    let unsupported = || MediaError::UnsupportedCodec { codec: name.to_owned() };
    let mut params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or_else(unsupported)?.clone();
    if params.codec == CODEC_ID_NULL_AUDIO
        && let Some(cookie) = mp4.and_then(|i| i.alac_cookie.clone())
    {
        params.codec = CODEC_ID_ALAC;
        params.extra_data = Some(cookie.into_boxed_slice());
    }
    let channels = params.channels.as_ref().map(|c| c.count()).or(mp4.and_then(|i| i.channels.map(usize::from)));
    let extra = params.extra_data.as_deref();
    let ours = |made: Result<Box<dyn PacketDecoder>, String>| {
        made.map(Decoder::Own).map_err(|why| MediaError::UnsupportedCodec { codec: format!("{name} ({why})") })
    };
    match params.codec {
        CODEC_ID_AAC => {
            return AacDecoder::new(extra, params.sample_rate, channels)
                .map(|d| Decoder::Own(Box::new(d)))
                .map_err(|_| MediaError::UnsupportedCodec { codec: aac_variant(extra) });
        }
        CODEC_ID_OPUS => return ours(OpusDecoder::new(extra, channels.unwrap_or(2)).map(|d| Box::new(d) as _)),
        CODEC_ID_AC3 | CODEC_ID_EAC3 => return ours(Ac3Decoder::new().map(|d| Box::new(d) as _)),
        CODEC_ID_DCA => return ours(DtsDecoder::new().map(|d| Box::new(d) as _)),
        CODEC_ID_WMA => return ours(WmaDecoder::new(extra).map(|d| Box::new(d) as _)),
        _ => {}
    }
    let made = catch_unwind(AssertUnwindSafe(|| crate::decode::codecs().make_audio_decoder(&params, &AudioDecoderOptions::default())));
    match made {
        Ok(Ok(d)) => Ok(Decoder::Symphonia(d)),
        _ => Err(unsupported()),
    }
}

/// Names the AAC flavour the decoder rejected, from the AudioSpecificConfig.
fn aac_variant(asc: Option<&[u8]>) -> String {
    let Some(&[b0, b1, ..]) = asc else { return "aac".into() };
    let object_type = b0 >> 3;
    let channel_config = (b1 >> 3) & 0x0f;
    match object_type {
        5 => "he-aac".into(),
        29 => "he-aac v2".into(),
        2 if channel_config > 2 => format!("aac (channel configuration {channel_config})"),
        2 => "aac".into(),
        other => format!("aac (object type {other})"),
    }
}

/// A short lowercase codec name, as ffprobe would print it.
pub fn codec_name(id: AudioCodecId, mp4: Option<&Mp4Info>) -> String {
    let known = match id {
        CODEC_ID_AAC => "aac",
        CODEC_ID_MP3 => "mp3",
        CODEC_ID_MP2 => "mp2",
        CODEC_ID_MP1 => "mp1",
        CODEC_ID_VORBIS => "vorbis",
        CODEC_ID_OPUS => "opus",
        CODEC_ID_FLAC => "flac",
        CODEC_ID_ALAC => "alac",
        CODEC_ID_AC3 => "ac3",
        CODEC_ID_EAC3 => "eac3",
        CODEC_ID_AC4 => "ac4",
        CODEC_ID_DCA => "dts",
        CODEC_ID_TRUEHD => "truehd",
        CODEC_ID_WMA => "wma",
        CODEC_ID_SPEEX => "speex",
        CODEC_ID_WAVPACK => "wavpack",
        CODEC_ID_MUSEPACK => "musepack",
        CODEC_ID_TTA => "tta",
        CODEC_ID_MONKEYS_AUDIO => "ape",
        CODEC_ID_ATRAC1 | CODEC_ID_ATRAC3 | CODEC_ID_ATRAC3PLUS | CODEC_ID_ATRAC9 => "atrac",
        CODEC_ID_COOK => "cook",
        CODEC_ID_RA10 | CODEC_ID_RA20 | CODEC_ID_SIPR | CODEC_ID_RALF => "realaudio",
        CODEC_ID_NULL_AUDIO => "",
        _ if (0x100..0x200).contains(&id_value(id)) => "pcm",
        _ if (0x200..0x300).contains(&id_value(id)) => "adpcm",
        _ => "",
    };
    if !known.is_empty() {
        return known.into();
    }
    if let Some(name) = crate::demux::codec_ids::name(id) {
        return name;
    }
    match mp4.and_then(|i| i.fourcc) {
        Some(f) => mp4::codec_name(f),
        None => format!("codec {id}"),
    }
}

/// The number behind a codec ID (symphonia numbers PCM codecs 0x100.., ADPCM 0x200..).
pub(crate) fn id_value(id: AudioCodecId) -> u32 {
    u32::from_str_radix(id.to_string().trim_start_matches("0x"), 16).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aac_flavours_from_the_audio_specific_config() {
        assert_eq!(aac_variant(Some(&[0x12, 0x10])), "aac");
        assert_eq!(aac_variant(Some(&[0x2b, 0x92, 0x08, 0x00])), "he-aac");
        assert_eq!(aac_variant(Some(&[0xeb, 0x92])), "he-aac v2");
        assert_eq!(aac_variant(Some(&[0x11, 0xb0])), "aac (channel configuration 6)");
        assert_eq!(aac_variant(None), "aac");
    }
}
