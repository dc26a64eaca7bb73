//! A time as people read it: UTC (what the node, the log and the partners use) and, beside it,
//! the same instant in the local time zone (`TZ`, or the system's), unless that is UTC.

use trm_proto::time::format_ms;

/// `2026-11-22T01:02:03Z (02:02 CET)`: UTC, then the local wall-clock time and zone; the local
/// date too when it differs from the UTC date. Just the UTC time when the local zone is UTC or
/// cannot be found; "-" for no time (0).
pub fn when(ms: u64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let utc = format_ms(ms);
    match local(ms, &jiff::tz::TimeZone::system()) {
        Some(local) => format!("{utc} ({local})"),
        None => utc,
    }
}

/// The width of a table column of [`when`] times: the widest of them, at least 20.
pub fn width(times: impl Iterator<Item = u64>) -> usize {
    times
        .map(|ms| when(ms).chars().count())
        .fold(20, usize::max)
}

/// The local part of [`when`] in `zone`, or `None` when it would say nothing more than UTC.
fn local(ms: u64, zone: &jiff::tz::TimeZone) -> Option<String> {
    let instant = jiff::Timestamp::from_millisecond(i64::try_from(ms).ok()?).ok()?;
    let zoned = instant.to_zoned(zone.clone());
    if zoned.offset() == jiff::tz::Offset::UTC {
        return None;
    }
    let utc_date = instant.to_zoned(jiff::tz::TimeZone::UTC).date();
    let pattern = if zoned.date() == utc_date {
        "%H:%M %Z"
    } else {
        "%Y-%m-%d %H:%M %Z"
    };
    Some(zoned.strftime(pattern).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_22_0102_UTC: u64 = 1_795_305_600_000 + 3_723_000;

    #[test]
    fn local_time_beside_utc() -> Result<(), jiff::Error> {
        let vienna = jiff::tz::TimeZone::get("Europe/Vienna")?;
        assert_eq!(
            local(NOV_22_0102_UTC, &vienna).as_deref(),
            Some("02:02 CET")
        );
        let new_york = jiff::tz::TimeZone::get("America/New_York")?;
        assert_eq!(
            local(NOV_22_0102_UTC, &new_york).as_deref(),
            Some("2026-11-21 20:02 EST")
        );
        // Summer time is the zone's rule for that date, not today's offset.
        assert_eq!(
            local(1_782_864_000_000, &vienna).as_deref(),
            Some("02:00 CEST")
        );
        assert_eq!(local(NOV_22_0102_UTC, &jiff::tz::TimeZone::UTC), None);
        assert_eq!(when(0), "-");
        Ok(())
    }
}
