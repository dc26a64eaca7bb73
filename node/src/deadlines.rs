//! Due times of open case items, from the node's `[deadlines]` configuration.
//!
//! - A referral is answered within a time that depends on its priority (routine, urgent,
//!   immediate), counted from when it was sent or received.
//! - A referral whose sender supplied the information the addressee asked for is answered
//!   again within the same time, counted from the supplement.
//! - An information request is answered by the deadline it states, or within a configured
//!   number of days when it states none.
//! - A requested return is confirmed a configured number of days before its travel date, or
//!   within a configured number of days when no travel date is set.
//! - After the person travelled, a follow-up is due at each configured interval (1, 3, 6 and 12
//!   months by default, counting a month as 30 days) from the day the travel was recorded.
//!
//! Items in any other state owe nothing. Due times are computed when asked, not stored, so a
//! change of configuration applies to items already open; [`crate::maintenance`] records in the
//! handover log each due time that passes.

use serde::{Deserialize, Serialize};
use trm_log::deadlines::{self as rules, DAY_MS, ReferralAnswerHours};
use trm_proto::pb;

use crate::cases::{INFO_REQUEST, REFERRAL, RETURN};
use crate::store::OUTGOING;

/// The `[deadlines]` section of the node configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    /// Hours to answer a routine referral.
    pub referral_answer_routine_hours: u64,
    /// Hours to answer an urgent referral.
    pub referral_answer_urgent_hours: u64,
    /// Hours to answer a referral marked immediate.
    pub referral_answer_immediate_hours: u64,
    /// Days to answer an information request that states no deadline.
    pub info_request_days: u64,
    /// A return is confirmed at least this many days before its travel date.
    pub return_confirmation_days_before_travel: u64,
    /// Days to confirm a return that has no travel date yet.
    pub return_confirmation_days: u64,
    /// Follow-ups after return, in months after travel.
    pub follow_up_months: Vec<u32>,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            referral_answer_routine_hours: ReferralAnswerHours::DEFAULT.routine,
            referral_answer_urgent_hours: ReferralAnswerHours::DEFAULT.urgent,
            referral_answer_immediate_hours: ReferralAnswerHours::DEFAULT.immediate,
            info_request_days: rules::INFO_REQUEST_DAYS,
            return_confirmation_days_before_travel: 3,
            return_confirmation_days: 14,
            follow_up_months: rules::FOLLOW_UP_MONTHS.to_vec(),
        }
    }
}

/// What an open item owes, and by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Unix milliseconds.
    pub at_ms: u64,
    /// What is due, in words.
    pub what: String,
    /// Whether the counterparty owes it (otherwise this node does).
    pub counterparty_owes: bool,
}

impl Deadlines {
    fn referral_answer_ms(&self, priority: i32) -> u64 {
        ReferralAnswerHours {
            routine: self.referral_answer_routine_hours,
            urgent: self.referral_answer_urgent_hours,
            immediate: self.referral_answer_immediate_hours,
        }
        .answer_ms(priority)
    }

    /// The item's due time, if it owes anything in its state.
    pub fn due(&self, item: &pb::CaseItem) -> Option<Due> {
        // The side that did not open the item answers it.
        let counterparty_owes = item.direction == OUTGOING;
        let due = |at_ms: u64, what: String| {
            Some(Due {
                at_ms,
                what,
                counterparty_owes,
            })
        };
        match (item.kind.as_str(), item.state.as_str()) {
            (REFERRAL, "sent" | "delivered") => due(
                item.opened_at_ms
                    .saturating_add(self.referral_answer_ms(item.priority)),
                "answer to the referral".into(),
            ),
            // Supplied what the addressee asked for: a fresh answer time, by the referral's
            // priority, from the supplement (the only step into this state).
            (REFERRAL, "information_supplied") => due(
                item.updated_at_ms
                    .saturating_add(self.referral_answer_ms(item.priority)),
                "answer to the referral, with the information supplied".into(),
            ),
            (INFO_REQUEST, "open") => {
                let at = if item.stated_deadline_ms != 0 {
                    item.stated_deadline_ms
                } else {
                    item.opened_at_ms
                        .saturating_add(self.info_request_days.saturating_mul(DAY_MS))
                };
                due(at, "answer to the information request".into())
            }
            (RETURN, "requested") => {
                let at = if item.stated_deadline_ms != 0 {
                    item.stated_deadline_ms.saturating_sub(
                        self.return_confirmation_days_before_travel
                            .saturating_mul(DAY_MS),
                    )
                } else {
                    item.opened_at_ms
                        .saturating_add(self.return_confirmation_days.saturating_mul(DAY_MS))
                };
                due(at, "confirmation of the return".into())
            }
            (RETURN, "travelled" | "followed_up") if item.travelled_at_ms != 0 => {
                let months = *self.follow_up_months.get(item.follow_ups as usize)?;
                due(
                    rules::follow_up_due_ms(item.travelled_at_ms, months),
                    format!(
                        "follow-up at {months} {} after return",
                        if months == 1 { "month" } else { "months" }
                    ),
                )
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trm_log::deadlines::MONTH_MS;

    fn item(kind: &str, state: &str) -> pb::CaseItem {
        pb::CaseItem {
            kind: kind.into(),
            message_id: "m".into(),
            direction: OUTGOING.into(),
            state: state.into(),
            opened_at_ms: 1_000,
            priority: pb::Priority::Routine.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_referral_is_due_by_its_priority_and_owes_nothing_once_answered() {
        let d = Deadlines::default();
        let routine = item(REFERRAL, "delivered");
        assert_eq!(
            d.due(&routine).map(|due| due.at_ms),
            Some(1_000 + 7 * DAY_MS)
        );
        let urgent = pb::CaseItem {
            priority: pb::Priority::Urgent.into(),
            ..routine.clone()
        };
        assert_eq!(
            d.due(&urgent).map(|due| due.at_ms),
            Some(1_000 + 2 * DAY_MS)
        );
        let immediate = pb::CaseItem {
            priority: pb::Priority::Immediate.into(),
            ..routine.clone()
        };
        assert_eq!(d.due(&immediate).map(|due| due.at_ms), Some(1_000 + DAY_MS));
        for answered in ["accepted", "declined", "needs_information", "closed"] {
            assert_eq!(d.due(&item(REFERRAL, answered)), None, "{answered}");
        }
        assert!(d.due(&routine).is_some_and(|due| due.counterparty_owes));
        let incoming = pb::CaseItem {
            direction: crate::store::INCOMING.into(),
            ..routine
        };
        assert!(d.due(&incoming).is_some_and(|due| !due.counterparty_owes));
    }

    #[test]
    fn a_supplemented_referral_is_due_again_from_the_supplement_by_its_priority() {
        let d = Deadlines::default();
        let mut supplied = item(REFERRAL, "information_supplied");
        supplied.updated_at_ms = 10 * DAY_MS;
        supplied.priority = pb::Priority::Urgent.into();
        assert_eq!(
            d.due(&supplied)
                .map(|due| (due.at_ms, due.counterparty_owes)),
            Some((12 * DAY_MS, true))
        );
    }

    #[test]
    fn requests_use_their_own_deadline_and_returns_their_travel_date() {
        let d = Deadlines::default();
        let mut request = item(INFO_REQUEST, "open");
        assert_eq!(
            d.due(&request).map(|due| due.at_ms),
            Some(1_000 + 30 * DAY_MS)
        );
        request.stated_deadline_ms = 5 * DAY_MS;
        assert_eq!(d.due(&request).map(|due| due.at_ms), Some(5 * DAY_MS));
        let mut ret = item(RETURN, "requested");
        assert_eq!(d.due(&ret).map(|due| due.at_ms), Some(1_000 + 14 * DAY_MS));
        ret.stated_deadline_ms = 20 * DAY_MS;
        assert_eq!(d.due(&ret).map(|due| due.at_ms), Some(17 * DAY_MS));
        assert_eq!(d.due(&item(RETURN, "confirmed")), None);
    }

    #[test]
    fn follow_ups_fall_due_one_after_another_then_stop() {
        let d = Deadlines::default();
        let mut ret = item(RETURN, "travelled");
        ret.travelled_at_ms = 10 * DAY_MS;
        let mut seen = Vec::new();
        for received in 0..5 {
            ret.follow_ups = received;
            seen.push(d.due(&ret).map(|due| (due.at_ms - 10 * DAY_MS) / MONTH_MS));
        }
        assert_eq!(seen, [Some(1), Some(3), Some(6), Some(12), None]);
    }
}
