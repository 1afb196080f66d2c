//! Output quality presets: LAME VBR quality levels and standard CBR bitrates.

use std::fmt;
use std::str::FromStr;

use crate::MediaError;

/// The bitrates (kbps) an MPEG-1 Layer III stream can carry.
pub const CBR_BITRATES: [u16; 14] = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];

/// How the MP3 is encoded: `Vbr(q)` is LAME's `-V q` (0 best .. 9 smallest), `Cbr(kbps)` a constant
/// bitrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Vbr(u8),
    Cbr(u16),
}

impl Default for Preset {
    fn default() -> Self {
        Preset::Vbr(2)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preset::Vbr(q) => write!(f, "v{q}"),
            Preset::Cbr(kbps) => write!(f, "cbr{kbps}"),
        }
    }
}

impl FromStr for Preset {
    type Err = MediaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MediaError::BadPreset(s.to_owned());
        let lower = s.trim().to_ascii_lowercase();
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if let Some(q) = lower.strip_prefix("cbr") {
            if !all_digits(q) {
                return Err(bad());
            }
            let kbps: u16 = q.parse().map_err(|_| bad())?;
            return CBR_BITRATES.contains(&kbps).then_some(Preset::Cbr(kbps)).ok_or_else(bad);
        }
        if let Some(q) = lower.strip_prefix('v')
            && q.len() == 1
            && all_digits(q)
        {
            return Ok(Preset::Vbr(q.as_bytes()[0] - b'0'));
        }
        Err(bad())
    }
}

impl Preset {
    /// Whether the value is one the encoder accepts (a hand-built `Vbr(12)` or `Cbr(100)` is not).
    pub fn is_valid(&self) -> bool {
        match self {
            Preset::Vbr(q) => *q <= 9,
            Preset::Cbr(kbps) => CBR_BITRATES.contains(kbps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_vbr_level_and_cbr_rate() {
        for q in 0..=9u8 {
            assert_eq!(format!("v{q}").parse::<Preset>().unwrap(), Preset::Vbr(q));
        }
        for kbps in CBR_BITRATES {
            let p: Preset = format!("cbr{kbps}").parse().unwrap();
            assert_eq!(p, Preset::Cbr(kbps));
            assert_eq!(p.to_string(), format!("cbr{kbps}"));
        }
        assert_eq!("V0".parse::<Preset>().unwrap(), Preset::Vbr(0));
    }

    #[test]
    fn rejects_unknown_presets() {
        for s in ["", "v", "v10", "v-1", "cbr", "cbr100", "cbr+128", "cbr1280", "x2", "128", "vv2"] {
            let err = s.parse::<Preset>().unwrap_err();
            assert_eq!(err.code(), "bad_preset", "{s:?}");
        }
    }

    #[test]
    fn default_is_v2_and_round_trips() {
        assert_eq!(Preset::default(), Preset::Vbr(2));
        assert_eq!(Preset::default().to_string(), "v2");
        assert_eq!("cbr128".parse::<Preset>().unwrap().to_string(), "cbr128");
    }
}
