//! Which outbox item is to blame, as a state machine without I/O (one per peer, held by its
//! link): it chooses what the next batch holds and judges each answer.
//!
//! - A batch the peer answers with at least one item applied is a success: each item
//!   answered correctly leaves the triage; an item answered wrongly beside them is charged one
//!   attempt (the peer is up, so the fault is that item's).
//! - A call that fails for a passing reason on either side ([`Failure::Held`]: the peer is
//!   unavailable, behind with the directory, out of room, or the call timed out or never got
//!   an answer) charges nobody and changes nothing: the relay backoff holds the items and
//!   they are tried again as they were.
//! - A batch that fails as a whole otherwise (the call failed with another status, or every
//!   item was answered wrongly) says nothing about its items: the next batch holds half as
//!   many, down to one item.
//! - When a lone item fails, the next call is an empty batch, a probe: if the peer answers
//!   it, the peer is up, and the item is tried alone once more at once (it may have failed
//!   just before the peer came back). If that fails too and the peer answers a second probe,
//!   the item is to blame: it is charged one attempt and left out of
//!   later batches, so the rest flows, until its retry time (the relay backoff's first
//!   ceiling, doubling with each attempt up to its largest), when it is tried alone again. If the probe fails too, the peer is down:
//!   nobody is charged and the item stays first, so an outage never changes the order in
//!   which items leave.
//! - An item is charged at most once per retry delay, so ten attempts span minutes (a
//!   passing condition, such as a peer catching up with the directory, clears first).
//! - An item charged [`MAX_ATTEMPTS`] times is set aside; a lone item whose call failed with
//!   a status that is final for what it carries ([`is_final`]) is refused for good at its
//!   first charge; an item whose stored record cannot be read is set aside at once.
//! - After each success the batch size doubles back towards its maximum.
//! - An item left out that the outbox no longer holds (it expired, say) is forgotten as soon
//!   as a batch shows it gone, so the batches grow again.

use std::collections::BTreeMap;

use tonic::Code;

use crate::relay::BATCH_ITEMS;
use crate::store::Outgoing;

/// Attempts charged to one item before it is set aside.
pub const MAX_ATTEMPTS: u32 = 10;

/// How long an item charged `attempts` times waits before it is charged again: `base_ms`
/// doubled with each attempt after the first, at most `max_ms`.
pub fn retry_delay(attempts: u32, base_ms: u64, max_ms: u64) -> u64 {
    base_ms
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
        .min(max_ms)
}

/// Items in trouble remembered at most; past this, the oldest are forgotten (they are
/// charged from zero again if they fail again).
const REMEMBERED: usize = 256;

/// What happened to one item of an answered batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Answered correctly and applied.
    Good,
    /// Answered wrongly; it may pass on a later try.
    Wrong(String),
    /// Its stored record cannot be read: it can never be relayed.
    Unreadable(String),
}

/// What to do with an item now.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Take it out of the outbox into the set-aside table.
    SetAside {
        /// The item.
        item: Outgoing,
        /// The attempts charged to it.
        attempts: u32,
        /// Why.
        reason: String,
    },
    /// Refuse it for good: its sender gets a REJECTED receipt with the reason.
    Refuse {
        /// The item.
        item: Outgoing,
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The item judged.
    pub fn item(&self) -> &Outgoing {
        match self {
            Verdict::SetAside { item, .. } | Verdict::Refuse { item, .. } => item,
        }
    }
}

/// What the next call carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Sequences to leave out.
    pub skip: Vec<u64>,
    /// Items in the batch, at most.
    pub limit: usize,
    /// Whether the call is an empty batch that only asks whether the peer is up.
    pub probe: bool,
    /// When the first item left out is due to be tried again, ms since the Unix epoch.
    pub next_retry_ms: Option<u64>,
}

/// An item that failed.
#[derive(Debug, Clone, Default)]
struct Trouble {
    /// Attempts charged so far.
    attempts: u32,
    /// Not charged again before this time, ms since the Unix epoch.
    charge_after_ms: u64,
    /// Whether it failed alone and is left out of batches until `charge_after_ms`.
    left_out: bool,
}

/// A lone item that failed, and what is known of the peer since.
#[derive(Debug, Clone)]
struct Suspect {
    /// The item.
    item: Outgoing,
    /// Why its call failed.
    reason: String,
    /// Whether that status is final for what it carries.
    final_: bool,
    /// Whether the peer answered a probe after its first failure.
    confirmed: bool,
    /// Whether the next call is a probe (otherwise the item alone, once more).
    probing: bool,
}

/// The triage of one peer's outbox.
#[derive(Debug)]
pub struct Triage {
    /// Items in the next batch, at most.
    limit: usize,
    /// The sequences of the batch handed out and not yet judged (empty for a probe).
    in_flight: Option<Vec<u64>>,
    /// The item of that batch when it holds exactly one.
    lone: Option<Outgoing>,
    /// How the last call failed, if the relay task said so: its reason and what it says
    /// about the items.
    call_failure: Option<(String, Failure)>,
    /// The lone item whose failure the next probe judges.
    suspect: Option<Suspect>,
    /// The items left out that were due to be tried again when the last plan was made.
    due: Vec<u64>,
    /// Items that failed, by sequence.
    troubled: BTreeMap<u64, Trouble>,
    /// The first retry delay, ms (see [`retry_delay`]).
    retry_base_ms: u64,
    /// The longest retry delay, ms.
    retry_max_ms: u64,
}

impl Default for Triage {
    fn default() -> Self {
        Self {
            limit: BATCH_ITEMS,
            in_flight: None,
            lone: None,
            call_failure: None,
            suspect: None,
            due: Vec::new(),
            troubled: BTreeMap::new(),
            retry_base_ms: crate::config::DEFAULT_RELAY_BACKOFF_INITIAL_MS,
            retry_max_ms: crate::config::DEFAULT_RELAY_BACKOFF_MAX_MS,
        }
    }
}

/// What a failed call says about the items it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing: the failure passes by itself (see [`is_held`]); nobody is charged.
    Held,
    /// Maybe something: a lone item that failed so is suspected (see [`triage`](self)).
    Suspect,
    /// The peer judged what a lone item carries, for good (see [`is_final`]).
    Final,
}

impl Failure {
    /// What a call that failed with `code` says about its items.
    pub fn of(code: Code) -> Self {
        if is_held(code) {
            Self::Held
        } else if is_final(code) {
            Self::Final
        } else {
            Self::Suspect
        }
    }
}

/// Whether a whole-call status is a passing condition of the peer or of the link, never the
/// items' fault: an honest peer that is behind with the directory, cannot reach its store or
/// is out of room answers UNAVAILABLE, RESOURCE_EXHAUSTED or ABORTED (retry unchanged), and a
/// slow link ends in DEADLINE_EXCEEDED or CANCELLED.
pub fn is_held(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::DeadlineExceeded
            | Code::Cancelled
    )
}

/// Whether a whole-call status, for a batch of one item, is about that item for good: the
/// peer judged what the request carries, not its own state.
pub fn is_final(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::OutOfRange
            | Code::FailedPrecondition
            | Code::NotFound
            | Code::AlreadyExists
    )
}

impl Triage {
    /// Sets the retry delays: those of the relay backoff, `initial` and `max`.
    pub fn pace(&mut self, initial: std::time::Duration, max: std::time::Duration) {
        self.retry_base_ms = u64::try_from(initial.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.retry_max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    }

    /// Records how the call for the batch in flight failed: why, and what that says about
    /// its items ([`Failure::of`]).
    pub fn call_failed(&mut self, reason: String, failure: Failure) {
        self.call_failure = Some((reason, failure));
    }

    /// Forgets the call in flight without judging it (this broker, not the peer, failed to
    /// take in the answer).
    pub fn abandon(&mut self) {
        self.in_flight = None;
        self.lone = None;
        self.call_failure = None;
    }

    /// Judges the call made last if it was never answered (it failed as a whole; when
    /// [`Triage::call_failed`] was not told, it got no answer at all — the link failed or the
    /// call timed out — which charges nobody), then plans the next at `now_ms`.
    pub fn plan(&mut self, _last_error: Option<String>, now_ms: u64) -> Plan {
        if let Some(sequences) = self.in_flight.take() {
            let lone = self.lone.take();
            match (sequences.len(), lone, self.call_failure.take()) {
                // The probe failed: the peer is down, the suspect is not to blame.
                (0, _, _) => self.suspect = None,
                // A passing condition: tried again as it was.
                (_, _, None | Some((_, Failure::Held))) => {}
                (1, Some(item), Some((reason, failure))) => {
                    self.failed_alone(item, reason, failure == Failure::Final);
                }
                (n, _, Some(_)) => self.limit = (n / 2).max(1),
            }
        }
        self.call_failure = None;
        let retry = self.suspect.is_some();
        if self.suspect.as_ref().is_some_and(|s| s.probing) {
            return Plan {
                skip: Vec::new(),
                limit: 0,
                probe: true,
                next_retry_ms: None,
            };
        }
        let waiting = |t: &Trouble| t.left_out && t.charge_after_ms > now_ms;
        let retest = self.troubled.values().any(|t| t.left_out && !waiting(t));
        let skip = self
            .troubled
            .iter()
            .filter(|(_, t)| waiting(t))
            .map(|(sequence, _)| *sequence)
            .collect();
        let next_retry_ms = self
            .troubled
            .values()
            .filter(|t| waiting(t))
            .map(|t| t.charge_after_ms)
            .min();
        self.due = self
            .troubled
            .iter()
            .filter(|(_, t)| t.left_out && !waiting(t))
            .map(|(sequence, _)| *sequence)
            .collect();
        Plan {
            skip,
            limit: if retest || retry { 1 } else { self.limit },
            probe: false,
            next_retry_ms,
        }
    }

    /// Learns what the outbox holds from the batch the last plan gave (`first`, the lowest
    /// sequence it holds beyond those the plan left out, `None` when it held none): items
    /// left out and due then, below `first`, have left the outbox another way (the outbox
    /// hands out its items by sequence), and are forgotten.
    pub fn outbox_starts_at(&mut self, first: Option<u64>) {
        for sequence in std::mem::take(&mut self.due) {
            if first.is_none_or(|first| sequence < first) {
                self.troubled.remove(&sequence);
            }
        }
    }

    /// Records the call made: the batch (empty for a probe).
    pub fn sent(&mut self, items: &[Outgoing]) {
        self.call_failure = None;
        self.in_flight = Some(items.iter().map(|o| o.sequence).collect());
        self.lone = match items {
            [item] => Some(item.clone()),
            _ => None,
        };
    }

    /// Judges an answered call at `now_ms`, item by item in batch order (none for a probe).
    pub fn answered(&mut self, judged: Vec<(Outgoing, Judged)>, now_ms: u64) -> Vec<Verdict> {
        self.in_flight = None;
        self.lone = None;
        let mut verdicts = Vec::new();
        if judged.is_empty() {
            // The peer is up: the lone item that failed twice around a probe is to blame.
            match self.suspect.take() {
                Some(suspect) if suspect.probing && suspect.confirmed => {
                    let trouble = self.troubled.entry(suspect.item.sequence).or_default();
                    trouble.left_out = true;
                    // Charged whatever its retry time: it was tried because it was due.
                    trouble.charge_after_ms = 0;
                    verdicts.extend(self.charge(
                        suspect.item,
                        suspect.reason,
                        suspect.final_,
                        now_ms,
                    ));
                }
                Some(suspect) => {
                    self.suspect = Some(Suspect {
                        confirmed: true,
                        probing: false,
                        ..suspect
                    });
                }
                None => {}
            }
            self.bound();
            return verdicts;
        }
        let applied = judged.iter().any(|(_, j)| *j == Judged::Good);
        let mut wrong = Vec::new();
        for (item, judged) in judged {
            match judged {
                Judged::Good => {
                    self.troubled.remove(&item.sequence);
                }
                Judged::Unreadable(reason) => {
                    let attempts = self
                        .troubled
                        .remove(&item.sequence)
                        .unwrap_or_default()
                        .attempts
                        .saturating_add(1);
                    verdicts.push(Verdict::SetAside {
                        item,
                        attempts,
                        reason,
                    });
                }
                Judged::Wrong(reason) => wrong.push((item, reason)),
            }
        }
        if applied {
            self.suspect = None;
            self.limit = self.limit.saturating_mul(2).min(BATCH_ITEMS);
            for (item, reason) in wrong {
                verdicts.extend(self.charge(item, reason, false, now_ms));
            }
        } else {
            // Nothing passed: as if the call had failed, it may be the peer, not the items.
            let count = wrong.len();
            match wrong.pop() {
                None => {}
                Some((item, reason)) if count == 1 => self.failed_alone(item, reason, false),
                _ => self.limit = (count / 2).max(1),
            }
        }
        self.bound();
        verdicts
    }

    /// A lone `item` failed: probe the peer next.
    fn failed_alone(&mut self, item: Outgoing, reason: String, final_: bool) {
        match &mut self.suspect {
            Some(suspect) if suspect.item.sequence == item.sequence && suspect.confirmed => {
                suspect.reason = reason;
                suspect.final_ = final_;
                suspect.probing = true;
            }
            _ => {
                self.suspect = Some(Suspect {
                    item,
                    reason,
                    final_,
                    confirmed: false,
                    probing: true,
                });
            }
        }
    }

    /// Charges `item` one attempt, unless it was charged less than its retry delay ago.
    fn charge(
        &mut self,
        item: Outgoing,
        reason: String,
        final_: bool,
        now_ms: u64,
    ) -> Option<Verdict> {
        let sequence = item.sequence;
        let trouble = self.troubled.entry(sequence).or_default();
        if trouble.charge_after_ms > now_ms {
            return None;
        }
        trouble.attempts = trouble.attempts.saturating_add(1);
        let attempts = trouble.attempts;
        trouble.charge_after_ms =
            now_ms.saturating_add(retry_delay(attempts, self.retry_base_ms, self.retry_max_ms));
        if final_ {
            self.troubled.remove(&sequence);
            Some(Verdict::Refuse { item, reason })
        } else if attempts >= MAX_ATTEMPTS {
            self.troubled.remove(&sequence);
            Some(Verdict::SetAside {
                item,
                attempts,
                reason,
            })
        } else {
            None
        }
    }

    /// Forgets the oldest troubled items beyond [`REMEMBERED`] (items that left the outbox
    /// another way, e.g. expired, are never answered).
    fn bound(&mut self) {
        while self.troubled.len() > REMEMBERED {
            self.troubled.pop_first();
        }
    }

    /// The attempts charged so far to `sequence`.
    pub fn attempts(&self, sequence: u64) -> u32 {
        self.troubled.get(&sequence).map_or(0, |t| t.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_RELAY_BACKOFF_INITIAL_MS, DEFAULT_RELAY_BACKOFF_MAX_MS};

    fn item(sequence: u64) -> Outgoing {
        Outgoing {
            sequence,
            item: trm_proto::pb::RelayItem::default(),
            size: 0,
        }
    }

    fn items(sequences: &[u64]) -> Vec<Outgoing> {
        sequences.iter().map(|s| item(*s)).collect()
    }

    fn sequence(verdict: &Verdict) -> u64 {
        verdict.item().sequence
    }

    /// A simulated peer and outbox.
    struct Sim {
        triage: Triage,
        outbox: Vec<u64>,
        /// Items that make any call holding them fail.
        bad: Vec<u64>,
        /// Whether every call fails.
        down: bool,
        /// The items relayed, in the order they left.
        relayed: Vec<u64>,
        /// Every verdict given.
        verdicts: Vec<Verdict>,
        /// The simulated clock, ms.
        now: u64,
    }

    impl Sim {
        fn new(items: u64, bad: &[u64]) -> Self {
            Self {
                triage: Triage::default(),
                outbox: (1..=items).collect(),
                bad: bad.to_vec(),
                down: false,
                relayed: Vec::new(),
                verdicts: Vec::new(),
                now: 0,
            }
        }

        /// One call, ten seconds after the last; returns what it carried (`None` when there
        /// was nothing to send).
        fn call(&mut self) -> Option<Vec<u64>> {
            self.now += 10_000;
            let plan = self.triage.plan(Some("the peer failed".into()), self.now);
            let batch: Vec<u64> = if plan.probe {
                Vec::new()
            } else {
                let batch: Vec<u64> = self
                    .outbox
                    .iter()
                    .filter(|s| !plan.skip.contains(s))
                    .take(plan.limit)
                    .copied()
                    .collect();
                self.triage.outbox_starts_at(batch.first().copied());
                if batch.is_empty() {
                    return None;
                }
                batch
            };
            self.triage.sent(&items(&batch));
            if self.down {
                // No answer at all, or UNAVAILABLE: the same to the triage.
                if self.now.is_multiple_of(20_000) {
                    self.triage
                        .call_failed("unavailable".into(), Failure::of(Code::Unavailable));
                }
                return Some(batch);
            }
            if batch.iter().any(|s| self.bad.contains(s)) {
                self.triage
                    .call_failed("the peer failed".into(), Failure::of(Code::Internal));
                return Some(batch);
            }
            self.outbox.retain(|s| !batch.contains(s));
            self.relayed.extend(&batch);
            let verdicts = self.triage.answered(
                batch.iter().map(|s| (item(*s), Judged::Good)).collect(),
                self.now,
            );
            for verdict in &verdicts {
                self.outbox.retain(|s| *s != sequence(verdict));
            }
            self.verdicts.extend(verdicts);
            Some(batch)
        }
    }

    #[test]
    fn a_failing_batch_is_halved_down_to_the_culprit_which_is_set_aside_while_the_rest_flows() {
        let mut sim = Sim::new(2000, &[70]);
        let mut sizes = Vec::new();
        while !sim.outbox.is_empty() && sim.now < 10_000_000 {
            if let Some(batch) = sim.call() {
                sizes.push(batch.len());
            }
        }
        assert!(sim.outbox.is_empty(), "{:?}", sim.outbox);
        assert_eq!(
            sim.verdicts,
            vec![Verdict::SetAside {
                item: item(70),
                attempts: MAX_ATTEMPTS,
                reason: "the peer failed".into()
            }]
        );
        let innocent: Vec<u64> = (1..=2000).filter(|s| *s != 70).collect();
        let mut relayed = sim.relayed.clone();
        relayed.sort_unstable();
        assert_eq!(relayed, innocent, "every other item left, once");
        // 1999 items in full batches would take 32 calls; the search and the ten retries
        // with their probes cost a bounded number more.
        assert!(sizes.len() < 120, "{} calls: {sizes:?}", sizes.len());
        // The ten attempts were spread over the growing retry delays.
        let spread: u64 = (1..MAX_ATTEMPTS)
            .map(|a| {
                retry_delay(
                    a,
                    DEFAULT_RELAY_BACKOFF_INITIAL_MS,
                    DEFAULT_RELAY_BACKOFF_MAX_MS,
                )
            })
            .sum();
        assert!(sim.now >= spread, "set aside at {} ms", sim.now);
    }

    #[test]
    fn an_unreachable_peer_charges_nobody_and_the_order_is_kept() {
        let mut sim = Sim::new(200, &[]);
        sim.down = true;
        for _ in 0..100 {
            sim.call();
        }
        assert!((1..=200).all(|s| sim.triage.attempts(s) == 0));
        sim.down = false;
        while sim.call().is_some() {}
        assert!(sim.verdicts.is_empty(), "{:?}", sim.verdicts);
        assert_eq!(sim.relayed, (1..=200).collect::<Vec<_>>());
    }

    #[test]
    fn a_wrong_answer_among_good_ones_is_charged_and_an_unreadable_item_goes_at_once() {
        let mut triage = Triage::default();
        // Within the retry delay, a second wrong answer is not charged.
        triage.answered(
            vec![
                (item(1), Judged::Wrong("bad".into())),
                (item(2), Judged::Good),
            ],
            0,
        );
        triage.answered(
            vec![
                (item(1), Judged::Wrong("bad".into())),
                (item(3), Judged::Good),
            ],
            10,
        );
        assert_eq!(triage.attempts(1), 1);
        for round in 2..=MAX_ATTEMPTS {
            let verdicts = triage.answered(
                vec![
                    (item(1), Judged::Wrong("bad receipt".into())),
                    (item(100 + u64::from(round)), Judged::Good),
                ],
                u64::from(round) * DEFAULT_RELAY_BACKOFF_MAX_MS,
            );
            if round < MAX_ATTEMPTS {
                assert!(verdicts.is_empty());
                assert_eq!(triage.attempts(1), round);
            } else {
                assert_eq!(
                    verdicts,
                    vec![Verdict::SetAside {
                        item: item(1),
                        attempts: MAX_ATTEMPTS,
                        reason: "bad receipt".into()
                    }]
                );
            }
        }
        let verdicts = triage.answered(vec![(item(7), Judged::Unreadable("garbled".into()))], 0);
        assert_eq!(verdicts.iter().map(sequence).collect::<Vec<_>>(), [7]);
    }

    #[test]
    fn a_lone_item_refused_with_a_final_status_is_refused_once_the_peer_answers_a_probe() {
        let mut triage = Triage::default();
        triage.sent(&items(&[9]));
        triage.call_failed("too large".into(), Failure::of(Code::OutOfRange));
        assert!(triage.plan(None, 0).probe);
        triage.sent(&[]);
        assert!(
            triage.answered(Vec::new(), 0).is_empty(),
            "tried once more first"
        );
        assert_eq!(triage.plan(None, 0).limit, 1);
        triage.sent(&items(&[9]));
        triage.call_failed("too large".into(), Failure::of(Code::OutOfRange));
        assert!(triage.plan(None, 0).probe);
        triage.sent(&[]);
        assert_eq!(
            triage.answered(Vec::new(), 0),
            vec![Verdict::Refuse {
                item: item(9),
                reason: "too large".into()
            }]
        );
        // The same failure with the peer down (the probe fails too) refuses nothing.
        triage.sent(&items(&[10]));
        triage.call_failed("too large".into(), Failure::of(Code::OutOfRange));
        assert!(triage.plan(None, 0).probe);
        triage.sent(&[]);
        let plan = triage.plan(Some("unreachable".into()), 0);
        assert!(!plan.probe && plan.skip.is_empty());
        assert_eq!(triage.attempts(10), 0);
    }

    #[test]
    fn a_peer_that_is_behind_or_a_slow_link_charges_nobody_and_keeps_the_batch_whole() {
        for code in [
            Code::Unavailable,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::DeadlineExceeded,
        ] {
            let mut triage = Triage::default();
            for round in 0..50u64 {
                // The peer answers probes, but every call with the item fails for a passing
                // reason: the item is never charged, and no probe is even needed.
                let plan = triage.plan(None, round * DEFAULT_RELAY_BACKOFF_MAX_MS);
                assert!(!plan.probe, "{code:?}");
                assert_eq!(plan.limit, BATCH_ITEMS, "{code:?}");
                triage.sent(&items(&[4]));
                triage.call_failed(format!("{code:?}"), Failure::of(code));
            }
            assert_eq!(triage.attempts(4), 0, "{code:?}");
        }
        // A call that got no answer at all (timed out) charges nobody either.
        let mut triage = Triage::default();
        for round in 0..50u64 {
            assert!(!triage.plan(Some("timed out".into()), round).probe);
            triage.sent(&items(&[4]));
        }
        assert_eq!(triage.attempts(4), 0);
    }

    #[test]
    fn a_left_out_item_that_leaves_another_way_no_longer_holds_the_batches_to_one() {
        let mut sim = Sim::new(400, &[5]);
        // Until 5 is left out.
        while sim.triage.attempts(5) == 0 {
            sim.call();
        }
        assert!(sim.triage.troubled.get(&5).is_some_and(|t| t.left_out));
        // 5 expires and is swept while it waits.
        sim.outbox.retain(|s| *s != 5);
        sim.bad.clear();
        sim.now += DEFAULT_RELAY_BACKOFF_MAX_MS;
        let mut sizes = Vec::new();
        while let Some(batch) = sim.call() {
            sizes.push(batch.len());
        }
        assert!(sim.outbox.is_empty());
        assert_eq!(sim.triage.attempts(5), 0, "forgotten");
        assert!(
            sizes.iter().filter(|n| **n == 1).count() <= 2,
            "the batches grow again: {sizes:?}"
        );
    }
}
