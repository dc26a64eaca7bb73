//! Where each request stands at the report's moment, from the log alone: answered (by its due
//! time or late), awaiting an answer that is not due yet, past its due time with no answer, or
//! closed by its sender without one; and from that, how promptly each organisation and each
//! country pair answered referrals.
//!
//! A request's due time is the one a node logged in an OVERDUE entry for it; otherwise the
//! default rules of [`trm_log::deadlines`] applied to what the log records (a referral's
//! priority; an information request's default time, as the log does not record a deadline the
//! request states).

use std::collections::{BTreeMap, HashMap};

use trm_log::deadlines::{DAY_MS, INFO_REQUEST_DAYS, ReferralAnswerHours};
use trm_proto::pb::{LogEvent, MessageKind};

use super::NodeLog;
use super::figures::{Handover, percentile};
use super::orgs::Orgs;
use super::tables::{ReferralStanding, Timeliness};

/// Handovers by (kind, from, to, case), oldest first, to find answers without a quadratic scan.
pub(super) struct Index<'a> {
    by_key: HashMap<(i32, &'a str, &'a str, &'a str), Vec<&'a Handover>>,
}

impl<'a> Index<'a> {
    /// Indexes `all`, which is sorted oldest first.
    pub(super) fn new(all: &'a [Handover]) -> Self {
        let mut by_key: HashMap<_, Vec<&Handover>> = HashMap::new();
        for h in all {
            by_key
                .entry((h.kind, h.from.as_str(), h.to.as_str(), h.case_ref.as_str()))
                .or_default()
                .push(h);
        }
        Self { by_key }
    }

    /// The handovers of `kind` from `from` to `to` on `case` at or after `at_ms`, oldest first.
    pub(super) fn after<'s>(
        &'s self,
        kind: MessageKind,
        (from, to): (&'s str, &'s str),
        case: &'s str,
        at_ms: u64,
    ) -> &'s [&'a Handover] {
        // The keys' lifetime shortened to the lookup's.
        let by_key: &'s HashMap<(i32, &'s str, &'s str, &'s str), Vec<&'a Handover>> = &self.by_key;
        let list = by_key
            .get(&(i32::from(kind), from, to, case))
            .map_or(&[][..], Vec::as_slice);
        list.get(list.partition_point(|h| h.at_ms < at_ms)..)
            .unwrap_or_default()
    }

    /// The same, in either direction between the two organisations, oldest first.
    pub(super) fn between(
        &self,
        kind: MessageKind,
        (a, b): (&str, &str),
        case: &str,
        at_ms: u64,
    ) -> Vec<&'a Handover> {
        let mut both = self.after(kind, (a, b), case, at_ms).to_vec();
        if a != b {
            both.extend_from_slice(self.after(kind, (b, a), case, at_ms));
        }
        both.sort_by_key(|h| h.at_ms);
        both
    }

    /// When the case between the two organisations ended at or after `at_ms`: a consent
    /// withdrawal either way, or (when `closing_updates`) a case update of `from`'s that closes
    /// it.
    pub(super) fn closed(
        &self,
        (from, to): (&str, &str),
        case: &str,
        at_ms: u64,
        closing_updates: bool,
    ) -> Option<u64> {
        let withdrawn = self
            .between(MessageKind::ConsentWithdrawal, (from, to), case, at_ms)
            .first()
            .map(|h| h.at_ms);
        let closed = closing_updates
            .then(|| {
                self.after(MessageKind::CaseUpdate, (from, to), case, at_ms)
                    .iter()
                    .find(|h| h.flags.closes_case)
                    .map(|h| h.at_ms)
            })
            .flatten();
        withdrawn.into_iter().chain(closed).min()
    }
}

/// The earliest due time nodes logged as passed for each (message, case).
pub(super) fn logged_due_times(logs: &[NodeLog]) -> HashMap<(&str, &str), u64> {
    let mut due: HashMap<(&str, &str), u64> = HashMap::new();
    for e in logs
        .iter()
        .flat_map(|l| &l.entries)
        .filter(|e| e.event == i32::from(LogEvent::Overdue))
    {
        let at = due
            .entry((e.message_id.as_str(), e.case_ref.as_str()))
            .or_insert(e.due_at_ms);
        *at = (*at).min(e.due_at_ms);
    }
    due
}

/// Where one request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standing {
    /// Answered at this time.
    Answered(u64),
    /// Not answered, not due yet.
    Awaiting,
    /// Not answered by its due time, not closed.
    PastDue,
    /// Closed by its sender, or its case ended, before any answer.
    Closed,
}

/// One request and where it stands.
#[derive(Clone, Copy, Debug)]
pub(super) struct Request<'a> {
    /// The request.
    pub(super) handover: &'a Handover,
    /// When its answer is or was due.
    pub(super) due_ms: u64,
    /// Where it stands.
    pub(super) standing: Standing,
}

impl Request<'_> {
    /// Answered by its due time.
    pub(super) fn in_time(&self) -> bool {
        matches!(self.standing, Standing::Answered(at) if at <= self.due_ms)
    }
}

/// Where each handover of `kind` stands at `as_of_ms`, answered by `reply`.
pub(super) fn requests<'a>(
    all: &'a [Handover],
    index: &Index<'a>,
    due_logged: &HashMap<(&str, &str), u64>,
    (kind, reply): (MessageKind, MessageKind),
    as_of_ms: u64,
) -> Vec<Request<'a>> {
    all.iter()
        .filter(|h| h.kind == i32::from(kind))
        .map(|h| {
            let default_ms = if kind == MessageKind::Referral {
                ReferralAnswerHours::DEFAULT.answer_ms(h.flags.priority)
            } else {
                INFO_REQUEST_DAYS.saturating_mul(DAY_MS)
            };
            let due_ms = due_logged
                .get(&(h.message_id.as_str(), h.case_ref.as_str()))
                .copied()
                .unwrap_or_else(|| h.at_ms.saturating_add(default_ms));
            let pair = (h.from.as_str(), h.to.as_str());
            let answer = index
                .after(reply, (pair.1, pair.0), &h.case_ref, h.at_ms)
                .first()
                .map(|a| a.at_ms);
            // A case update closes referrals and returns, not information requests.
            let closing_updates = kind == MessageKind::Referral;
            let standing = match answer {
                Some(at) => Standing::Answered(at),
                None if index
                    .closed(pair, &h.case_ref, h.at_ms, closing_updates)
                    .is_some() =>
                {
                    Standing::Closed
                }
                // As a node does: overdue once the due time is behind.
                None if due_ms < as_of_ms => Standing::PastDue,
                None => Standing::Awaiting,
            };
            Request {
                handover: h,
                due_ms,
                standing,
            }
        })
        .collect()
}

/// The referrals' standing, counted.
pub(super) fn standing(referrals: &[Request<'_>]) -> ReferralStanding {
    let mut s = ReferralStanding {
        sent: referrals.len() as u64,
        ..Default::default()
    };
    for r in referrals {
        match r.standing {
            Standing::Answered(_) => {
                s.answered += 1;
                s.answered_in_time += u64::from(r.in_time());
            }
            Standing::Awaiting => s.awaiting_not_yet_due += 1,
            Standing::PastDue => s.never_answered += 1,
            Standing::Closed => s.closed_without_answer += 1,
        }
    }
    s
}

/// Timeliness rows of `referrals` grouped by `group` (a label and a name), in label order.
pub(super) fn timeliness<'a>(
    referrals: &[Request<'a>],
    group: impl Fn(&'a Handover) -> (String, String),
) -> Vec<Timeliness> {
    let mut rows: BTreeMap<String, (Timeliness, Vec<u64>)> = BTreeMap::new();
    for r in referrals {
        let (label, name) = group(r.handover);
        let (row, times) = rows.entry(label.clone()).or_insert_with(|| {
            (
                Timeliness {
                    label,
                    name,
                    ..Default::default()
                },
                Vec::new(),
            )
        });
        row.referrals += 1;
        match r.standing {
            Standing::Answered(at) => {
                row.answered += 1;
                row.answered_in_time += u64::from(r.in_time());
                times.push(at.saturating_sub(r.handover.at_ms));
            }
            Standing::Awaiting => row.awaiting_not_yet_due += 1,
            Standing::PastDue => row.never_answered += 1,
            Standing::Closed => {}
        }
    }
    rows.into_values()
        .map(|(mut row, mut times)| {
            times.sort_unstable();
            row.median_ms = percentile(&times, 50);
            row.p90_ms = percentile(&times, 90);
            let due = row.answered + row.never_answered;
            row.in_time_percent = (due > 0).then(|| row.answered_in_time * 100 / due);
            row
        })
        .collect()
}

/// Timeliness per addressee organisation and per country pair.
pub(super) fn timeliness_tables(
    referrals: &[Request<'_>],
    orgs: &Orgs,
) -> (Vec<Timeliness>, Vec<Timeliness>) {
    let by_org = timeliness(referrals, |h| (h.to.clone(), orgs.name(&h.to).to_owned()));
    let by_pair = timeliness(referrals, |h| {
        (
            format!("{}→{}", orgs.country(&h.from), orgs.country(&h.to)),
            String::new(),
        )
    });
    (by_org, by_pair)
}
