//! Known-answer tests, one per family of figures: small federations built by hand, whose right
//! answers are stated in each test and checked in the report's JSON, as a coordinator's script
//! would read it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trm_proto::pb::{self, LogEvent, MessageKind as K, OrganisationType as T};
use trm_proto::time::format_ms;

use super::scenario::{ASTRA, BMI, CSR, DAY, HOUR, LEFOE, MARCH_1};
use crate::report::{NodeLog, Orgs, Report, Verification, build};

const T0: u64 = MARCH_1;
const MINUTE: u64 = 60_000;
const ASTRA_NAME: &str = "Astra – Anti-Trafficking Action";

fn orgs() -> Orgs {
    Orgs::new([
        (LEFOE, "AT", T::Ngo),
        (BMI, "AT", T::Police),
        (ASTRA, "RS", T::Ngo),
        (CSR, "RS", T::SocialServices),
    ])
    .with_name(LEFOE, "LEFÖ-IBF")
    .with_name(ASTRA, ASTRA_NAME)
    .with_name(BMI, "Federal Ministry of the Interior")
}

fn decision(d: pb::referral_response::Decision) -> pb::AuditFlags {
    pb::AuditFlags {
        decision: d.into(),
        ..Default::default()
    }
}

fn accepted() -> pb::AuditFlags {
    decision(pb::referral_response::Decision::Accepted)
}

fn declined() -> pb::AuditFlags {
    decision(pb::referral_response::Decision::Declined)
}

fn needs_information() -> pb::AuditFlags {
    decision(pb::referral_response::Decision::NeedsInformation)
}

fn urgent() -> pb::AuditFlags {
    pb::AuditFlags {
        priority: pb::Priority::Urgent.into(),
        ..Default::default()
    }
}

fn closes() -> pb::AuditFlags {
    pb::AuditFlags {
        closes_case: true,
        ..Default::default()
    }
}

fn travel() -> pb::AuditFlags {
    pb::AuditFlags {
        records_travel: true,
        ..Default::default()
    }
}

/// Every organisation's log, written as its node would.
#[derive(Default)]
struct Fed {
    logs: BTreeMap<&'static str, Vec<pb::LogEntry>>,
}

impl Fed {
    /// `from` sends `to` message `id` of `kind` on `case` at `at`; received a minute later.
    fn send(
        &mut self,
        id: &str,
        (from, to): (&'static str, &'static str),
        kind: K,
        case: &str,
        at: u64,
        flags: pb::AuditFlags,
    ) -> &mut Self {
        let entry = |event: LogEvent, at_ms: u64, counterparty: &str| pb::LogEntry {
            at_ms,
            event: event.into(),
            message_id: id.to_owned(),
            counterparty: counterparty.to_owned(),
            kind: kind.into(),
            case_ref: case.to_owned(),
            envelope_digest: format!("digest-{id}").into_bytes(),
            flags: Some(flags),
            actor: "caseworker".into(),
            ..Default::default()
        };
        let sent = self.logs.entry(from).or_default();
        sent.push(entry(LogEvent::Sent, at, to));
        sent.push(entry(LogEvent::Delivered, at + MINUTE, to));
        self.logs
            .entry(to)
            .or_default()
            .push(entry(LogEvent::Received, at + MINUTE, from));
        self
    }

    /// `node` logs `event` about message `id` on `case` with `counterparty`.
    fn log(
        &mut self,
        node: &'static str,
        event: LogEvent,
        (id, counterparty, case): (&str, &str, &str),
        at_ms: u64,
        due_at_ms: u64,
    ) -> &mut Self {
        self.logs.entry(node).or_default().push(pb::LogEntry {
            at_ms,
            event: event.into(),
            message_id: id.to_owned(),
            counterparty: counterparty.to_owned(),
            case_ref: case.to_owned(),
            actor: "node".into(),
            due_at_ms,
            ..Default::default()
        });
        self
    }

    /// The report as of `as_of`, as its JSON reads.
    fn report(&self, as_of: u64) -> Value {
        let logs: Vec<NodeLog> = self
            .logs
            .iter()
            .map(|(node, entries)| {
                let mut entries = entries.clone();
                entries.sort_by_key(|e| e.at_ms);
                NodeLog {
                    node: (*node).to_owned(),
                    exported_at_ms: as_of,
                    entries,
                }
            })
            .collect();
        let verification = Verification {
            ok: true,
            ..Default::default()
        };
        let report = Report::new("balkans", &logs, &orgs(), verification, as_of);
        let text = build::render(&report, "json").expect("renders");
        serde_json::from_str(&text).expect("parses")
    }
}

/// The message ids of a listed table, with their due times and notes.
fn listed(json: &Value, table: &str) -> Vec<(String, String, String)> {
    json["figures"][table]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| {
            (
                l["message_id"].as_str().unwrap_or_default().to_owned(),
                l["due"].as_str().unwrap_or_default().to_owned(),
                l["note"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn timing(json: &Value, measure: &str) -> Value {
    json["figures"]["timings"]
        .as_array()
        .expect("timings")
        .iter()
        .find(|t| t["measure"] == measure)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn referrals_sent_minutes_ago_await_their_answer_and_acceptance_counts_after_needs_information() {
    let as_of = T0 + 40 * HOUR;
    let mut fed = Fed::default();
    // r1 accepted after 2 hours.
    fed.send(
        "r1",
        (LEFOE, ASTRA),
        K::Referral,
        "C1",
        T0,
        Default::default(),
    )
    .send(
        "a1",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "C1",
        T0 + 2 * HOUR,
        accepted(),
    );
    // r2: more information needed after 5 hours, then accepted after 30.
    fed.send(
        "r2",
        (BMI, ASTRA),
        K::Referral,
        "C2",
        T0,
        Default::default(),
    )
    .send(
        "a2",
        (ASTRA, BMI),
        K::ReferralResponse,
        "C2",
        T0 + 5 * HOUR,
        needs_information(),
    )
    .send(
        "a3",
        (ASTRA, BMI),
        K::ReferralResponse,
        "C2",
        T0 + 30 * HOUR,
        accepted(),
    );
    // r3 sent 10 minutes before the report.
    fed.send(
        "r3",
        (LEFOE, CSR),
        K::Referral,
        "C3",
        as_of - 10 * MINUTE,
        Default::default(),
    );
    let json = fed.report(as_of);

    assert_eq!(json["as_of"], format_ms(as_of));
    assert_eq!(
        json["figures"]["referrals"],
        json!({
            "sent": 3,
            "answered": 2,
            "answered_in_time": 2,
            "awaiting_not_yet_due": 1,
            "never_answered": 0,
            "closed_without_answer": 0,
        })
    );
    assert_eq!(listed(&json, "unanswered_referrals"), []);
    // A routine referral is due a week after it was sent.
    assert_eq!(
        listed(&json, "awaiting_referrals"),
        [(
            "r3".to_owned(),
            format_ms(as_of - 10 * MINUTE + 168 * HOUR),
            String::new()
        )]
    );
    // The first accepting answer: 2 h and 30 h (nearest rank: the median of two is the lower).
    assert_eq!(
        timing(&json, "referral_to_acceptance"),
        json!({"measure": "referral_to_acceptance", "count": 2,
               "median_ms": 2 * HOUR, "p90_ms": 30 * HOUR})
    );
    // The first answer of any kind: 2 h and 5 h.
    assert_eq!(
        timing(&json, "referral_to_response"),
        json!({"measure": "referral_to_response", "count": 2,
               "median_ms": 2 * HOUR, "p90_ms": 5 * HOUR})
    );
    assert_eq!(timing(&json, "referral_to_decline")["count"], 0);
    // Delivery confirmed a minute after each of the three.
    assert_eq!(
        timing(&json, "referral_to_delivery"),
        json!({"measure": "referral_to_delivery", "count": 3,
               "median_ms": MINUTE, "p90_ms": MINUTE})
    );
}

#[test]
fn a_referral_is_never_answered_once_past_due_unless_its_sender_closed_it() {
    let as_of = T0 + 10 * DAY;
    let mut fed = Fed::default();
    // r4: urgent, so due 48 hours after it was sent; never answered.
    fed.send("r4", (LEFOE, CSR), K::Referral, "C4", T0, urgent());
    // r5: closed by its sender a day later, without an answer.
    fed.send(
        "r5",
        (LEFOE, CSR),
        K::Referral,
        "C5",
        T0 + DAY,
        Default::default(),
    )
    .send(
        "u5",
        (LEFOE, CSR),
        K::CaseUpdate,
        "C5",
        T0 + 2 * DAY,
        closes(),
    );
    // r6: the addressee's case ended with a consent withdrawal.
    fed.send(
        "r6",
        (LEFOE, ASTRA),
        K::Referral,
        "C6",
        T0 + DAY,
        Default::default(),
    )
    .send(
        "w6",
        (ASTRA, LEFOE),
        K::ConsentWithdrawal,
        "C6",
        T0 + 3 * DAY,
        Default::default(),
    );
    // r7: its sender's node, configured with a day to answer, logged it overdue: that due
    // time counts, though by the default week it would not be due yet.
    fed.send(
        "r7",
        (BMI, ASTRA),
        K::Referral,
        "C7",
        T0 + 5 * DAY,
        Default::default(),
    )
    .log(
        BMI,
        LogEvent::Overdue,
        ("r7", ASTRA, "C7"),
        T0 + 6 * DAY + HOUR,
        T0 + 6 * DAY,
    );
    // r8: another case update (not closing) does not stop the clock; due in 6 days.
    fed.send(
        "r8",
        (BMI, ASTRA),
        K::Referral,
        "C8",
        T0 + 9 * DAY,
        Default::default(),
    )
    .send(
        "u8",
        (BMI, ASTRA),
        K::CaseUpdate,
        "C8",
        T0 + 9 * DAY + HOUR,
        Default::default(),
    );
    let json = fed.report(as_of);

    assert_eq!(
        json["figures"]["referrals"],
        json!({
            "sent": 5,
            "answered": 0,
            "answered_in_time": 0,
            "awaiting_not_yet_due": 1,
            "never_answered": 2,
            "closed_without_answer": 2,
        })
    );
    assert_eq!(
        listed(&json, "unanswered_referrals"),
        [
            ("r4".to_owned(), format_ms(T0 + 48 * HOUR), String::new()),
            ("r7".to_owned(), format_ms(T0 + 6 * DAY), String::new()),
        ]
    );
    assert_eq!(
        listed(&json, "awaiting_referrals"),
        [("r8".to_owned(), format_ms(T0 + 16 * DAY), String::new())]
    );
    let r4 = &json["figures"]["unanswered_referrals"][0];
    assert_eq!(
        (&r4["from_name"], &r4["to_name"], &r4["age_days"]),
        (&json!("LEFÖ-IBF"), &json!(CSR), &json!(10))
    );
}

#[test]
fn a_return_lacks_a_follow_up_only_once_one_is_overdue() {
    let as_of = T0 + 101 * DAY;
    let mut fed = Fed::default();
    // q1: travelled on day 10; the 1-month follow-up came on day 35; the 3-month one, due on
    // day 100, did not.
    fed.send(
        "q1",
        (LEFOE, ASTRA),
        K::ReturnRequest,
        "R1",
        T0,
        Default::default(),
    )
    .send(
        "t1",
        (LEFOE, ASTRA),
        K::CaseUpdate,
        "R1",
        T0 + 10 * DAY,
        travel(),
    )
    .send(
        "f1",
        (ASTRA, LEFOE),
        K::FollowUp,
        "R1",
        T0 + 35 * DAY,
        Default::default(),
    );
    // q2: requested a minute before the report.
    fed.send(
        "q2",
        (LEFOE, ASTRA),
        K::ReturnRequest,
        "R2",
        as_of - MINUTE,
        Default::default(),
    );
    // q3: travelled on day 5, closed on day 20, before the first follow-up fell due.
    fed.send(
        "q3",
        (BMI, CSR),
        K::ReturnRequest,
        "R3",
        T0,
        Default::default(),
    )
    .send(
        "t3",
        (BMI, CSR),
        K::CaseUpdate,
        "R3",
        T0 + 5 * DAY,
        travel(),
    )
    .send(
        "u3",
        (BMI, CSR),
        K::CaseUpdate,
        "R3",
        T0 + 20 * DAY,
        closes(),
    );
    // q4: requested long ago, never recorded as travelled: no follow-up is due.
    fed.send(
        "q4",
        (BMI, CSR),
        K::ReturnRequest,
        "R4",
        T0,
        Default::default(),
    );
    // q5: travelled on day 50; its 1-month follow-up is due on day 80 and came on day 79.
    fed.send(
        "q5",
        (LEFOE, CSR),
        K::ReturnRequest,
        "R5",
        T0 + 40 * DAY,
        Default::default(),
    )
    .send(
        "t5",
        (CSR, LEFOE),
        K::CaseUpdate,
        "R5",
        T0 + 50 * DAY,
        travel(),
    )
    .send(
        "f5",
        (CSR, LEFOE),
        K::FollowUp,
        "R5",
        T0 + 79 * DAY,
        Default::default(),
    );
    let json = fed.report(as_of);

    assert_eq!(
        listed(&json, "returns_without_follow_up"),
        [(
            "q1".to_owned(),
            format_ms(T0 + 100 * DAY),
            "follow-up at 3 months after return overdue".to_owned()
        )]
    );
    // A day earlier, the 3-month follow-up was not due yet.
    assert_eq!(
        listed(&fed.report(T0 + 100 * DAY), "returns_without_follow_up"),
        []
    );
}

#[test]
fn answers_withdrawals_and_erasures_are_counted() {
    let mut fed = Fed::default();
    fed.send(
        "r1",
        (LEFOE, ASTRA),
        K::Referral,
        "C1",
        T0,
        Default::default(),
    )
    .send(
        "a1",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "C1",
        T0 + HOUR,
        needs_information(),
    )
    .send(
        "a2",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "C1",
        T0 + 2 * HOUR,
        needs_information(),
    )
    .send(
        "a3",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "C1",
        T0 + 3 * HOUR,
        accepted(),
    );
    fed.send("r2", (BMI, CSR), K::Referral, "C2", T0, Default::default())
        .send(
            "a4",
            (CSR, BMI),
            K::ReferralResponse,
            "C2",
            T0 + HOUR,
            needs_information(),
        )
        .send(
            "a5",
            (CSR, BMI),
            K::ReferralResponse,
            "C2",
            T0 + 2 * HOUR,
            declined(),
        );
    fed.send(
        "r3",
        (BMI, ASTRA),
        K::Referral,
        "C3",
        T0,
        Default::default(),
    )
    .send(
        "a6",
        (ASTRA, BMI),
        K::ReferralResponse,
        "C3",
        T0 + HOUR,
        accepted(),
    );
    // C1's consent is withdrawn; both sides erase (Astra's erasure is logged twice: counted
    // once).
    fed.send(
        "w1",
        (LEFOE, ASTRA),
        K::ConsentWithdrawal,
        "C1",
        T0 + DAY,
        Default::default(),
    )
    .log(
        ASTRA,
        LogEvent::Erased,
        ("w1", LEFOE, "C1"),
        T0 + DAY + MINUTE,
        0,
    )
    .log(
        ASTRA,
        LogEvent::Erased,
        ("w1", LEFOE, "C1"),
        T0 + DAY + HOUR,
        0,
    )
    .log(
        LEFOE,
        LogEvent::Erased,
        ("w1", ASTRA, "C1"),
        T0 + DAY + MINUTE,
        0,
    );
    let json = fed.report(T0 + 2 * DAY);

    assert_eq!(
        json["figures"]["outcomes"],
        json!({
            "accepted": 2,
            "declined": 1,
            "needs_information": 3,
            "information_supplied": 0,
            "consent_withdrawals": 1,
            "erasures": 2,
        })
    );
    // Decline counts from the referral to the first declining answer, after more information
    // was asked for.
    assert_eq!(
        timing(&json, "referral_to_decline"),
        json!({"measure": "referral_to_decline", "count": 1,
               "median_ms": 2 * HOUR, "p90_ms": 2 * HOUR})
    );
}

#[test]
fn timeliness_per_organisation_and_country_pair() {
    let as_of = T0 + 30 * DAY;
    let mut fed = Fed::default();
    // To Astra: answered in 2 h, answered in 200 h (late: a routine referral is due in 168 h),
    // never answered.
    fed.send(
        "a1",
        (LEFOE, ASTRA),
        K::Referral,
        "A1",
        T0,
        Default::default(),
    )
    .send(
        "x1",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "A1",
        T0 + 2 * HOUR,
        accepted(),
    )
    .send(
        "a2",
        (LEFOE, ASTRA),
        K::Referral,
        "A2",
        T0,
        Default::default(),
    )
    .send(
        "x2",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "A2",
        T0 + 200 * HOUR,
        declined(),
    )
    .send(
        "a3",
        (LEFOE, ASTRA),
        K::Referral,
        "A3",
        T0,
        Default::default(),
    );
    // To the Serbian social services: answered in 10 h.
    fed.send("b1", (BMI, CSR), K::Referral, "B1", T0, Default::default())
        .send(
            "y1",
            (CSR, BMI),
            K::ReferralResponse,
            "B1",
            T0 + 10 * HOUR,
            accepted(),
        );
    // To LEFÖ-IBF: sent an hour ago.
    fed.send(
        "c1",
        (ASTRA, LEFOE),
        K::Referral,
        "C1",
        as_of - HOUR,
        Default::default(),
    );
    let json = fed.report(as_of);

    assert_eq!(
        json["figures"]["timeliness_by_organisation"],
        json!([
            {"label": ASTRA, "name": ASTRA_NAME, "referrals": 3, "answered": 2,
             "answered_in_time": 1, "never_answered": 1, "awaiting_not_yet_due": 0,
             "median_ms": 2 * HOUR, "p90_ms": 200 * HOUR, "in_time_percent": 33},
            {"label": CSR, "name": CSR, "referrals": 1, "answered": 1,
             "answered_in_time": 1, "never_answered": 0, "awaiting_not_yet_due": 0,
             "median_ms": 10 * HOUR, "p90_ms": 10 * HOUR, "in_time_percent": 100},
            {"label": LEFOE, "name": "LEFÖ-IBF", "referrals": 1, "answered": 0,
             "answered_in_time": 0, "never_answered": 0, "awaiting_not_yet_due": 1,
             "median_ms": null, "p90_ms": null, "in_time_percent": null},
        ])
    );
    assert_eq!(
        json["figures"]["timeliness_by_country_pair"],
        json!([
            {"label": "AT→RS", "name": "", "referrals": 4, "answered": 3,
             "answered_in_time": 2, "never_answered": 1, "awaiting_not_yet_due": 0,
             "median_ms": 10 * HOUR, "p90_ms": 200 * HOUR, "in_time_percent": 50},
            {"label": "RS→AT", "name": "", "referrals": 1, "answered": 0,
             "answered_in_time": 0, "never_answered": 0, "awaiting_not_yet_due": 1,
             "median_ms": null, "p90_ms": null, "in_time_percent": null},
        ])
    );
}

#[test]
fn the_page_names_organisations_and_speaks_plainly() {
    let as_of = T0 + 30 * DAY;
    let mut fed = Fed::default();
    fed.send(
        "a1",
        (LEFOE, ASTRA),
        K::Referral,
        "A1",
        T0,
        Default::default(),
    )
    .send(
        "x1",
        (ASTRA, LEFOE),
        K::ReferralResponse,
        "A1",
        T0 + 2 * HOUR,
        accepted(),
    )
    .send(
        "a3",
        (LEFOE, ASTRA),
        K::Referral,
        "A3",
        T0,
        Default::default(),
    );
    let json = fed.report(as_of);
    let report: Report = {
        let logs: Vec<NodeLog> = fed
            .logs
            .iter()
            .map(|(node, entries)| NodeLog {
                node: (*node).to_owned(),
                exported_at_ms: as_of,
                entries: entries.clone(),
            })
            .collect();
        Report::new(
            "balkans",
            &logs,
            &orgs(),
            Verification {
                ok: true,
                ..Default::default()
            },
            as_of,
        )
    };
    let html = build::render(&report, "html").expect("html");
    assert_eq!(json["figures"]["network_nodes"][0]["name"], ASTRA_NAME);
    assert!(html.contains("Astra – Anti-Trafficking Action <span class=\"addr\">astra@rs</span>"));
    assert!(html.contains("<td>referral response</td>"));
    assert!(html.contains("delivery confirmed by the partner"));
    assert!(html.contains(
        "2 referrals were sent. 1 answered (1 of them by the due time); 0 awaiting an answer \
         that is not due yet; 1 never answered by the due time; 0 closed by the sender before \
         any answer."
    ));
    assert!(html.contains("No case concerns a child."));
    for jargon in [
        "REFERRAL_RESPONSE",
        "referral_response",
        "DELIVERED",
        "receipt",
        "finding(s)",
        "case(s)",
    ] {
        assert!(!html.contains(jargon), "the page says {jargon}");
    }
}
