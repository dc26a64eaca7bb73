//! Whether a link to a peer works, as seen by the task that uses it: it turns a stream of
//! attempts into the few changes an operator should read. A link is lost at its first failure
//! after a success (or after start-up), and back at its first success after that; the
//! attempts in between change nothing. Callers log the changes (a warning when lost, a note
//! with the outage's length when back) and each attempt at debug level only.

use std::time::Duration;

use tokio::time::Instant;

/// A change in a link's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The link failed after working (or at its first attempt).
    Lost,
    /// The link works again after failing for this long.
    Back(Duration),
}

/// A link's state across attempts.
#[derive(Debug, Clone, Default)]
pub struct LinkHealth {
    /// Since when the link fails, while it does.
    failing_since: Option<Instant>,
}

impl LinkHealth {
    /// Records a failed attempt; [`Change::Lost`] if the link worked until now.
    pub fn failed(&mut self) -> Option<Change> {
        if self.failing_since.is_some() {
            return None;
        }
        self.failing_since = Some(Instant::now());
        Some(Change::Lost)
    }

    /// Records a successful exchange; [`Change::Back`] if the link was failing.
    pub fn succeeded(&mut self) -> Option<Change> {
        self.failing_since
            .take()
            .map(|since| Change::Back(since.elapsed()))
    }

    /// Whether the link is failing.
    pub fn is_failing(&self) -> bool {
        self.failing_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_changes_are_reported_with_the_length_of_the_outage() {
        let mut health = LinkHealth::default();
        assert_eq!(health.succeeded(), None);
        assert_eq!(health.failed(), Some(Change::Lost));
        assert!(health.is_failing());
        for _ in 0..100 {
            assert_eq!(health.failed(), None);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let back = health.succeeded();
        assert!(
            matches!(back, Some(Change::Back(d)) if d >= Duration::from_millis(150)),
            "{back:?}"
        );
        assert_eq!(health.succeeded(), None);
        assert!(!health.is_failing());
        assert_eq!(health.failed(), Some(Change::Lost));
    }
}
