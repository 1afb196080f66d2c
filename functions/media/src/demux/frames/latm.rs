//! AAC in LOAS/LATM (ISO 14496-3, 1.7): LOAS frames (sync 0x2B7, 13-bit length) each holding
//! an AudioMuxElement with in-band configuration (muxConfigPresent = 1). The element carries,
//! now and then, a StreamMuxConfig with the AudioSpecificConfig, then the raw AAC frame at a
//! bit offset. Read here: one program, one layer, one subframe, frame length type 0 — what
//! ffmpeg (`-mpegts_flags latm`) and broadcasters write.

#![deny(clippy::arithmetic_side_effects)]

use symphonia::core::codecs::audio::well_known::CODEC_ID_AAC;

use super::FrameInfo;
use super::bits::Bits;

pub const HEADER_LEN: usize = 3;

/// The LOAS frame whose header starts `b`: its length, header included.
fn parse_sync(b: &[u8]) -> Option<(usize, ())> {
    let h = b.get(..HEADER_LEN)?;
    if h[0] != 0x56 || h[1] & 0xe0 != 0xe0 {
        return None;
    }
    let len = (usize::from(h[1] & 0x1f) << 8) | usize::from(h[2]);
    Some((len.checked_add(HEADER_LEN)?, ()))
}

/// The first LOAS frame in `buf`: its start and length (which may run past the end of `buf`).
pub fn next_frame(buf: &[u8]) -> Option<(usize, usize)> {
    super::scan(buf, HEADER_LEN, parse_sync, |b| parse_sync(b).is_some()).map(|(start, len, ())| (start, len))
}

/// The configuration in force, kept between frames (most frames say "same as before").
#[derive(Default)]
pub struct Latm {
    config: Option<Config>,
}

struct Config {
    asc: Vec<u8>,
    info: FrameInfo,
}

impl Latm {
    /// The raw AAC frame of a whole LOAS frame, and what it holds; `None` for a frame that
    /// cannot be read (no configuration yet, or a layout not read here).
    pub fn unpack(&mut self, frame: &[u8]) -> Option<(Vec<u8>, FrameInfo)> {
        let mut bits = Bits::new(frame.get(HEADER_LEN..)?);
        let same_config = bits.flag()?;
        if !same_config {
            self.config = stream_mux_config(&mut bits);
        }
        let config = self.config.as_ref()?;
        let mut len = 0usize;
        loop {
            let step = bits.read(8)?;
            len = len.checked_add(step as usize)?;
            if step != 255 {
                break;
            }
        }
        let payload = bits.copy(bits.pos(), len.checked_mul(8)?)?;
        Some((payload, config.info.clone()))
    }

    /// The AudioSpecificConfig last read, for the decoder.
    pub fn audio_specific_config(&self) -> Option<&[u8]> {
        self.config.as_ref().map(|c| c.asc.as_slice())
    }
}

/// StreamMuxConfig; `None` for what is not read here (the frames wait for a config that is).
fn stream_mux_config(bits: &mut Bits) -> Option<Config> {
    let version = bits.read(1)?;
    if version == 1 && bits.read(1)? == 1 {
        return None; // audioMuxVersionA: reserved
    }
    if version == 1 {
        latm_value(bits)?; // taraBufferFullness
    }
    let same_time_framing = bits.flag()?;
    let (sub_frames, programs, layers) = (bits.read(6)?, bits.read(4)?, bits.read(3)?);
    if !same_time_framing || sub_frames != 0 || programs != 0 || layers != 0 {
        return None;
    }
    let config = if version == 1 {
        let asc_bits = usize::try_from(latm_value(bits)?).ok()?;
        let start = bits.pos();
        let config = audio_specific_config(bits)?;
        bits.skip(asc_bits.checked_sub(bits.pos().checked_sub(start)?)?)?;
        config
    } else {
        audio_specific_config(bits)?
    };
    if bits.read(3)? != 0 {
        return None; // frame length type other than "bytes, given per frame"
    }
    bits.skip(8)?; // latmBufferFullness
    if bits.flag()? {
        if version == 1 {
            latm_value(bits)?;
        } else {
            while bits.flag()? {
                bits.skip(8)?;
            }
            bits.skip(8)?;
        }
    }
    if bits.flag()? {
        bits.skip(8)?; // CRC
    }
    Some(config)
}

/// LatmGetValue: 1 to 4 bytes, their count first.
fn latm_value(bits: &mut Bits) -> Option<u32> {
    let bytes = bits.read(2)?;
    let mut v = 0u32;
    for _ in 0..=bytes {
        v = (v << 8) | bits.read(8)?;
    }
    Some(v)
}

/// Reads an AudioSpecificConfig (for the AAC object types with a GASpecificConfig) and keeps its
/// bits as bytes.
fn audio_specific_config(bits: &mut Bits) -> Option<Config> {
    let start = bits.pos();
    let mut object_type = object_type(bits)?;
    let rate_index = bits.read(4)?;
    let mut rate = if rate_index == 15 { bits.read(24)? } else { *super::adts::RATES.get(rate_index as usize)? };
    let channel_config = bits.read(4)?;
    if object_type == 5 || object_type == 29 {
        // SBR / PS: the core's rate and object type follow; the output rate is the extension's.
        let ext_index = bits.read(4)?;
        rate = if ext_index == 15 { bits.read(24)? } else { *super::adts::RATES.get(ext_index as usize)? };
        object_type = self::object_type(bits)?;
    }
    if !matches!(object_type, 1..=4 | 6 | 7 | 17 | 19..=23) || channel_config == 0 {
        return None; // no GASpecificConfig, or a program config element: not read here
    }
    let short_frames = bits.flag()?;
    if bits.flag()? {
        bits.skip(14)?; // core coder delay
    }
    let extension = bits.flag()?;
    if object_type == 6 || object_type == 20 {
        bits.skip(3)?;
    }
    if extension {
        match object_type {
            22 => bits.skip(16)?,
            17 | 19 | 20 | 23 => bits.skip(3)?,
            _ => {}
        }
        bits.skip(1)?;
    }
    let asc = bits.copy(start, bits.pos().checked_sub(start)?)?;
    let channels = super::adts::channels(u8::try_from(channel_config).ok()?);
    let samples = if short_frames { 960 } else { 1024 };
    Some(Config { asc, info: FrameInfo { codec: CODEC_ID_AAC, rate, channels, samples } })
}

fn object_type(bits: &mut Bits) -> Option<u32> {
    match bits.read(5)? {
        31 => bits.read(6)?.checked_add(32),
        t => Some(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of a LOAS frame as ffmpeg writes it: a StreamMuxConfig with AAC-LC, 48 kHz,
    /// mono, then a 4-byte payload, then one more frame that reuses the config.
    fn frames() -> Vec<u8> {
        // useSameStreamMux 0, version 0, same framing 1, 0 subframes/programs/layers,
        // ASC 00010 0011 0001 000, frame length type 000, fullness 0xff, no other data, no CRC,
        // payload length 4, payload de ad be ef.
        let element: &[u8] = &[0x20, 0x00, 0x11, 0x88, 0x1f, 0xe0, 0x26, 0xf5, 0x6d, 0xf7, 0x78];
        let mut out = vec![0x56, 0xe0, element.len() as u8];
        out.extend_from_slice(element);
        // useSameStreamMux 1, length 2, payload 12 34 (then 7 bits of padding).
        out.extend_from_slice(&[0x56, 0xe0, 0x04, 0x81, 0x09, 0x1a, 0x00]);
        out
    }

    #[test]
    fn reads_the_config_then_frames_that_reuse_it() {
        let buf = frames();
        let (start, len) = next_frame(&buf).unwrap();
        assert_eq!((start, len), (0, 14));
        let mut latm = Latm::default();
        let (payload, info) = latm.unpack(&buf[..14]).unwrap();
        assert_eq!(payload, [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!((info.rate, info.channels.count(), info.samples), (48_000, 1, 1024));
        assert_eq!(latm.audio_specific_config(), Some(&[0x11, 0x88][..]));
        let (start, len) = next_frame(&buf[14..]).unwrap();
        let (payload, _) = latm.unpack(&buf[14 + start..14 + start + len]).unwrap();
        assert_eq!(payload, [0x12, 0x34]);
    }

    #[test]
    fn reads_a_version_1_config_with_its_asc_length() {
        // useSameStreamMux 0, version 1, versionA 0, taraBufferFullness (1 byte), same framing,
        // 0 subframes/programs/layers, ascLen 16, ASC 0x1188, frame length type 0, fullness,
        // no other data, no CRC, payload length 1, payload ab.
        let element = [0x47, 0xfc, 0x00, 0x00, 0x80, 0x8c, 0x40, 0xff, 0x00, 0x6a, 0xc0];
        let mut frame = vec![0x56, 0xe0, element.len() as u8];
        frame.extend_from_slice(&element);
        let mut latm = Latm::default();
        let (payload, info) = latm.unpack(&frame).unwrap();
        assert_eq!((payload, info.rate), (vec![0xab], 48_000));
        assert_eq!(latm.audio_specific_config(), Some(&[0x11, 0x88][..]));
    }

    #[test]
    fn a_frame_before_any_config_is_skipped() {
        let buf = frames();
        assert!(Latm::default().unpack(&buf[14..]).is_none());
    }
}
