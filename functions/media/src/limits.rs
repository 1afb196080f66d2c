//! What the engine refuses before it sizes anything by the input: sample rates outside
//! 1 kHz–768 kHz and more than 32 channels (a decoder, mixer or resampler allocates by
//! both), and MP3s longer than the caller's cap.

use std::time::Duration;

use crate::MediaError;

/// The lowest sample rate accepted (below it, "audio" is a crafted file, not sound).
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// The highest sample rate accepted (DXD and the fastest studio converters run at 768 kHz).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// The most channels accepted (22.2 surround has 24).
pub const MAX_CHANNELS: usize = 32;
/// The default cap on the length of the MP3 ([`Options::max_duration`](crate::Options)).
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Refuses a stream format the engine will not size buffers for.
pub fn check_format(rate: u64, channels: u64) -> Result<(), MediaError> {
    if !(u64::from(MIN_SAMPLE_RATE)..=u64::from(MAX_SAMPLE_RATE)).contains(&rate) {
        return Err(MediaError::UnsupportedSampleRate { rate });
    }
    if channels > MAX_CHANNELS as u64 {
        return Err(MediaError::TooManyChannels { channels });
    }
    Ok(())
}

/// The most frames at `rate` that fit in `max` (saturating; `None` = no cap).
pub fn max_frames(max: Option<Duration>, rate: u32) -> Option<u64> {
    let max = max?;
    let frames = max.as_millis().saturating_mul(u128::from(rate)) / 1000;
    Some(u64::try_from(frames).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_channel_counts_outside_the_limits_are_refused_by_name() {
        assert!(check_format(44_100, 2).is_ok());
        assert!(check_format(1_000, 32).is_ok());
        assert!(check_format(768_000, 1).is_ok());
        assert!(matches!(check_format(999, 2), Err(MediaError::UnsupportedSampleRate { rate: 999 })));
        assert!(matches!(check_format(4_294_967_291, 2), Err(MediaError::UnsupportedSampleRate { .. })));
        assert!(matches!(check_format(1, 1), Err(MediaError::UnsupportedSampleRate { rate: 1 })));
        assert!(matches!(check_format(48_000, 33), Err(MediaError::TooManyChannels { channels: 33 })));
    }

    #[test]
    fn the_duration_cap_in_frames() {
        assert_eq!(max_frames(Some(Duration::from_secs(2)), 44_100), Some(88_200));
        assert_eq!(max_frames(None, 44_100), None);
        assert_eq!(max_frames(Some(Duration::MAX), 768_000), Some(u64::MAX));
    }
}
