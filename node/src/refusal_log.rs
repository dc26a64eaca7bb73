//! What a broker or a partner can make this node write to its handover log: every refused
//! delivery is answered with a signed REJECTED receipt, but only the first
//! [`ENTRIES_PER_INTERVAL`] refusals of one sender in an [`INTERVAL`] get a log entry each. The
//! rest are counted, and the count goes into the sender's next logged refusal, so a flood of
//! bad envelopes adds a bounded number of entries and none is passed over in silence.
//!
//! Senders the directory does not list share one account, so forged addresses cannot open
//! new ones; the accounts are therefore bounded by the directory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trm_proto::addr::NodeAddr;
use trm_proto::directory::Directory;

/// How long one account's allowance lasts.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Refusals of one sender logged one by one in an [`INTERVAL`].
pub const ENTRIES_PER_INTERVAL: u32 = 5;

/// The account of senders the directory does not list.
const UNLISTED: &str = "senders not in the directory";

/// What to do with one refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Log it, adding to its reason how many of the account's refusals were not logged
    /// since `since` (when `skipped` is above 0).
    Log {
        /// The account (a listed sender's address, or the unlisted senders').
        account: String,
        /// Refusals counted and not logged before this one.
        skipped: u64,
    },
    /// Do not log it: it is counted, and the account's last entry (`index`) stands for it.
    Skip {
        /// The log index of the account's last logged refusal.
        index: u64,
    },
}

impl Entry {
    /// The reason to log for a refusal whose own reason is `reason`.
    pub fn reason(&self, reason: &str) -> String {
        match self {
            Entry::Log { account, skipped } if *skipped > 0 => format!(
                "{reason} (and {skipped} earlier refusals of envelopes from {account}, \
                 not logged one by one)"
            ),
            _ => reason.to_owned(),
        }
    }
}

/// One sender's allowance in the current interval.
#[derive(Debug, Clone, Copy)]
struct Account {
    started: Instant,
    logged: u32,
    skipped: u64,
    last_index: u64,
}

/// The per-sender allowances.
#[derive(Debug, Default)]
pub struct RefusalLog {
    accounts: Mutex<HashMap<String, Account>>,
}

impl RefusalLog {
    /// Decides whether the refusal of an envelope claiming to come from `from` gets an entry.
    pub fn entry(&self, from: &str, directory: &Directory) -> Entry {
        let listed = from
            .parse::<NodeAddr>()
            .ok()
            .filter(|addr| directory.node(addr).is_some());
        let account = match listed {
            Some(addr) => addr.to_string(),
            None => UNLISTED.to_owned(),
        };
        self.entry_at(account, Instant::now())
    }

    fn entry_at(&self, account: String, now: Instant) -> Entry {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let current = accounts.entry(account.clone()).or_insert(Account {
            started: now,
            logged: 0,
            skipped: 0,
            last_index: 0,
        });
        if now.saturating_duration_since(current.started) >= INTERVAL {
            current.started = now;
            current.logged = 0;
        }
        if current.logged < ENTRIES_PER_INTERVAL {
            current.logged += 1;
            let skipped = std::mem::take(&mut current.skipped);
            return Entry::Log { account, skipped };
        }
        current.skipped = current.skipped.saturating_add(1);
        Entry::Skip {
            index: current.last_index,
        }
    }

    /// Notes the log index of an account's logged refusal, which stands for the ones skipped
    /// after it.
    pub fn logged(&self, entry: &Entry, index: u64) {
        if let Entry::Log { account, .. } = entry {
            let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(current) = accounts.get_mut(account) {
                current.last_index = index;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_gets_a_bounded_number_of_entries_and_the_next_one_counts_the_rest() {
        let log = RefusalLog::default();
        let start = Instant::now();
        let mut entries = Vec::new();
        for _ in 0..100 {
            let entry = log.entry_at("broker-sent".into(), start);
            if let Entry::Log { .. } = &entry {
                log.logged(&entry, 7);
            }
            entries.push(entry);
        }
        let logged = entries
            .iter()
            .filter(|e| matches!(e, Entry::Log { .. }))
            .count();
        assert_eq!(logged, ENTRIES_PER_INTERVAL as usize);
        assert_eq!(entries.last(), Some(&Entry::Skip { index: 7 }));
        // Another account has its own allowance.
        assert!(matches!(
            log.entry_at("other".into(), start),
            Entry::Log { skipped: 0, .. }
        ));
        let later = log.entry_at("broker-sent".into(), start + INTERVAL);
        assert_eq!(
            later,
            Entry::Log {
                account: "broker-sent".into(),
                skipped: 95
            }
        );
        assert!(
            later
                .reason("bad signature")
                .contains("and 95 earlier refusals")
        );
    }
}
