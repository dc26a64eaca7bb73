//! Which outbox items the broker has been given, so that an erasure that crosses a submission
//! records only what the broker was never given as "not sent".
//!
//! The outbox task asks [`Handover::hand_over`] before each submission and tells
//! [`Handover::landed`] when its answer was handled; an erasure asks [`Handover::on_erasure`]
//! for each outbox item of its case, inside its transaction. Both take one lock, so an item is
//! either on its way (the erasure leaves it in the outbox: its receipt is recorded as usual when
//! it comes, and it is not submitted again if its submission failed) or withheld (the erasure
//! takes it out of the outbox, and the outbox task never starts it). A submission that failed in
//! a way that may have reached the broker (it ran out of time, or the broker answered with a
//! receipt that could not be recorded) is remembered, so its erasure says so.
//!
//! This is memory of one run of the node, as the outbox's attempt counts are: after a restart,
//! an item that an earlier run may have given the broker is treated as never given.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What an erasure does with one outbox item of its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// On its way to the broker now: left in the outbox, its receipt recorded when it comes.
    OnItsWay,
    /// Not on its way, but an earlier submission may have reached the broker: taken out of
    /// the outbox and said so.
    MayHaveReached,
    /// Never given to the broker: taken out of the outbox, not sent.
    NotGiven,
}

#[derive(Debug, Default)]
struct State {
    /// Submissions on their way, by outbox sequence.
    in_flight: HashSet<u64>,
    /// Those of them whose case was erased meanwhile: not submitted again.
    erased: HashSet<u64>,
    /// Items whose earlier submission failed in a way that may have reached the broker.
    uncertain: HashSet<u64>,
    /// Items an erasure took out of the outbox: never started.
    withheld: HashSet<u64>,
}

/// The outbox items given to the broker, shared by the outbox task and erasures.
#[derive(Debug, Default)]
pub struct Handover {
    state: Mutex<State>,
}

impl Handover {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The outbox is about to give `sequence` to the broker: false (and it must not) when an
    /// erasure took it out of the outbox meanwhile.
    pub fn hand_over(&self, sequence: u64) -> bool {
        let mut state = self.state();
        if state.withheld.contains(&sequence) {
            return false;
        }
        state.in_flight.insert(sequence);
        true
    }

    /// The answer to the submission of `sequence` was handled; `uncertain` when it failed in a
    /// way that may have reached the broker. True when its case was erased while it was on its
    /// way: it must then not be submitted again.
    pub fn landed(&self, sequence: u64, uncertain: bool) -> bool {
        let mut state = self.state();
        state.in_flight.remove(&sequence);
        if uncertain {
            state.uncertain.insert(sequence);
        }
        state.erased.remove(&sequence)
    }

    /// `sequence` left the outbox.
    pub fn left(&self, sequence: u64) {
        let mut state = self.state();
        state.uncertain.remove(&sequence);
        state.erased.remove(&sequence);
    }

    /// Inside an erasure's transaction: what becomes of the outbox item `sequence`. Asking
    /// again (a transaction run again) gives the same answer.
    pub fn on_erasure(&self, sequence: u64) -> Fate {
        let mut state = self.state();
        if state.in_flight.contains(&sequence) {
            state.erased.insert(sequence);
            return Fate::OnItsWay;
        }
        state.withheld.insert(sequence);
        if state.uncertain.contains(&sequence) {
            Fate::MayHaveReached
        } else {
            Fate::NotGiven
        }
    }

    /// An erasure that withheld `sequences` did not commit: they may be submitted again.
    pub fn release(&self, sequences: &[u64]) {
        let mut state = self.state();
        for sequence in sequences {
            state.withheld.remove(sequence);
            state.erased.remove(sequence);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_either_on_its_way_or_withheld_never_both() {
        let handover = Handover::default();
        assert!(handover.hand_over(1));
        assert_eq!(handover.on_erasure(1), Fate::OnItsWay);
        assert_eq!(
            handover.on_erasure(1),
            Fate::OnItsWay,
            "asked again: the same"
        );
        assert!(handover.landed(1, false), "erased while on its way");
        assert_eq!(handover.on_erasure(2), Fate::NotGiven);
        assert!(!handover.hand_over(2), "withheld: never started");
        // A submission that ran out of time may have reached the broker.
        assert!(handover.hand_over(3));
        assert!(!handover.landed(3, true));
        assert_eq!(handover.on_erasure(3), Fate::MayHaveReached);
        // An erasure that did not commit lets its items go again.
        assert_eq!(handover.on_erasure(4), Fate::NotGiven);
        handover.release(&[4]);
        assert!(handover.hand_over(4));
    }
}
