//! Unix-millisecond timestamps, the only time representation on the wire.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A timestamp as RFC 3339 in UTC, to the second.
pub fn format_ms(ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms);
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ` into Unix milliseconds.
pub fn parse_ms(text: &str) -> Option<u64> {
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z')?)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year: u64 = parts.next()?.parse().ok()?;
    let month: u64 = parts.next()?.parse().ok()?;
    let day: u64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let seconds = match time {
        None => 0,
        Some(time) => {
            let mut parts = time.split(':');
            let h: u64 = parts.next()?.parse().ok()?;
            let m: u64 = parts.next()?.parse().ok()?;
            let s: u64 = parts.next()?.parse().ok()?;
            if parts.next().is_some() || h > 23 || m > 59 || s > 59 {
                return None;
            }
            h * 3600 + m * 60 + s
        }
    };
    Some((days * 86_400 + seconds) * 1000)
}

/// Days since 1970-01-01 of a valid date (Howard Hinnant's algorithm), `None` if invalid.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if day == 0 || day > max_day {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y % 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Converts days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
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
}
