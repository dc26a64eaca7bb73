//! Serialising the steps of one case: a fixed set of locks, one chosen by a hash of the case's
//! key, held while a sent step's number is read, sealed into the body and stored, and while a
//! received step is checked and stored. Two steps in one case wait for each other, in the order
//! they asked (the locks are fair); steps in different cases rarely share a lock, and never
//! deadlock (one lock at a time).

use std::hash::{Hash, Hasher};

use tokio::sync::{Mutex, MutexGuard};

/// How many locks: enough that unrelated cases seldom wait for each other, even among the 64
/// deliveries a node handles at once.
const STRIPES: usize = 1024;

/// The locks.
pub struct CaseLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for CaseLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl CaseLocks {
    /// Waits for the lock of the case with `counterparty` under `case_ref`.
    pub async fn lock(
        &self,
        case_ref: impl AsRef<str>,
        counterparty: impl AsRef<str>,
    ) -> Option<MutexGuard<'_, ()>> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        crate::cases::case_key(counterparty.as_ref(), case_ref.as_ref()).hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % STRIPES as u64).unwrap_or(0);
        match self.stripes.get(stripe) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_case_waits_for_itself_not_for_another() {
        let locks = CaseLocks::default();
        let held = locks.lock("C-1", "astra@rs").await;
        assert!(held.is_some());
        let again = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            locks.lock("C-1", "astra@rs"),
        )
        .await;
        assert!(again.is_err(), "the same case waits");
        drop(held);
        assert!(locks.lock("C-1", "astra@rs").await.is_some());
    }
}
