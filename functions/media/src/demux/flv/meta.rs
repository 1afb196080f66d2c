//! The duration in an FLV's `onMetaData` script tag (an AMF0 map): read by finding its key, as
//! the one number needed does not justify an AMF0 parser.

#![deny(clippy::arithmetic_side_effects)]

/// Seconds, if the map holds a plausible `duration` (writers that cannot seek back write 0).
pub fn duration(payload: &[u8]) -> Option<f64> {
    if payload.get(..13) != Some(b"\x02\x00\x0aonMetaData") {
        return None;
    }
    // Key: u16 length + "duration", then the value: type 0 (number) + a big-endian f64.
    const KEY: &[u8] = b"\x00\x08duration\x00";
    let at = payload.windows(KEY.len()).position(|w| w == KEY)?.checked_add(KEY.len())?;
    let secs = f64::from_be_bytes(payload.get(at..at.checked_add(8)?)?.try_into().ok()?);
    (secs.is_finite() && secs > 0.0 && secs < 1e7).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_duration_and_ignores_nonsense() {
        let meta = |secs: f64| [&b"\x02\x00\x0aonMetaData\x08\x00\x00\x00\x01\x00\x08duration\x00"[..], &secs.to_be_bytes()].concat();
        assert_eq!(duration(&meta(2.5)), Some(2.5));
        assert_eq!(duration(&meta(0.0)), None);
        assert_eq!(duration(&meta(f64::NAN)), None);
        assert_eq!(duration(&meta(2.5)[..20]), None);
        assert_eq!(duration(b"\x02\x00\x0aonCuePoint"), None);
    }
}
