//! Exponential backoff with full jitter and a cap, reset only by a successful exchange.
//!
//! Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): each delay is drawn
//! uniformly between zero and the current ceiling, and the ceiling doubles after every failure
//! up to the cap. Many clients retrying after the same outage then spread out instead of
//! arriving together. The ceiling goes back to its initial value on [`Backoff::reset`]: a
//! server that never resets its backoff can stay cut off from a recovered peer for as long as
//! the cap (Matrix federation learnt this the hard way).
//!
//! Only a successful exchange resets it, never a mere sign of life such as an incoming call:
//! two peers that both fail and reset each other's backoff on every call hammer each other
//! without pause. A failure is either [`Failure::Silent`] (no answer: refused or dropped
//! connection, timeout) or [`Failure::AnsweredWithError`] (the peer is up and answered with an error);
//! the second kind has a lower ceiling, since a live peer's trouble tends to clear soon and a
//! retry costs it little. [`health`] tells when a link changes between working and failing, so
//! that the change is logged once, not at every attempt.

pub mod health;

use std::time::Duration;

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer: no connection, a reset, a timeout.
    Silent,
    /// The peer answered, with an error.
    AnsweredWithError,
}

/// Retry delays for one peer.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first ceiling, and the one [`Backoff::reset`] returns to.
    initial: Duration,
    /// The largest ceiling.
    cap: Duration,
    /// The largest ceiling after a [`Failure::AnsweredWithError`].
    answering_cap: Duration,
    /// Failures since the last reset.
    attempt: u32,
}

impl Backoff {
    /// Ceilings start at `initial` and double up to `cap`, after any failure.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        let cap = cap.max(initial);
        Self {
            initial,
            cap,
            answering_cap: cap,
            attempt: 0,
        }
    }

    /// The same backoff with a lower cap, `answering_cap`, after a [`Failure::AnsweredWithError`]
    /// (raised to the initial ceiling if below it, lowered to the cap if above).
    pub fn with_answering_cap(mut self, answering_cap: Duration) -> Self {
        self.answering_cap = answering_cap.max(self.initial).min(self.cap);
        self
    }

    /// The delay before the next attempt after a [`Failure::Silent`] failure.
    pub fn next_delay(&mut self) -> Duration {
        self.after(Failure::Silent)
    }

    /// The delay before the next attempt after `failure`, drawn uniformly up to the current
    /// ceiling (never above the cap for that kind of failure); the ceiling then doubles.
    pub fn after(&mut self, failure: Failure) -> Duration {
        let ceiling = self.ceiling_for(failure);
        self.attempt = self.attempt.saturating_add(1);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random::<u64>() % ceiling_ms.saturating_add(1))
    }

    /// The ceiling that applies to the next delay after `failure` (the lower cap for a peer
    /// that answered), without consuming an attempt.
    pub fn ceiling_for(&self, failure: Failure) -> Duration {
        match failure {
            Failure::Silent => self.ceiling(),
            Failure::AnsweredWithError => self.ceiling().min(self.answering_cap),
        }
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

    /// An exchange succeeded: start again from the initial ceiling.
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
    fn a_peer_that_answers_with_errors_is_retried_under_the_lower_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(60))
            .with_answering_cap(Duration::from_secs(10));
        for _ in 0..30 {
            assert!(backoff.after(Failure::AnsweredWithError) <= Duration::from_secs(10));
        }
        assert_eq!(
            backoff.ceiling_for(Failure::AnsweredWithError),
            Duration::from_secs(10)
        );
        assert_eq!(
            backoff.ceiling_for(Failure::Silent),
            Duration::from_secs(60)
        );
        // Silence is retried under the higher cap: some delay goes past the lower one.
        let silent: Vec<_> = (0..200).map(|_| backoff.after(Failure::Silent)).collect();
        assert!(silent.iter().all(|d| *d <= Duration::from_secs(60)));
        assert!(silent.iter().any(|d| *d > Duration::from_secs(10)));
        let odd = Backoff::new(Duration::from_secs(1), Duration::from_secs(5))
            .with_answering_cap(Duration::from_secs(50));
        assert_eq!(odd.answering_cap, Duration::from_secs(5));
    }

    #[test]
    fn a_cap_below_the_initial_delay_is_raised_to_it() {
        let backoff = Backoff::new(Duration::from_millis(500), Duration::from_millis(10));
        assert_eq!(backoff.ceiling(), Duration::from_millis(500));
    }
}
