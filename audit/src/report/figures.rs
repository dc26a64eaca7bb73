//! The report's figures, computed by pure functions over decoded log entries: which
//! handovers happened (a SENT entry, or a RECEIVED entry when the sender's bundle is absent,
//! each envelope digest once), and from them every table of the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use trm_proto::pb::{self, LogEvent, MessageKind};
use trm_proto::time::format_ms;

use super::NodeLog;
use super::orgs::{Orgs, kind_name};
pub use super::tables::*;

const DAY_MS: u64 = 86_400_000;

/// One handover, as the report counts it.
#[derive(Clone, Debug)]
pub struct Handover {
    /// The message.
    pub message_id: String,
    /// The sender's address.
    pub from: String,
    /// The addressee's address.
    pub to: String,
    /// The message kind.
    pub kind: i32,
    /// The pseudonymous case reference.
    pub case_ref: String,
    /// When it was sent (or received, when only the addressee's log is present).
    pub at_ms: u64,
    /// The audit flags logged with it.
    pub flags: pb::AuditFlags,
    /// Whether it comes from the sender's own SENT entry.
    pub from_sender_log: bool,
}

/// The handovers in `logs`: every SENT entry, and every RECEIVED entry whose sender's log is
/// absent; each envelope digest once, oldest first.
pub fn handovers(logs: &[NodeLog]) -> Vec<Handover> {
    let present: BTreeSet<&str> = logs.iter().map(|l| l.node.as_str()).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut add = |h: Handover, digest: &[u8]| {
        let key = if digest.is_empty() {
            format!("{}/{}", h.from, h.message_id).into_bytes()
        } else {
            digest.to_vec()
        };
        if seen.insert(key) {
            out.push(h);
        }
    };
    for (event, from_sender_log) in [(LogEvent::Sent, true), (LogEvent::Received, false)] {
        for log in logs {
            // Witness requests are audit traffic, not handovers of cases.
            for e in log.entries.iter().filter(|e| {
                e.event == i32::from(event) && e.kind != i32::from(MessageKind::WitnessRequest)
            }) {
                if !from_sender_log && present.contains(e.counterparty.as_str()) {
                    continue;
                }
                let (from, to) = if from_sender_log {
                    (log.node.clone(), e.counterparty.clone())
                } else {
                    (e.counterparty.clone(), log.node.clone())
                };
                let h = Handover {
                    message_id: e.message_id.clone(),
                    from,
                    to,
                    kind: e.kind,
                    case_ref: e.case_ref.clone(),
                    at_ms: e.at_ms,
                    flags: e.flags.unwrap_or_default(),
                    from_sender_log,
                };
                add(h, &e.envelope_digest);
            }
        }
    }
    out.sort_by(|a, b| (a.at_ms, &a.message_id).cmp(&(b.at_ms, &b.message_id)));
    out
}

/// The nearest-rank `p`th percentile of sorted `values`.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

fn timing(measure: &str, mut values: Vec<u64>) -> Timing {
    values.sort_unstable();
    Timing {
        measure: measure.to_owned(),
        count: values.len() as u64,
        median_ms: percentile(&values, 50),
        p90_ms: percentile(&values, 90),
    }
}

fn month(at_ms: u64) -> String {
    format_ms(at_ms).chars().take(7).collect()
}

fn is(h: &Handover, kind: MessageKind) -> bool {
    h.kind == i32::from(kind)
}

/// Handover times by (kind, from, to, case), sorted, to find answers without a quadratic scan.
struct Index<'a> {
    /// The times of each (kind, from, to, case)'s handovers.
    times: HashMap<(i32, &'a str, &'a str, &'a str), Vec<u64>>,
    /// The times of each case's FOLLOW_UPs, either direction.
    follow_ups: HashMap<&'a str, Vec<u64>>,
}

impl<'a> Index<'a> {
    fn new(all: &'a [Handover]) -> Self {
        let mut times: HashMap<_, Vec<u64>> = HashMap::new();
        let mut follow_ups: HashMap<_, Vec<u64>> = HashMap::new();
        for h in all {
            let key = (h.kind, h.from.as_str(), h.to.as_str(), h.case_ref.as_str());
            times.entry(key).or_default().push(h.at_ms);
            if is(h, MessageKind::FollowUp) {
                follow_ups
                    .entry(h.case_ref.as_str())
                    .or_default()
                    .push(h.at_ms);
            }
        }
        times.values_mut().for_each(|v| v.sort_unstable());
        follow_ups.values_mut().for_each(|v| v.sort_unstable());
        Self { times, follow_ups }
    }

    /// When the first handover of `kind` answered `h`: back from its addressee on its case,
    /// not before it.
    fn answer(&self, h: &Handover, kind: MessageKind) -> Option<u64> {
        let key = (
            i32::from(kind),
            h.to.as_str(),
            h.from.as_str(),
            h.case_ref.as_str(),
        );
        first_from(self.times.get(&key)?, h.at_ms)
    }

    /// Whether a FOLLOW_UP on `h`'s case came at or after it.
    fn followed_up(&self, h: &Handover) -> bool {
        self.follow_ups
            .get(h.case_ref.as_str())
            .and_then(|times| first_from(times, h.at_ms))
            .is_some()
    }
}

/// The first of sorted `times` at or after `at_ms`.
fn first_from(times: &[u64], at_ms: u64) -> Option<u64> {
    times.get(times.partition_point(|t| *t < at_ms)).copied()
}

fn listed(h: &Handover, as_of_ms: u64, note: &str) -> Listed {
    Listed {
        message_id: h.message_id.clone(),
        case_ref: h.case_ref.clone(),
        kind: kind_name(h.kind),
        from: h.from.clone(),
        to: h.to.clone(),
        at: format_ms(h.at_ms),
        age_days: as_of_ms.saturating_sub(h.at_ms) / DAY_MS,
        note: note.to_owned(),
    }
}

fn counts(map: BTreeMap<String, u64>) -> Vec<Count> {
    map.into_iter()
        .map(|(label, count)| Count { label, count })
        .collect()
}

/// Computes every figure over `logs`, with ages counted to `as_of_ms`.
pub fn compute(logs: &[NodeLog], orgs: &Orgs, as_of_ms: u64) -> Figures {
    let all = handovers(logs);
    let index = Index::new(&all);
    let mut grouped: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    let mut per_month = BTreeMap::new();
    let mut per_pair = BTreeMap::new();
    let mut edges: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut initiators = BTreeMap::new();
    for h in &all {
        let (from_country, to_country) = (orgs.country(&h.from), orgs.country(&h.to));
        let key = (
            month(h.at_ms),
            from_country.to_owned(),
            to_country.to_owned(),
            kind_name(h.kind),
        );
        *grouped.entry(key).or_default() += 1;
        *per_month.entry(month(h.at_ms)).or_default() += 1;
        *per_pair
            .entry(format!("{from_country}→{to_country}"))
            .or_default() += 1;
        *edges.entry((h.from.clone(), h.to.clone())).or_default() += 1;
        if is(h, MessageKind::Referral) {
            *initiators
                .entry(orgs.organisation_type(&h.from).to_owned())
                .or_default() += 1;
        }
    }
    let delivered: HashMap<(&str, &str), u64> = logs
        .iter()
        .flat_map(|l| l.entries.iter().map(move |e| (l.node.as_str(), e)))
        .filter(|(_, e)| e.event == i32::from(LogEvent::Delivered))
        .fold(HashMap::new(), |mut map, (node, e)| {
            let at = map.entry((node, e.message_id.as_str())).or_insert(e.at_ms);
            *at = (*at).min(e.at_ms);
            map
        });
    let referrals: Vec<&Handover> = all
        .iter()
        .filter(|h| is(h, MessageKind::Referral))
        .collect();
    let to_delivery = referrals
        .iter()
        .filter(|h| h.from_sender_log)
        .filter_map(|h| {
            delivered
                .get(&(h.from.as_str(), h.message_id.as_str()))
                .map(|d| d.saturating_sub(h.at_ms))
        })
        .collect();
    // The first answer to each referral, by its decision (flagged on the response's entry).
    let decided = |decision: pb::referral_response::Decision| -> Vec<u64> {
        referrals
            .iter()
            .filter_map(|h| {
                let answer = all
                    .iter()
                    .filter(|r| {
                        is(r, MessageKind::ReferralResponse)
                            && r.from == h.to
                            && r.to == h.from
                            && r.case_ref == h.case_ref
                            && r.at_ms >= h.at_ms
                    })
                    .min_by_key(|r| r.at_ms)?;
                (answer.flags.decision == i32::from(decision)).then(|| answer.at_ms - h.at_ms)
            })
            .collect()
    };
    let to_acceptance = decided(pb::referral_response::Decision::Accepted);
    let to_decline = decided(pb::referral_response::Decision::Declined);
    let to_response = referrals
        .iter()
        .filter_map(|h| {
            index
                .answer(h, MessageKind::ReferralResponse)
                .map(|at| at - h.at_ms)
        })
        .collect();
    let unanswered = |kind, reply| {
        all.iter()
            .filter(|h| is(h, kind) && index.answer(h, reply).is_none())
            .map(|h| listed(h, as_of_ms, ""))
            .collect()
    };
    let mut late_seen = BTreeSet::new();
    let late = logs
        .iter()
        .flat_map(|log| {
            log.entries
                .iter()
                .filter(|e| e.event == i32::from(LogEvent::Overdue))
                .map(move |e| (log.node.as_str(), e))
        })
        .filter(|(_, e)| late_seen.insert((e.message_id.clone(), e.due_at_ms)))
        .filter_map(|(node, e)| {
            let opened = all.iter().find(|h| {
                h.message_id == e.message_id
                    && ((h.from == node && h.to == e.counterparty)
                        || (h.to == node && h.from == e.counterparty))
            })?;
            Some(listed(
                opened,
                as_of_ms,
                &format!("due {}, logged overdue by {node}", format_ms(e.due_at_ms)),
            ))
        })
        .collect();
    let disclosures = all
        .iter()
        .filter(|h| {
            is(h, MessageKind::Referral)
                || is(h, MessageKind::ReturnRequest)
                || is(h, MessageKind::InfoResponse)
        })
        .filter_map(|h| {
            let note = if h.flags.consent_overridden {
                "consent_overridden"
            } else if !h.flags.consent_given {
                "no_consent"
            } else {
                return None;
            };
            Some(listed(h, as_of_ms, note))
        })
        .collect();
    let returns: Vec<&Handover> = all
        .iter()
        .filter(|h| is(h, MessageKind::ReturnRequest))
        .collect();
    let without_follow_up = returns
        .iter()
        .filter(|r| !index.followed_up(r))
        .map(|r| listed(r, as_of_ms, ""))
        .collect();
    let child_cases: BTreeSet<&str> = all
        .iter()
        .filter(|h| h.flags.child)
        .map(|h| h.case_ref.as_str())
        .collect();
    let social = |a: &str| orgs.organisation_type(a) == "social_services";
    let social_cases: BTreeSet<&str> = all
        .iter()
        .filter(|h| social(&h.from) || social(&h.to))
        .map(|h| h.case_ref.as_str())
        .collect();
    let with_social_services = child_cases.intersection(&social_cases).count() as u64;
    let guardian_cases: BTreeSet<&str> = all
        .iter()
        .filter(|h| h.flags.child && h.flags.guardian_recorded)
        .map(|h| h.case_ref.as_str())
        .collect();
    let with_guardian = child_cases.intersection(&guardian_cases).count() as u64;
    let addresses: BTreeSet<&str> = all
        .iter()
        .flat_map(|h| [h.from.as_str(), h.to.as_str()])
        .collect();
    Figures {
        handovers_total: all.len() as u64,
        handovers: grouped
            .into_iter()
            .map(
                |((month, from_country, to_country, kind), count)| HandoverCount {
                    month,
                    from_country,
                    to_country,
                    kind,
                    count,
                },
            )
            .collect(),
        per_month: counts(per_month),
        per_country_pair: counts(per_pair),
        timings: vec![
            timing("referral_to_delivery", to_delivery),
            timing("referral_to_response", to_response),
            timing("referral_to_acceptance", to_acceptance),
            timing("referral_to_decline", to_decline),
        ],
        unanswered_referrals: unanswered(MessageKind::Referral, MessageKind::ReferralResponse),
        unanswered_info_requests: unanswered(MessageKind::InfoRequest, MessageKind::InfoResponse),
        late,
        disclosures_without_consent: disclosures,
        returns_without_risk_assessment: returns
            .iter()
            .filter(|r| !r.flags.risk_assessment_present)
            .map(|r| listed(r, as_of_ms, ""))
            .collect(),
        returns_without_follow_up: without_follow_up,
        children: Children {
            cases: child_cases.len() as u64,
            with_social_services,
            with_guardian,
            without_guardian: child_cases.len() as u64 - with_guardian,
        },
        initiators: counts(initiators),
        network_nodes: addresses
            .into_iter()
            .map(|a| NetworkNode {
                address: a.to_owned(),
                country: orgs.country(a).to_owned(),
                organisation_type: orgs.organisation_type(a).to_owned(),
            })
            .collect(),
        network_edges: edges
            .into_iter()
            .map(|((from, to), count)| Edge { from, to, count })
            .collect(),
    }
}
