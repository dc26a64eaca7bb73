//! Unix-millisecond timestamps, the only time representation on the wire, and their RFC 3339
//! text form (to the second, UTC) through `humantime`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last millisecond RFC 3339 can write with a four-digit year (9999-12-31T23:59:59.999Z).
const MAX_FORMATTABLE_MS: u64 = 253_402_300_800_000 - 1;

/// How far ahead of the reader's clock an envelope's creation time may be, since clocks
/// differ: five minutes. Brokers and nodes both refuse envelopes dated further ahead.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// The federation's longest envelope lifetime: an envelope's `expires_at_ms` is at most this
/// long after its `created_at_ms` (30 days). Brokers refuse envelopes that would live longer
/// and nodes may not be configured to seal them, so a broker may forget a message id once
/// this (plus [`MAX_CLOCK_SKEW_MS`]) has passed since it accepted it: any replay is expired.
pub const MAX_ENVELOPE_LIFETIME_MS: u64 = 30 * 24 * 3600 * 1000;

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A timestamp as RFC 3339 in UTC, to the second (`2026-11-22T01:02:03Z`). Instants after the
/// year 9999 (only a hostile peer sends them) are written as its last second.
pub fn format_ms(ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms.min(MAX_FORMATTABLE_MS));
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ` into Unix milliseconds.
///
/// Only the exact form [`format_ms`] writes is accepted: no fractions, offsets or leap seconds,
/// years 1970 to 9999.
pub fn parse_ms(text: &str) -> Option<u64> {
    let instant = if text.len() == "YYYY-MM-DD".len() {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    let time = humantime::parse_rfc3339(&instant).ok()?;
    let ms = u64::try_from(time.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()?;
    // humantime also reads fractions, `+00:00` and second 60; the round trip refuses them.
    (format_ms(ms) == instant).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_instants_and_refuses_impossible_ones() {
        assert_eq!(parse_ms("2026-11-22"), Some(1_795_305_600_000));
        assert_eq!(parse_ms("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(
            parse_ms("2026-11-22T01:02:03Z"),
            Some(1_795_305_600_000 + 3_723_000)
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-11-31",
            "22.11.2026",
            "2026-11-22T25:00:00Z",
            "",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
        for ms in [0, 951_782_400_000, 1_795_305_600_000] {
            assert_eq!(parse_ms(&format_ms(ms)), Some(ms));
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_ms(1_795_305_600_000), "2026-11-22T00:00:00Z");
    }

    #[test]
    fn format_is_seconds_precision_utc_and_never_panics() {
        // Milliseconds are dropped, not rounded; the zone is always `Z`.
        assert_eq!(format_ms(1_795_305_600_999), "2026-11-22T00:00:00Z");
        assert_eq!(format_ms(1_795_305_723_456), "2026-11-22T00:02:03Z");
        assert_eq!(format_ms(MAX_FORMATTABLE_MS), "9999-12-31T23:59:59Z");
        assert_eq!(format_ms(u64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn refuses_what_format_never_writes() {
        for bad in [
            "2026-11-22T01:02:03.5Z",
            "2026-11-22T01:02:03+00:00",
            "2026-11-22T23:59:60Z",
            "2026-11-22 01:02:03",
            "1969-12-31",
            "2026-11-22T01:02:03",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }
}
