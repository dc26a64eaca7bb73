//! The figures of a run: rounds, referrals, and per fault kind the recovery times (from the
//! fault's end to the first delivery after it, and to the round's last delivery) as median, 95th
//! percentile and maximum; and every violation with the seed and round that replay it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One violation: what, and where to replay it.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The round (0 for the checks at the end).
    pub round: usize,
    /// The fault of that round.
    pub fault: String,
    /// What is wrong, in words.
    pub what: String,
}

/// How one round recovered, ms after the fault's end.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recovery {
    /// To the first delivery after the fault's end; `None` when nothing was delivered after it.
    pub first_ms: Option<u64>,
    /// To the round's last delivery; `None` when the round's referrals did not all arrive
    /// without a restart.
    pub drained_ms: Option<u64>,
    /// Whether the round ended without a violation.
    pub clean: bool,
}

/// Everything counted.
#[derive(Debug, Default)]
pub struct Figures {
    /// The seed.
    pub seed: u64,
    /// Rounds run.
    pub rounds: usize,
    /// Referrals acknowledged by the senders' nodes.
    pub messages: usize,
    /// Referrals whose sender gave up (outcome unknown).
    pub unknown: usize,
    /// Calls repeated after a failure.
    pub retries: u64,
    /// Rounds that needed every process restarted to deliver their referrals.
    pub restarts: usize,
    /// Recoveries by fault kind.
    pub recoveries: BTreeMap<String, Vec<Recovery>>,
    /// Fault kinds skipped, and why.
    pub skipped: Vec<String>,
    /// Violations.
    pub violations: Vec<Violation>,
}

/// The `p` quantile (0 to 1) of sorted `values`, by nearest rank.
fn quantile(sorted: &[u64], p: f64) -> Option<u64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = ((last as f64) * p).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// `median / p95 / max` of `values` in seconds, or a dash.
fn spread(mut values: Vec<u64>) -> String {
    values.sort_unstable();
    let s = |v: Option<u64>| {
        v.map_or_else(|| "-".to_owned(), |ms| format!("{:.1}", ms as f64 / 1000.0))
    };
    format!(
        "{:>6} {:>6} {:>6}",
        s(quantile(&values, 0.5)),
        s(quantile(&values, 0.95)),
        s(values.last().copied())
    )
}

impl Figures {
    /// The report, as printed at the end of a run.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "seed {}", self.seed);
        let _ = writeln!(
            out,
            "rounds {}, referrals acknowledged {}, outcome unknown {}, calls repeated {}, rounds that needed a restart {}",
            self.rounds, self.messages, self.unknown, self.retries, self.restarts
        );
        for skipped in &self.skipped {
            let _ = writeln!(out, "SKIPPED {skipped}");
        }
        let _ = writeln!(
            out,
            "recovery, seconds from the fault's end  (first delivery: median p95 max | all delivered: median p95 max | rounds stuck, rounds with a violation)"
        );
        for (kind, recoveries) in &self.recoveries {
            let first = recoveries.iter().filter_map(|r| r.first_ms).collect();
            let drained = recoveries.iter().filter_map(|r| r.drained_ms).collect();
            let stuck = recoveries.iter().filter(|r| r.drained_ms.is_none()).count();
            let failed = recoveries.iter().filter(|r| !r.clean).count();
            let _ = writeln!(
                out,
                "  {kind:<16} {:>3} rounds  {} | {} | {stuck:>3} {failed:>3}",
                recoveries.len(),
                spread(first),
                spread(drained)
            );
        }
        if self.violations.is_empty() {
            let _ = writeln!(out, "violations: none");
        } else {
            let _ = writeln!(out, "violations: {}", self.violations.len());
            for v in &self.violations {
                let rounds = if v.round == 0 { self.rounds } else { v.round };
                let _ = writeln!(
                    out,
                    "  round {} ({}): {}  [replay: --seed {} --rounds {rounds}]",
                    v.round, v.fault, v.what, self.seed
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), Some(51));
        assert_eq!(quantile(&values, 0.95), Some(95));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(spread(vec![3000, 1000, 2000]), "   2.0    3.0    3.0");
    }
}
