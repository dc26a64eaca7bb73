//! The node's periodic upkeep, run by the daemon every `maintenance_interval_secs` against the
//! system clock and callable with any time (tests and `trm inbox --overdue --at` use that):
//!
//! - each open item whose due time ([`crate::deadlines`]) has passed is logged once as OVERDUE
//!   (again when its next due time passes, e.g. the next follow-up);
//! - a case with no message for the retention period has all its content erased, what the
//!   partner disclosed and what this node authored (a consent withdrawal erases only the
//!   first): both its keys are destroyed, the handover log keeps its entries and gains an
//!   ERASED one;
//! - an erasure interrupted by a crash after it was recorded but before its keys were
//!   destroyed is finished.
//!
//! Cases where consent was withdrawn or content erased owe nothing any more.

use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};
use trm_proto::{pb, time};

use crate::cases;
use crate::error::NodeError;
use crate::node::Node;
use crate::store::{Erasure, OverdueMark, Scope};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Overdue items newly logged.
    pub overdue_logged: usize,
    /// Cases whose content was erased for retention.
    pub erased_for_retention: usize,
    /// Case keys destroyed to finish an interrupted erasure.
    pub erasures_finished: usize,
}

/// How many overdue items one answer holds when the caller does not say.
pub const DEFAULT_OVERDUE_LIMIT: usize = 100;

/// The most overdue items one answer may hold.
pub const MAX_OVERDUE_LIMIT: usize = 1_000;

/// The `limit` most overdue open items at `at_ms`, most overdue first, and how many are
/// overdue in all. Every case is read; only `limit` items are held.
pub fn overdue(
    node: &Node,
    at_ms: u64,
    limit: usize,
) -> Result<(Vec<pb::OverdueItem>, usize), NodeError> {
    let mut most = MostOverdue::new(limit);
    each_overdue(node, at_ms, |item| most.offer(item))?;
    Ok(most.finish())
}

/// Calls `found` with each open item past its due time at `at_ms`, case by case.
fn each_overdue(
    node: &Node,
    at_ms: u64,
    mut found: impl FnMut(pb::OverdueItem),
) -> Result<(), NodeError> {
    for case in node.store().each_case()? {
        let summary = case?.summary.unwrap_or_default();
        if cases::ended(&summary).is_some() {
            continue;
        }
        for item in &summary.items {
            let Some(due) = node.deadlines().due(item) else {
                continue;
            };
            if due.at_ms >= at_ms {
                continue;
            }
            found(pb::OverdueItem {
                case_ref: summary.case_ref.clone(),
                counterparty: summary.counterparty.clone(),
                item: Some(item.clone()),
                due_at_ms: due.at_ms,
                due: due.what,
                awaiting: if due.counterparty_owes {
                    summary.counterparty.clone()
                } else {
                    "this node".into()
                },
            });
        }
    }
    Ok(())
}

/// The `limit` items with the earliest due times among those offered (of equal due times, the
/// first offered), kept in a heap of at most `limit`.
struct MostOverdue {
    limit: usize,
    offered: usize,
    /// By (due time, order offered): the top is the one to drop first.
    kept: BinaryHeap<Ranked>,
}

struct Ranked {
    rank: (u64, usize),
    item: pb::OverdueItem,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank.cmp(&other.rank)
    }
}

impl MostOverdue {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            offered: 0,
            kept: BinaryHeap::with_capacity(limit.saturating_add(1)),
        }
    }

    fn offer(&mut self, item: pb::OverdueItem) {
        let rank = (item.due_at_ms, self.offered);
        self.offered += 1;
        if self.kept.len() < self.limit {
            self.kept.push(Ranked { rank, item });
        } else if self.kept.peek().is_some_and(|last| rank < last.rank) {
            self.kept.pop();
            self.kept.push(Ranked { rank, item });
        }
    }

    /// The kept items, most overdue first, and how many were offered.
    fn finish(self) -> (Vec<pb::OverdueItem>, usize) {
        let items = self
            .kept
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.item)
            .collect();
        (items, self.offered)
    }
}

/// One sweep at `now_ms`; everything it recorded is on disk when it returns.
pub async fn sweep(node: &Node, now_ms: u64) -> Result<SweepReport, NodeError> {
    let mut report = SweepReport::default();
    // Only the items not logged yet for their present due time are held.
    let mut due = Vec::new();
    each_overdue(node, now_ms, |o| {
        let unlogged = o
            .item
            .as_ref()
            .is_some_and(|item| item.overdue_logged_for_ms != o.due_at_ms);
        if unlogged {
            due.push(o);
        }
    })?;
    due.sort_by_key(|o| o.due_at_ms);
    // Queued before they are recorded: a crash in between finds them unrecorded next time.
    crate::webhooks::causes::overdue(node, &due).await?;
    let marks: Vec<OverdueMark> = due
        .into_iter()
        .filter_map(|o| {
            let item = o.item?;
            Some(OverdueMark {
                case_key: cases::case_key(&o.counterparty, &o.case_ref),
                state: item.state.clone(),
                follow_ups: item.follow_ups,
                message_id: item.message_id,
                due_at_ms: o.due_at_ms,
                reason: format!(
                    "{} due {} from {}",
                    o.due,
                    time::format_ms(o.due_at_ms),
                    if o.awaiting == "this node" {
                        node.address().to_string()
                    } else {
                        o.awaiting
                    }
                ),
            })
        })
        .collect();
    if !marks.is_empty() {
        report.overdue_logged = node.store().mark_overdue(marks, now_ms).await?;
    }
    let own = node.address().to_string();
    let past_retention = |summary: &pb::CaseSummary| {
        node.retention_ms() > 0
            && summary.last_activity_ms.saturating_add(node.retention_ms()) <= now_ms
    };
    // The cases with something to do, found in one pass that keeps only them.
    let mut due = Vec::new();
    for case in node.store().each_case()? {
        let summary = case?.summary.unwrap_or_default();
        if summary.erased_at_ms != 0 || past_retention(&summary) {
            due.push(summary);
        }
    }
    for summary in due {
        let key = cases::case_key(&summary.counterparty, &summary.case_ref);
        let expired = past_retention(&summary);
        if summary.erased_at_ms != 0 {
            if node.store().finish_erasure(&key, &own)? {
                report.erasures_finished += 1;
            }
            // A withdrawal kept what this node authored: retention erases it in its time.
            if !(expired && node.store().has_case_key(&crate::vault::authored(&key))) {
                continue;
            }
        }
        if expired {
            let reason = format!(
                "retention: no message for {} days",
                node.retention_ms() / (24 * 3600 * 1000)
            );
            let erasure = Erasure {
                case_key: key,
                own: own.clone(),
                at_ms: now_ms,
                reason,
                message_id: String::new(),
                actor: "node".into(),
                idle_since_ms: Some(summary.last_activity_ms),
                scope: Scope::All,
            };
            if node.store().erase_case(erasure).await?.is_some() {
                report.erased_for_retention += 1;
            }
        }
    }
    Ok(report)
}

/// Sweeps every `interval` until `stop` turns true.
pub async fn run(node: Arc<Node>, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        match sweep(&node, time::now_ms()).await {
            Ok(report) if report != SweepReport::default() => {
                info!(?report, "maintenance sweep");
            }
            Ok(_) => {}
            Err(e) => warn!(cause = %e, "maintenance sweep failed; trying again next interval"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(case_ref: &str, due_at_ms: u64) -> pb::OverdueItem {
        pb::OverdueItem {
            case_ref: case_ref.into(),
            due_at_ms,
            ..pb::OverdueItem::default()
        }
    }

    fn kept(offered: &[(&str, u64)], limit: usize) -> (Vec<String>, usize) {
        let mut most = MostOverdue::new(limit);
        for (case_ref, due) in offered {
            most.offer(item(case_ref, *due));
        }
        let (items, total) = most.finish();
        (items.into_iter().map(|i| i.case_ref).collect(), total)
    }

    #[test]
    fn the_earliest_due_are_kept_in_order_and_all_are_counted() {
        let offered = [("E", 50), ("A", 10), ("D", 40), ("B", 20), ("C", 30)];
        assert_eq!(
            kept(&offered, 3),
            (vec!["A".into(), "B".into(), "C".into()], 5)
        );
        assert_eq!(kept(&offered, 10).0, ["A", "B", "C", "D", "E"]);
        assert_eq!(kept(&offered, 0), (Vec::new(), 5));
    }

    #[test]
    fn of_equal_due_times_the_first_offered_is_kept_as_a_stable_sort_would() {
        let offered = [("late", 30), ("first", 20), ("second", 20), ("third", 20)];
        assert_eq!(kept(&offered, 2).0, ["first", "second"]);
        assert_eq!(kept(&offered, 4).0, ["first", "second", "third", "late"]);
    }
}
