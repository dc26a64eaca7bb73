//! The default due times every node applies to open case items, and the pure rules that turn
//! them into due times: here so that a node (which may configure other values) and an auditor
//! (who reads only the log, and so only the defaults) count the same way.

use trm_proto::pb;

/// An hour, in milliseconds.
pub const HOUR_MS: u64 = 3600 * 1000;
/// A day, in milliseconds.
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// A month, for follow-up intervals: 30 days.
pub const MONTH_MS: u64 = 30 * DAY_MS;

/// Days to answer an information request that states no deadline, by default.
pub const INFO_REQUEST_DAYS: u64 = 30;
/// Follow-ups after return, in months after travel, by default.
pub const FOLLOW_UP_MONTHS: [u32; 4] = [1, 3, 6, 12];

/// Hours to answer a referral, by its priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferralAnswerHours {
    /// A routine referral.
    pub routine: u64,
    /// An urgent referral.
    pub urgent: u64,
    /// A referral marked immediate.
    pub immediate: u64,
}

impl ReferralAnswerHours {
    /// The defaults: a week, 48 hours, 24 hours.
    pub const DEFAULT: Self = Self {
        routine: 7 * 24,
        urgent: 48,
        immediate: 24,
    };

    /// Milliseconds to answer a referral of `priority` (as carried on the wire; anything but
    /// urgent or immediate counts as routine).
    pub fn answer_ms(&self, priority: i32) -> u64 {
        let hours = match pb::Priority::try_from(priority) {
            Ok(pb::Priority::Urgent) => self.urgent,
            Ok(pb::Priority::Immediate) => self.immediate,
            _ => self.routine,
        };
        hours.saturating_mul(HOUR_MS)
    }
}

/// When the follow-up `months` after a travel recorded at `travelled_at_ms` falls due.
pub fn follow_up_due_ms(travelled_at_ms: u64, months: u32) -> u64 {
    travelled_at_ms.saturating_add(u64::from(months).saturating_mul(MONTH_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_set_the_time_to_answer_and_months_count_thirty_days() {
        let hours = ReferralAnswerHours::DEFAULT;
        assert_eq!(hours.answer_ms(pb::Priority::Routine.into()), 168 * HOUR_MS);
        assert_eq!(hours.answer_ms(pb::Priority::Urgent.into()), 48 * HOUR_MS);
        assert_eq!(
            hours.answer_ms(pb::Priority::Immediate.into()),
            24 * HOUR_MS
        );
        assert_eq!(hours.answer_ms(0), 168 * HOUR_MS);
        assert_eq!(follow_up_due_ms(1_000, 3), 1_000 + 90 * DAY_MS);
    }
}
