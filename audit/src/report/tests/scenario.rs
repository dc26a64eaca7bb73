//! The synthetic federation the report's tests run on: seven organisations in four countries
//! (AT, RS, MK, AL), six of whose logs are present, and 18 handovers over three months whose
//! answers the tests write out by hand.

use std::collections::HashMap;

use trm_proto::pb::{self, LogEvent, MessageKind as K, OrganisationType as T};

use crate::report::{NodeLog, Orgs};

pub(super) const FEDERATION: &str = "balkans";
pub(super) const LEFOE: &str = "lefoe@at";
pub(super) const BMI: &str = "bmi@at";
pub(super) const ASTRA: &str = "astra@rs";
pub(super) const CSR: &str = "csr@rs";
pub(super) const OPEN_GATE: &str = "open-gate@mk";
pub(super) const TJETER: &str = "tjeter-vizion@al";
/// Her bundle is absent: her referral is known only from the addressee's RECEIVED entry.
pub(super) const MIA: &str = "mia@al";
pub(super) const PRESENT: [&str; 6] = [LEFOE, BMI, ASTRA, CSR, OPEN_GATE, TJETER];

pub(super) const HOUR: u64 = 3_600_000;
pub(super) const DAY: u64 = 24 * HOUR;
/// 2026-03-01T00:00:00Z.
pub(super) const MARCH_1: u64 = 1_772_323_200_000;
/// 2026-06-01T00:00:00Z: every bundle's export time, so ages are counted to it.
pub(super) const JUNE_1: u64 = 1_780_272_000_000;

pub(super) fn march(day: u64) -> u64 {
    MARCH_1 + (day - 1) * DAY
}
pub(super) fn april(day: u64) -> u64 {
    march(32) + (day - 1) * DAY
}
pub(super) fn may(day: u64) -> u64 {
    april(31) + (day - 1) * DAY
}

pub(super) fn orgs() -> Orgs {
    Orgs::new([
        (LEFOE, "AT", T::Ngo),
        (BMI, "AT", T::Police),
        (ASTRA, "RS", T::Ngo),
        (CSR, "RS", T::SocialServices),
        (OPEN_GATE, "MK", T::Ngo),
        (TJETER, "AL", T::Ngo),
        (MIA, "AL", T::Ngo),
    ])
}

#[derive(Default, Clone, Copy)]
pub(super) struct Flags {
    consent: bool,
    overridden: bool,
    child: bool,
    risk: bool,
    guardian: bool,
    decision: pb::referral_response::Decision,
}

pub(super) const CONSENT: Flags = Flags {
    consent: true,
    overridden: false,
    child: false,
    risk: false,
    guardian: false,
    decision: pb::referral_response::Decision::Unspecified,
};
pub(super) const NONE: Flags = Flags {
    consent: false,
    overridden: false,
    child: false,
    risk: false,
    guardian: false,
    decision: pb::referral_response::Decision::Unspecified,
};

/// A referral response's flags with its decision.
fn answered(decision: pb::referral_response::Decision) -> Flags {
    Flags { decision, ..NONE }
}

/// Every node's entries, as their nodes would log them.
#[derive(Default)]
pub(super) struct World {
    pub(super) logs: HashMap<&'static str, Vec<pb::LogEntry>>,
}

impl World {
    /// `from` sends `to` message `id`; delivered `delivered` ms later (received then), if at all.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &mut self,
        id: &str,
        from: &'static str,
        to: &'static str,
        kind: K,
        case: &str,
        at: u64,
        flags: Flags,
        delivered: Option<u64>,
    ) {
        let entry = |event: LogEvent, at_ms: u64, counterparty: &str| pb::LogEntry {
            at_ms,
            event: event.into(),
            message_id: id.to_owned(),
            counterparty: counterparty.to_owned(),
            kind: kind.into(),
            case_ref: case.to_owned(),
            envelope_digest: format!("digest-{id}").into_bytes(),
            flags: Some(pb::AuditFlags {
                consent_given: flags.consent,
                consent_overridden: flags.overridden,
                child: flags.child,
                risk_assessment_present: flags.risk,
                handling_code: 0,
                guardian_recorded: flags.guardian,
                decision: flags.decision.into(),
                ..Default::default()
            }),
            actor: "caseworker".into(),
            ..Default::default()
        };
        let sender = self.logs.entry(from).or_default();
        sender.push(entry(LogEvent::Sent, at, to));
        sender.push(entry(LogEvent::Accepted, at + 1_000, to));
        if let Some(after) = delivered {
            sender.push(entry(LogEvent::Delivered, at + after, to));
            self.logs
                .entry(to)
                .or_default()
                .push(entry(LogEvent::Received, at + after, from));
        }
    }

    /// The scenario: 18 handovers over March, April and May 2026.
    pub(super) fn scenario() -> Self {
        let mut w = Self::default();
        let child = Flags {
            child: true,
            ..CONSENT
        };
        // C1: a woman identified in Austria, referred to Serbia, returned, followed up.
        w.send(
            "m01",
            LEFOE,
            ASTRA,
            K::Referral,
            "C1",
            march(2),
            CONSENT,
            Some(2 * HOUR),
        );
        w.send(
            "m02",
            ASTRA,
            LEFOE,
            K::ReferralResponse,
            "C1",
            march(2) + 10 * HOUR,
            answered(pb::referral_response::Decision::Accepted),
            Some(HOUR),
        );
        w.send(
            "m03",
            LEFOE,
            ASTRA,
            K::ReturnRequest,
            "C1",
            march(10),
            Flags {
                risk: true,
                ..CONSENT
            },
            Some(HOUR),
        );
        w.send(
            "m17",
            LEFOE,
            ASTRA,
            K::CaseUpdate,
            "C1",
            march(12),
            NONE,
            Some(HOUR),
        );
        w.send(
            "m18",
            LEFOE,
            ASTRA,
            K::CaseUpdate,
            "C1",
            march(13),
            NONE,
            None,
        );
        w.send(
            "m04",
            ASTRA,
            LEFOE,
            K::FollowUp,
            "C1",
            april(5),
            NONE,
            Some(HOUR),
        );
        // C2: a child from North Macedonia to Albania, returned without a risk assessment and
        // without a follow-up.
        w.send(
            "m05",
            OPEN_GATE,
            TJETER,
            K::Referral,
            "C2",
            march(5),
            Flags {
                guardian: true,
                ..child
            },
            Some(4 * HOUR),
        );
        w.send(
            "m06",
            TJETER,
            OPEN_GATE,
            K::ReferralResponse,
            "C2",
            march(7),
            answered(pb::referral_response::Decision::Declined),
            Some(HOUR),
        );
        w.send(
            "m07",
            OPEN_GATE,
            TJETER,
            K::ReturnRequest,
            "C2",
            march(20),
            child,
            Some(3 * HOUR),
        );
        // C3: a child referred by Serbian social services under a consent override, never
        // answered; an information request answered without consent.
        let overridden = Flags {
            consent: false,
            overridden: true,
            child: true,
            ..NONE
        };
        w.send(
            "m08",
            CSR,
            LEFOE,
            K::Referral,
            "C3",
            april(1),
            overridden,
            Some(6 * HOUR),
        );
        w.send(
            "m09",
            LEFOE,
            CSR,
            K::InfoRequest,
            "C3",
            april(2),
            NONE,
            Some(HOUR),
        );
        w.send(
            "m10",
            CSR,
            LEFOE,
            K::InfoResponse,
            "C3",
            april(3),
            NONE,
            Some(HOUR),
        );
        // C4: Austrian police refer to North Macedonia; an information request back is never
        // answered (nor delivered).
        w.send(
            "m11",
            BMI,
            OPEN_GATE,
            K::Referral,
            "C4",
            april(10),
            CONSENT,
            Some(8 * HOUR),
        );
        w.send(
            "m12",
            OPEN_GATE,
            BMI,
            K::ReferralResponse,
            "C4",
            april(14),
            answered(pb::referral_response::Decision::Accepted),
            Some(HOUR),
        );
        w.send(
            "m13",
            OPEN_GATE,
            BMI,
            K::InfoRequest,
            "C4",
            april(15),
            NONE,
            None,
        );
        // C5: from an Albanian NGO whose bundle is absent, received an hour after sending.
        w.send(
            "m14",
            MIA,
            ASTRA,
            K::Referral,
            "C5",
            may(3),
            CONSENT,
            Some(HOUR),
        );
        // C6: a child referred within Serbia to social services, answered in five hours.
        w.send(
            "m15",
            ASTRA,
            CSR,
            K::Referral,
            "C6",
            may(4),
            child,
            Some(HOUR / 2),
        );
        w.send(
            "m16",
            CSR,
            ASTRA,
            K::ReferralResponse,
            "C6",
            may(4) + 5 * HOUR,
            answered(pb::referral_response::Decision::NeedsInformation),
            Some(HOUR),
        );
        w
    }

    /// The logs of the nodes whose bundles are present, entries in time order.
    pub(super) fn logs(&self) -> Vec<NodeLog> {
        PRESENT
            .iter()
            .map(|node| {
                let mut entries = self.logs.get(node).cloned().unwrap_or_default();
                entries.sort_by_key(|e| e.at_ms);
                NodeLog {
                    node: (*node).to_owned(),
                    exported_at_ms: JUNE_1,
                    entries,
                }
            })
            .collect()
    }
}
