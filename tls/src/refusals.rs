//! Logging refusals without letting a peer flood the log: each refused party (a certificate by
//! its fingerprint, an address, a node) is logged at most once per interval, and the next line
//! says how many refusals were left out in between. The table is bounded, so that many
//! distinct parties cannot grow it.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

/// How often a refusal of one certificate is logged at most, by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// How many certificates are remembered at most; beyond, refusals of new ones are counted
/// together until old entries age out.
const MAX_TRACKED: usize = 4096;

/// The rate limiter and logger of refusals, keyed by who was refused (by default a
/// certificate's SHA-256).
#[derive(Debug)]
pub struct Refusals<K = [u8; 32]> {
    interval: Duration,
    table: Mutex<Table<K>>,
}

#[derive(Debug)]
struct Table<K> {
    seen: HashMap<K, Seen>,
    /// Refusals left out because the table was full.
    untracked: u64,
}

#[derive(Debug)]
struct Seen {
    logged_at: Instant,
    suppressed: u64,
}

impl<K: Hash + Eq + Clone> Default for Refusals<K> {
    fn default() -> Self {
        Self::new(DEFAULT_INTERVAL)
    }
}

impl<K: Hash + Eq + Clone> Refusals<K> {
    /// Logs each refused party at most once per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            table: Mutex::new(Table {
                seen: HashMap::new(),
                untracked: 0,
            }),
        }
    }

    /// Whether a refusal of `fingerprint` (whoever was refused) at `now` is logged; if so, how
    /// many refusals of it (and of parties not tracked) were left out since it was last logged.
    pub fn admit(&self, fingerprint: &K, now: Instant) -> Option<u64> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let interval = self.interval;
        if let Some(seen) = table.seen.get_mut(fingerprint) {
            if now.saturating_duration_since(seen.logged_at) < interval {
                seen.suppressed += 1;
                return None;
            }
            let suppressed = std::mem::take(&mut seen.suppressed);
            seen.logged_at = now;
            return Some(suppressed + std::mem::take(&mut table.untracked));
        }
        if table.seen.len() >= MAX_TRACKED {
            table
                .seen
                .retain(|_, seen| now.saturating_duration_since(seen.logged_at) < interval);
            if table.seen.len() >= MAX_TRACKED {
                table.untracked += 1;
                return None;
            }
        }
        table.seen.insert(
            fingerprint.clone(),
            Seen {
                logged_at: now,
                suppressed: 0,
            },
        );
        Some(std::mem::take(&mut table.untracked))
    }
}

impl Refusals<[u8; 32]> {
    /// Logs (rate-limited) that the certificate with `fingerprint` was refused for `reason`;
    /// `side` says where (`"client certificate"`, `"broker certificate"`, ...).
    pub fn refused(&self, side: &str, fingerprint: &[u8; 32], reason: &dyn Display) {
        if let Some(suppressed) = self.admit(fingerprint, Instant::now()) {
            warn!(
                fingerprint = %crate::spell(fingerprint),
                suppressed,
                "{side} refused: {reason}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fingerprint_is_logged_once_per_interval_and_the_next_line_counts_the_rest() {
        let refusals = Refusals::new(Duration::from_secs(60));
        let start = Instant::now();
        let (a, b) = ([1; 32], [2; 32]);
        assert_eq!(refusals.admit(&a, start), Some(0));
        assert_eq!(refusals.admit(&a, start + Duration::from_secs(1)), None);
        assert_eq!(refusals.admit(&a, start + Duration::from_secs(59)), None);
        // Another certificate is not held back by the first.
        assert_eq!(refusals.admit(&b, start + Duration::from_secs(2)), Some(0));
        assert_eq!(refusals.admit(&a, start + Duration::from_secs(60)), Some(2));
        assert_eq!(refusals.admit(&a, start + Duration::from_secs(61)), None);
    }

    #[test]
    fn the_table_stays_bounded_and_counts_what_it_cannot_track() {
        let refusals = Refusals::new(Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..MAX_TRACKED {
            let mut fingerprint = [0; 32];
            fingerprint[..8].copy_from_slice(&(i as u64).to_le_bytes());
            assert_eq!(refusals.admit(&fingerprint, now), Some(0));
        }
        assert_eq!(refusals.admit(&[0xff; 32], now), None);
        assert_eq!(refusals.admit(&[0xfe; 32], now), None);
        // Once the old entries age out, the next logged line carries the untracked count.
        let later = now + Duration::from_secs(61);
        assert_eq!(refusals.admit(&[0xff; 32], later), Some(2));
        let table = refusals.table.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(table.seen.len(), 1);
    }
}
