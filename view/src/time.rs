//! Times: RFC 3339 in UTC for JSON, and for people the UTC time with the local time beside it
//! (`2026-11-29 10:00 UTC (11:00 CET)`).
//!
//! A time at exactly midnight UTC is a date the sender gave without a time (the message files
//! take `YYYY-MM-DD`), so it is shown as the date alone.

use jiff::Timestamp;
use jiff::tz::TimeZone;

const DAY_MS: u64 = 24 * 3600 * 1000;

/// The zone the text views show beside UTC: the system's (`TZ`, then `/etc/localtime`), or
/// UTC alone when it cannot be read.
pub fn local_zone() -> TimeZone {
    TimeZone::try_system().unwrap_or(TimeZone::UTC)
}

/// RFC 3339 in UTC, to the second (`2026-11-29T10:00:00Z`).
pub fn rfc3339(ms: u64) -> String {
    trm_proto::time::format_ms(ms)
}

/// For people: `2026-11-29 10:00 UTC (11:00 CET)`; the local time is left out where the zone
/// is UTC at that instant, and carries its own date when that differs. A date without a
/// time (midnight UTC) is `2026-11-29`.
pub fn text(ms: u64, zone: &TimeZone) -> String {
    if ms.is_multiple_of(DAY_MS)
        && let Some(utc) = i64::try_from(ms)
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    {
        return utc.strftime("%Y-%m-%d").to_string();
    }
    instant(ms, zone)
}

/// An instant for people, whatever its time of day: `2026-11-29 10:00 UTC (11:00 CET)`, the
/// local part left out where the zone is UTC at that instant and carrying its own date when
/// that differs.
pub fn instant(ms: u64, zone: &TimeZone) -> String {
    let Some(utc) = i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    else {
        // Beyond what the calendar can show (only a hostile peer sends such a time).
        return rfc3339(ms);
    };
    let in_utc = utc.to_zoned(TimeZone::UTC);
    let local = utc.to_zoned(zone.clone());
    let mut out = in_utc.strftime("%Y-%m-%d %H:%M UTC").to_string();
    if local.offset().seconds() != 0 {
        let form = if local.date() == in_utc.date() {
            "%H:%M %Z"
        } else {
            "%Y-%m-%d %H:%M %Z"
        };
        out.push_str(&format!(" ({})", local.strftime(form)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-29T10:00:00Z.
    const MORNING: u64 = 1_795_946_400_000;

    fn vienna() -> TimeZone {
        // Europe/Vienna in winter, written out so the test needs no time zone database.
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap_or(TimeZone::UTC)
    }

    #[test]
    fn utc_with_the_local_time_beside_it() {
        assert_eq!(text(MORNING, &vienna()), "2026-11-29 10:00 UTC (11:00 CET)");
        assert_eq!(text(MORNING, &TimeZone::UTC), "2026-11-29 10:00 UTC");
        assert_eq!(rfc3339(MORNING), "2026-11-29T10:00:00Z");
    }

    #[test]
    fn the_local_date_is_named_when_it_differs() {
        let late = MORNING + 13 * 3600 * 1000 + 30 * 60 * 1000;
        assert_eq!(
            text(late, &vienna()),
            "2026-11-29 23:30 UTC (2026-11-30 00:30 CET)"
        );
    }

    #[test]
    fn a_date_without_a_time_is_the_date_alone() {
        let midnight = MORNING - 10 * 3600 * 1000;
        assert_eq!(text(midnight, &vienna()), "2026-11-29");
        assert_eq!(rfc3339(midnight), "2026-11-29T00:00:00Z");
    }

    #[test]
    fn a_time_past_the_calendar_is_not_a_panic() {
        assert_eq!(text(u64::MAX, &vienna()), "9999-12-31T23:59:59Z");
    }
}
