//! Exponential backoff with full jitter and a cap, reset as soon as the peer answers.

use std::time::Duration;

/// Retry delays for one peer.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// Delays start at `initial` and double up to `cap`.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap,
            attempt: 0,
        }
    }

    /// The delay before the next attempt: a random duration up to the current ceiling, so
    /// many nodes retrying after the same outage do not arrive together.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let ceiling_ms = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        // At least half the ceiling, so retries still slow down under jitter.
        Duration::from_millis(ceiling_ms / 2 + rand::random::<u64>() % (ceiling_ms / 2 + 1))
    }

    /// The current ceiling without consuming an attempt.
    pub fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(20));
        self.initial.saturating_mul(factor).min(self.cap)
    }

    /// The peer answered: start again from the initial delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let delays: Vec<_> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] <= Duration::from_millis(100));
        assert!(delays[0] >= Duration::from_millis(50));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(5)));
        assert!(delays[9] >= Duration::from_millis(2500), "{delays:?}");
        assert_eq!(backoff.ceiling(), Duration::from_secs(5));
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(100));
    }
}
