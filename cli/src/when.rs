//! A time as people read it in the views that are not message content (status, cases, the
//! log): the one rule of `trm-view` — UTC, and beside it the same instant in the local time
//! zone (`TZ`, or the system's) unless that is UTC.

/// `2026-11-22 01:02 UTC (02:02 CET)`, or "-" for no time (0).
pub fn when(ms: u64) -> String {
    if ms == 0 {
        return "-".into();
    }
    trm_view::time::instant(ms, &trm_view::time::local_zone())
}

/// The width of a table column of [`when`] times: the widest of them, at least 20.
pub fn width(times: impl Iterator<Item = u64>) -> usize {
    times
        .map(|ms| when(ms).chars().count())
        .fold(20, usize::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_time_is_a_dash_and_a_time_starts_with_its_utc_minute() {
        assert_eq!(when(0), "-");
        // 2026-11-22T01:02:03Z.
        assert!(when(1_795_305_600_000 + 3_723_000).starts_with("2026-11-22 01:02 UTC"));
    }
}
