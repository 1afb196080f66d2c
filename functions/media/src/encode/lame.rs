//! LAME, configured for a preset, fed planar f32 and producing MP3 bytes; plus the final
//! LAME/Xing tag frame that replaces LAME's placeholder once the stream is complete.

use mp3lame_encoder::{Builder, DualPcm, Encoder, FlushGap, MonoPcm, Quality, VbrMode};

use crate::{MediaError, Preset};

/// The sample rates an MP3 stream can carry (MPEG-1, -2 and -2.5).
pub const MP3_RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

/// The MP3 rate nearest to `rate`, preferring the higher one on ties; `rate` itself if MP3 has it.
pub fn nearest_mp3_rate(rate: u32) -> u32 {
    *MP3_RATES.iter().min_by_key(|r| ((**r as i64 - rate as i64).abs(), u32::MAX - **r)).unwrap_or(&44100)
}

pub struct Mp3Encoder {
    lame: Encoder,
    channels: usize,
    out: Vec<u8>,
}

fn quality(q: u8) -> Quality {
    match q {
        0 => Quality::Best,
        1 => Quality::SecondBest,
        2 => Quality::NearBest,
        3 => Quality::VeryNice,
        4 => Quality::Nice,
        5 => Quality::Good,
        6 => Quality::Decent,
        7 => Quality::Ok,
        8 => Quality::SecondWorst,
        _ => Quality::Worst,
    }
}

/// CBR bitrates valid at a sample rate: MPEG-1 (32–48 kHz) carries 32..320 kbps, MPEG-2/2.5 8..160.
fn clamp_bitrate(kbps: u16, rate: u32) -> u16 {
    if rate >= 32000 { kbps.clamp(32, 320) } else { kbps.clamp(8, 160) }
}

impl Mp3Encoder {
    /// With `tag`, LAME's first frame is a placeholder for the LAME/Xing tag ([`Self::lame_tag`]).
    pub fn new(rate: u32, channels: usize, preset: Preset, tag: bool) -> Result<Mp3Encoder, MediaError> {
        let enc_err = |what: &str, e: &dyn std::fmt::Display| MediaError::Encoder(format!("{what}: {e}"));
        if !preset.is_valid() {
            return Err(MediaError::BadPreset(preset.to_string()));
        }
        let mut b = Builder::new().ok_or_else(|| MediaError::Encoder("lame_init failed".into()))?;
        b.set_num_channels(channels as u8).map_err(|e| enc_err("channels", &e))?;
        b.set_sample_rate(rate).map_err(|e| enc_err("sample rate", &e))?;
        b.set_output_sample_rate(std::num::NonZeroU32::new(rate)).map_err(|e| enc_err("output rate", &e))?;
        b.set_to_write_vbr_tag(tag).map_err(|e| enc_err("vbr tag", &e))?;
        match preset {
            Preset::Vbr(q) => {
                b.set_vbr_mode(VbrMode::Mtrh).map_err(|e| enc_err("vbr mode", &e))?;
                b.set_vbr_quality(quality(q)).map_err(|e| enc_err("vbr quality", &e))?;
            }
            Preset::Cbr(kbps) => {
                b.set_vbr_mode(VbrMode::Off).map_err(|e| enc_err("vbr mode", &e))?;
                lame_ffi::set_bitrate(&mut b, clamp_bitrate(kbps, rate))?;
            }
        }
        let lame = b.build().map_err(|e| enc_err("lame_init_params", &e))?;
        Ok(Mp3Encoder { lame, channels, out: Vec::with_capacity(16 * 1024) })
    }

    /// Encodes one block; `right` is ignored for mono. Returns the bytes LAME produced.
    pub fn encode(&mut self, left: &[f32], right: &[f32]) -> Result<&[u8], MediaError> {
        self.out.clear();
        self.out.reserve(left.len() * 5 / 4 + 7200);
        let res = if self.channels == 1 {
            self.lame.encode_to_vec(MonoPcm(left), &mut self.out)
        } else {
            self.lame.encode_to_vec(DualPcm { left, right }, &mut self.out)
        };
        res.map_err(|e| MediaError::Encoder(e.to_string()))?;
        Ok(&self.out)
    }

    /// Flushes LAME's buffers, keeping the gapless padding information.
    pub fn flush(&mut self) -> Result<&[u8], MediaError> {
        self.out.clear();
        self.out.reserve(7200 * 2);
        self.lame.flush_to_vec::<FlushGap>(&mut self.out).map_err(|e| MediaError::Encoder(e.to_string()))?;
        Ok(&self.out)
    }

    /// The final LAME/Xing frame (frame count, TOC, encoder delay and padding), to be written over
    /// the placeholder frame LAME emitted first.
    pub fn lame_tag(&self) -> Vec<u8> {
        let mut tag = Vec::with_capacity(self.lame.lame_tag_size().max(1));
        match self.lame.lame_tag_encode_to_vec(&mut tag) {
            Some(_) => tag,
            None => Vec::new(),
        }
    }
}

#[allow(unsafe_code)]
mod lame_ffi {
    //! The one LAME setting the safe wrapper lacks: CBR bitrates not in its enum (e.g. 56 kbps).
    use mp3lame_encoder::Builder;

    use crate::MediaError;

    pub fn set_bitrate(b: &mut Builder, kbps: u16) -> Result<(), MediaError> {
        // SAFETY: `as_ptr` returns the live `lame_global_flags` owned by `b`, which outlives this
        // call; `lame_set_brate` only stores an integer in it and we do not free or retain it.
        let rc = unsafe { mp3lame_sys::lame_set_brate(b.as_ptr(), i32::from(kbps)) };
        if rc == 0 { Ok(()) } else { Err(MediaError::Encoder(format!("lame_set_brate({kbps}) = {rc}"))) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rates() {
        assert_eq!(nearest_mp3_rate(44100), 44100);
        assert_eq!(nearest_mp3_rate(96000), 48000);
        assert_eq!(nearest_mp3_rate(88200), 48000);
        assert_eq!(nearest_mp3_rate(7350), 8000);
        assert_eq!(nearest_mp3_rate(64000), 48000);
        assert_eq!(nearest_mp3_rate(37800), 32000);
    }

    #[test]
    fn cbr_bitrates_clamped_to_what_the_mpeg_version_allows() {
        assert_eq!(clamp_bitrate(320, 8000), 160);
        assert_eq!(clamp_bitrate(32, 44100), 32);
        assert_eq!(clamp_bitrate(56, 48000), 56);
    }
}
