//! Codec IDs for audio codecs symphonia has no well-known ID for, so that a demuxer of ours can
//! list such a track and the conversion fail with `unsupported_codec` naming it (as ffprobe
//! does) rather than with "no audio track".

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::common::FourCc;

pub const CODEC_ID_NELLYMOSER: AudioCodecId = AudioCodecId::new(FourCc::new(*b"nely"));
/// Flash's own ADPCM (FLV sound format 1), unlike the WAV ADPCMs.
pub const CODEC_ID_ADPCM_SWF: AudioCodecId = AudioCodecId::new(FourCc::new(*b"aswf"));
pub const CODEC_ID_WMA_PRO: AudioCodecId = AudioCodecId::new(FourCc::new(*b"wmap"));
pub const CODEC_ID_WMA_LOSSLESS: AudioCodecId = AudioCodecId::new(FourCc::new(*b"wmal"));
/// Opus in MPEG-TS (ETSI TS 102 366-style access units with their own control headers), which
/// no decoder here is fed yet; the Opus decoder itself reads Ogg, Matroska and MP4 packets.
pub const CODEC_ID_OPUS_IN_TS: AudioCodecId = AudioCodecId::new(FourCc::new(*b"opts"));

const NAMED: [(AudioCodecId, &str); 5] = [
    (CODEC_ID_NELLYMOSER, "nellymoser"),
    (CODEC_ID_ADPCM_SWF, "adpcm_swf"),
    (CODEC_ID_WMA_PRO, "wmapro"),
    (CODEC_ID_WMA_LOSSLESS, "wmalossless"),
    (CODEC_ID_OPUS_IN_TS, "opus in mpeg-ts"),
];

/// A WAVEFORMATEX format tag (AVI, ASF) with no codec here: the tag, in four hex digits.
pub fn wave_format(tag: u16) -> AudioCodecId {
    let hex = format!("{tag:04x}");
    let mut cc = [b'0'; 4];
    cc.copy_from_slice(&hex.as_bytes()[..4]);
    AudioCodecId::new(FourCc::new(cc))
}

/// The name of one of these IDs.
pub fn name(id: AudioCodecId) -> Option<String> {
    if let Some((_, name)) = NAMED.iter().find(|(known, _)| *known == id) {
        return Some((*name).into());
    }
    // An `AudioCodecId` made from a FourCC shows as 0x8000_0000 | its bytes.
    let value = u32::from_str_radix(id.to_string().trim_start_matches("0x"), 16).ok()?;
    let bytes = (value & 0x7fff_ffff).to_be_bytes();
    let digits = std::str::from_utf8(&bytes).ok()?;
    let tag = (value & 0x8000_0000 != 0 && digits.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| u16::from_str_radix(digits, 16).ok())??;
    Some(format!("wave format 0x{tag:04x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_our_ids_and_wave_format_tags() {
        assert_eq!(name(CODEC_ID_NELLYMOSER).as_deref(), Some("nellymoser"));
        assert_eq!(name(wave_format(0x566f)).as_deref(), Some("wave format 0x566f"));
        assert_eq!(name(symphonia::core::codecs::audio::well_known::CODEC_ID_MP3), None);
    }
}
