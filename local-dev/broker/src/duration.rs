//! ISO-8601 durations as Knative's `DeliverySpec` writes them (`backoffDelay: PT1S`,
//! `PT0.5S`, `PT2M`, `P1DT2H`), parsed into [`std::time::Duration`].
//!
//! Weeks, days, hours, minutes and seconds are supported, each with an optional fraction.
//! Years and months are rejected: their length depends on a calendar, and a backoff measured
//! in months is surely a typo for minutes (`PT1M`).

use std::time::Duration;

/// Why a text is not a duration this module understands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{text:?} is not an ISO-8601 duration such as PT1S, PT0.5S or PT2M: {reason}")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses `text` (e.g. `PT1S`, `PT0.05S`, `P1DT12H`).
pub fn parse_iso8601(text: &str) -> Result<Duration, DurationError> {
    let error = |reason| DurationError { text: text.to_owned(), reason };
    let rest = text.trim().strip_prefix('P').ok_or_else(|| error("it must start with P"))?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return Err(error("nothing follows T")),
        Some((date, time)) => (date, time),
        None => (rest, ""),
    };
    if date.is_empty() && time.is_empty() {
        return Err(error("it has no components"));
    }
    const DATE_UNITS: &[(char, f64)] = &[('W', 7.0 * 86_400.0), ('D', 86_400.0)];
    const TIME_UNITS: &[(char, f64)] = &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)];
    if date.contains(['Y', 'M']) {
        return Err(error("years and months are not supported (minutes are PTnM)"));
    }
    let seconds = sum_components(date, DATE_UNITS).map_err(error)? + sum_components(time, TIME_UNITS).map_err(error)?;
    Duration::try_from_secs_f64(seconds).map_err(|_| error("it is out of range"))
}

/// Adds up `<number><unit>` components of one part, units in the order of `units`, each
/// at most once.
fn sum_components(part: &str, units: &[(char, f64)]) -> Result<f64, &'static str> {
    let mut total = 0.0;
    let mut next_unit = 0;
    let mut number = String::new();
    for c in part.chars() {
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(if c == ',' { '.' } else { c });
            continue;
        }
        let position = units[next_unit..].iter().position(|(unit, _)| *unit == c).ok_or("unknown, repeated or misplaced unit")?;
        let (_, seconds_per_unit) = units[next_unit + position];
        next_unit += position + 1;
        let value: f64 = number.parse().map_err(|_| "a unit without a valid number before it")?;
        total += value * seconds_per_unit;
        number.clear();
    }
    if number.is_empty() { Ok(total) } else { Err("a number without a unit after it") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_knative_manifests_use() {
        assert_eq!(parse_iso8601("PT1S"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_iso8601("PT0.5S"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_iso8601("PT0.05S"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_iso8601("PT2M"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_iso8601("PT1H30M"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_iso8601("P1DT2H"), Ok(Duration::from_secs(86_400 + 7_200)));
        assert_eq!(parse_iso8601("P1W"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_iso8601("PT1,5S"), Ok(Duration::from_millis(1_500)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "1S", "P", "PT", "PT1", "PTS", "PT1X", "PT1S2M", "PT1S1S", "-PT1S", "PT1.2.3S", "1s", "P1M", "P1Y"] {
            assert!(parse_iso8601(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn the_error_names_the_text() {
        let message = parse_iso8601("soon").unwrap_err().to_string();
        assert!(message.contains("\"soon\"") && message.contains("PT1S"), "{message}");
    }
}
