//! The report's figures, computed by pure functions over decoded log entries: which
//! handovers happened (a SENT entry, or a RECEIVED entry when the sender's bundle is absent,
//! each envelope digest once), and from them every table of the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use trm_log::deadlines::{DAY_MS, FOLLOW_UP_MONTHS, follow_up_due_ms};
use trm_proto::pb::{self, LogEvent, MessageKind};
use trm_proto::time::format_ms;

use super::NodeLog;
use super::answers::{self, Index, Standing};
use super::orgs::{Orgs, kind_name};
pub use super::tables::*;

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

fn listed(h: &Handover, orgs: &Orgs, as_of_ms: u64, due_ms: Option<u64>, note: &str) -> Listed {
    Listed {
        message_id: h.message_id.clone(),
        case_ref: h.case_ref.clone(),
        kind: kind_name(h.kind),
        from: h.from.clone(),
        from_name: orgs.name(&h.from).to_owned(),
        to: h.to.clone(),
        to_name: orgs.name(&h.to).to_owned(),
        at: format_ms(h.at_ms),
        age_days: as_of_ms.saturating_sub(h.at_ms) / DAY_MS,
        due: due_ms.map(format_ms).unwrap_or_default(),
        note: note.to_owned(),
    }
}

/// The kinds that supply information a referral's addressee asked for; none yet, as the
/// protocol has no such message kind: a caseworker sends it as a case update, which the log
/// cannot tell apart from other updates.
const SUPPLEMENT_KINDS: [MessageKind; 0] = [];

/// Answers by decision, information supplied, consent withdrawals and erasures.
fn outcomes(logs: &[NodeLog], all: &[Handover]) -> Outcomes {
    let decided = |d: pb::referral_response::Decision| {
        all.iter()
            .filter(|h| is(h, MessageKind::ReferralResponse) && h.flags.decision == i32::from(d))
            .count() as u64
    };
    let erased: BTreeSet<(&str, &str, &str)> = logs
        .iter()
        .flat_map(|l| l.entries.iter().map(move |e| (l.node.as_str(), e)))
        .filter(|(_, e)| e.event == i32::from(LogEvent::Erased))
        .map(|(node, e)| (node, e.counterparty.as_str(), e.case_ref.as_str()))
        .collect();
    Outcomes {
        accepted: decided(pb::referral_response::Decision::Accepted),
        declined: decided(pb::referral_response::Decision::Declined),
        needs_information: decided(pb::referral_response::Decision::NeedsInformation),
        information_supplied: all
            .iter()
            .filter(|h| SUPPLEMENT_KINDS.iter().any(|k| is(h, *k)))
            .count() as u64,
        consent_withdrawals: all
            .iter()
            .filter(|h| is(h, MessageKind::ConsentWithdrawal))
            .count() as u64,
        erasures: erased.len() as u64,
    }
}

/// Return requests whose person travelled (a case update recorded it) and which have had fewer
/// follow-ups since than have fallen due by `as_of_ms` (and before the case closed), each with
/// the due time of the first follow-up missing.
fn returns_without_follow_up<'a>(
    all: &'a [Handover],
    index: &Index<'a>,
    as_of_ms: u64,
) -> Vec<(&'a Handover, u64, u32)> {
    all.iter()
        .filter(|h| is(h, MessageKind::ReturnRequest))
        .filter_map(|r| {
            let pair = (r.from.as_str(), r.to.as_str());
            let travelled = index
                .between(MessageKind::CaseUpdate, pair, &r.case_ref, r.at_ms)
                .into_iter()
                .find(|u| u.flags.records_travel)?
                .at_ms;
            let until = index
                .closed(pair, &r.case_ref, travelled, true)
                .map_or(as_of_ms, |closed| closed.min(as_of_ms));
            let followed = index
                .between(MessageKind::FollowUp, pair, &r.case_ref, travelled)
                .len();
            let months = *FOLLOW_UP_MONTHS.get(followed)?;
            let due = follow_up_due_ms(travelled, months);
            (due < until).then_some((r, due, months))
        })
        .collect()
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
    let due_logged = answers::logged_due_times(logs);
    let referrals = answers::requests(
        &all,
        &index,
        &due_logged,
        (MessageKind::Referral, MessageKind::ReferralResponse),
        as_of_ms,
    );
    let info_requests = answers::requests(
        &all,
        &index,
        &due_logged,
        (MessageKind::InfoRequest, MessageKind::InfoResponse),
        as_of_ms,
    );
    let to_delivery = referrals
        .iter()
        .map(|r| r.handover)
        .filter(|h| h.from_sender_log)
        .filter_map(|h| {
            delivered
                .get(&(h.from.as_str(), h.message_id.as_str()))
                .map(|d| d.saturating_sub(h.at_ms))
        })
        .collect();
    // The first answer to each referral with `decision`, after any that asked for more
    // information.
    let decided = |decision: pb::referral_response::Decision| -> Vec<u64> {
        referrals
            .iter()
            .map(|r| r.handover)
            .filter_map(|h| {
                index
                    .after(
                        MessageKind::ReferralResponse,
                        (&h.to, &h.from),
                        &h.case_ref,
                        h.at_ms,
                    )
                    .iter()
                    .find(|a| a.flags.decision == i32::from(decision))
                    .map(|a| a.at_ms.saturating_sub(h.at_ms))
            })
            .collect()
    };
    let to_acceptance = decided(pb::referral_response::Decision::Accepted);
    let to_decline = decided(pb::referral_response::Decision::Declined);
    let to_response = referrals
        .iter()
        .filter_map(|r| match r.standing {
            Standing::Answered(at) => Some(at.saturating_sub(r.handover.at_ms)),
            _ => None,
        })
        .collect();
    let in_standing = |requests: &[answers::Request<'_>], standing: Standing| -> Vec<Listed> {
        requests
            .iter()
            .filter(|r| r.standing == standing)
            .map(|r| listed(r.handover, orgs, as_of_ms, Some(r.due_ms), ""))
            .collect()
    };
    let (timeliness_by_organisation, timeliness_by_country_pair) =
        answers::timeliness_tables(&referrals, orgs);
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
                orgs,
                as_of_ms,
                Some(e.due_at_ms),
                &format!(
                    "due {}, recorded overdue by {}",
                    format_ms(e.due_at_ms),
                    orgs.name(node)
                ),
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
            Some(listed(h, orgs, as_of_ms, None, note))
        })
        .collect();
    let without_follow_up = returns_without_follow_up(&all, &index, as_of_ms)
        .into_iter()
        .map(|(r, due, months)| {
            listed(
                r,
                orgs,
                as_of_ms,
                Some(due),
                &format!("follow-up at {months} months after return overdue"),
            )
        })
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
        referrals: answers::standing(&referrals),
        outcomes: outcomes(logs, &all),
        timeliness_by_organisation,
        timeliness_by_country_pair,
        unanswered_referrals: in_standing(&referrals, Standing::PastDue),
        awaiting_referrals: in_standing(&referrals, Standing::Awaiting),
        unanswered_info_requests: in_standing(&info_requests, Standing::PastDue),
        late,
        disclosures_without_consent: disclosures,
        returns_without_risk_assessment: all
            .iter()
            .filter(|r| is(r, MessageKind::ReturnRequest) && !r.flags.risk_assessment_present)
            .map(|r| listed(r, orgs, as_of_ms, None, ""))
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
                name: orgs.name(a).to_owned(),
                country: orgs.country(a).to_owned(),
                organisation_type: orgs.organisation_type(a).to_owned(),
            })
            .collect(),
        network_edges: edges
            .into_iter()
            .map(|((from, to), count)| Edge {
                from_name: orgs.name(&from).to_owned(),
                to_name: orgs.name(&to).to_owned(),
                from,
                to,
                count,
            })
            .collect(),
    }
}
