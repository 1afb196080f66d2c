//! `Range: bytes=...` for one range (RFC 9110 §14). Several ranges, or a header that does
//! not parse, are answered with the whole file, as the RFC allows.

use std::ops::Range;

use axum::http::HeaderValue;

#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    Whole,
    Partial(Range<u64>),
    Unsatisfiable,
}

pub fn parse(header: Option<&HeaderValue>, size: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.to_str().ok()).and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else { return ByteRange::Whole };
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        // Suffix: the last N bytes.
        match end.parse::<u64>() {
            Ok(0) => return ByteRange::Unsatisfiable,
            Ok(n) => size.saturating_sub(n)..size,
            Err(_) => return ByteRange::Whole,
        }
    } else {
        let Ok(start) = start.parse::<u64>() else { return ByteRange::Whole };
        let end = if end.is_empty() {
            size
        } else {
            match end.parse::<u64>() {
                Ok(last) if last >= start => last.saturating_add(1).min(size),
                _ => return ByteRange::Whole,
            }
        };
        start..end
    };
    if range.start >= size || range.is_empty() { ByteRange::Unsatisfiable } else { ByteRange::Partial(range) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(h: &str, size: u64) -> ByteRange {
        parse(Some(&HeaderValue::from_str(h).unwrap()), size)
    }

    #[test]
    fn ranges_resolve_against_the_size() {
        assert_eq!(p("bytes=0-9", 100), ByteRange::Partial(0..10));
        assert_eq!(p("bytes=90-", 100), ByteRange::Partial(90..100));
        assert_eq!(p("bytes=-10", 100), ByteRange::Partial(90..100));
        assert_eq!(p("bytes=-1000", 100), ByteRange::Partial(0..100));
        assert_eq!(p("bytes=50-1000", 100), ByteRange::Partial(50..100));
    }

    #[test]
    fn out_of_bounds_is_unsatisfiable() {
        assert_eq!(p("bytes=100-", 100), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=-0", 100), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=0-0", 0), ByteRange::Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_ranges_mean_the_whole_file() {
        assert_eq!(p("bytes=0-1,5-6", 100), ByteRange::Whole);
        assert_eq!(p("bytes=9-1", 100), ByteRange::Whole);
        assert_eq!(p("items=0-1", 100), ByteRange::Whole);
        assert_eq!(parse(None, 100), ByteRange::Whole);
    }
}
