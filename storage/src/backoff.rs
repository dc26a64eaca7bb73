//! Exponential backoff with full jitter and a cap, reset as soon as the peer answers (or, for
//! brokers, contacts us).
//!
//! Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): each delay is drawn
//! uniformly between zero and the current ceiling, and the ceiling doubles after every failure
//! up to the cap. Many clients retrying after the same outage then spread out instead of
//! arriving together. The ceiling goes back to its initial value on [`Backoff::reset`]: a
//! server that never resets its backoff can stay cut off from a recovered peer for as long as
//! the cap (Matrix federation learnt this the hard way).

use std::time::Duration;

/// Retry delays for one peer.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first ceiling, and the one [`Backoff::reset`] returns to.
    initial: Duration,
    /// The largest ceiling.
    cap: Duration,
    /// Failures since the last reset.
    attempt: u32,
}

impl Backoff {
    /// Ceilings start at `initial` and double up to `cap`.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap: cap.max(initial),
            attempt: 0,
        }
    }

    /// The delay before the next attempt, drawn uniformly up to the current ceiling; the
    /// ceiling then doubles (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random::<u64>() % ceiling_ms.saturating_add(1))
    }

    /// The current ceiling without consuming an attempt.
    pub fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(20));
        self.initial.saturating_mul(factor).min(self.cap)
    }

    /// Failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.attempt
    }

    /// The peer answered: start again from the initial ceiling.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_to_the_cap_delays_stay_under_them_and_reset_starts_over() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            let ceiling = backoff.ceiling();
            ceilings.push(ceiling.as_millis());
            assert!(backoff.next_delay() <= ceiling);
        }
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]
        );
        assert_eq!(backoff.failures(), 10);
        backoff.reset();
        assert_eq!(backoff.failures(), 0);
        assert_eq!(backoff.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_delays_over_the_whole_range() {
        let mut backoff = Backoff::new(Duration::from_millis(1000), Duration::from_millis(1000));
        let delays: Vec<_> = (0..200).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().any(|d| *d < Duration::from_millis(250)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(750)));
    }

    #[test]
    fn a_cap_below_the_initial_delay_is_raised_to_it() {
        let backoff = Backoff::new(Duration::from_millis(500), Duration::from_millis(10));
        assert_eq!(backoff.ceiling(), Duration::from_millis(500));
    }
}
