//! The report's figures over a synthetic federation of four countries (AT, RS, MK, AL) whose
//! answers are written out by hand below, not computed with the report's code; and the three
//! formats over the same scenario, through real bundles (chained, checkpointed entries).

mod known;
mod scenario;

use ed25519_dalek::SigningKey;
use prost::Message;
use trm_log::checkpoint::{self, Checkpoint};
use trm_log::entry::entry_hash;
use trm_log::merkle::MerkleTree;
use trm_proto::pb::{self, MessageKind as K};

use super::figures::{Count, Edge, HandoverCount};
use super::*;
use scenario::*;

fn count(label: &str, count: u64) -> Count {
    Count {
        label: label.to_owned(),
        count,
    }
}

fn ids(list: &[figures::Listed]) -> Vec<(&str, &str, &str, &str, u64, &str)> {
    list.iter()
        .map(|l| {
            (
                l.message_id.as_str(),
                l.case_ref.as_str(),
                l.from.as_str(),
                l.to.as_str(),
                l.age_days,
                l.note.as_str(),
            )
        })
        .collect()
}

#[test]
fn handovers_are_counted_once_per_month_country_pair_and_kind() {
    let mut logs = World::scenario().logs();
    // The same log twice (two exports) counts each envelope once.
    logs.push(logs[0].clone());
    let f = figures::compute(&logs, &orgs(), JUNE_1);
    assert_eq!(f.handovers_total, 18);
    assert_eq!(
        f.per_month,
        [
            count("2026-03", 8),
            count("2026-04", 7),
            count("2026-05", 3)
        ]
    );
    let mut pairs = f.per_country_pair.clone();
    pairs.sort_by(|a, b| a.label.cmp(&b.label));
    assert_eq!(
        pairs,
        [
            count("AL→MK", 1),
            count("AL→RS", 1),
            count("AT→MK", 1),
            count("AT→RS", 5),
            count("MK→AL", 2),
            count("MK→AT", 2),
            count("RS→AT", 4),
            count("RS→RS", 2),
        ]
    );
    let row = |month: &str, from: &str, to: &str, kind: &str, count| HandoverCount {
        month: month.into(),
        from_country: from.into(),
        to_country: to.into(),
        kind: kind.into(),
        count,
    };
    let expected = [
        row("2026-03", "AL", "MK", "referral_response", 1),
        row("2026-03", "AT", "RS", "case_update", 2),
        row("2026-03", "AT", "RS", "referral", 1),
        row("2026-03", "AT", "RS", "return_request", 1),
        row("2026-03", "MK", "AL", "referral", 1),
        row("2026-03", "MK", "AL", "return_request", 1),
        row("2026-03", "RS", "AT", "referral_response", 1),
        row("2026-04", "AT", "MK", "referral", 1),
        row("2026-04", "AT", "RS", "info_request", 1),
        row("2026-04", "MK", "AT", "info_request", 1),
        row("2026-04", "MK", "AT", "referral_response", 1),
        row("2026-04", "RS", "AT", "follow_up", 1),
        row("2026-04", "RS", "AT", "info_response", 1),
        row("2026-04", "RS", "AT", "referral", 1),
        row("2026-05", "AL", "RS", "referral", 1),
        row("2026-05", "RS", "RS", "referral", 1),
        row("2026-05", "RS", "RS", "referral_response", 1),
    ];
    assert_eq!(f.handovers, expected);
}

#[test]
fn timings_are_medians_and_90th_percentiles_by_nearest_rank() {
    let f = figures::compute(&World::scenario().logs(), &orgs(), JUNE_1);
    // Delivered referrals from a sender's log: 0.5, 2, 4, 6 and 8 hours (m14's sender is absent).
    let delivery = &f.timings[0];
    assert_eq!(delivery.measure, "referral_to_delivery");
    assert_eq!(
        (delivery.count, delivery.median_ms, delivery.p90_ms),
        (5, Some(4 * HOUR), Some(8 * HOUR))
    );
    // Answered referrals: 5, 10, 48 and 96 hours.
    let response = &f.timings[1];
    assert_eq!(response.measure, "referral_to_response");
    assert_eq!(
        (response.count, response.median_ms, response.p90_ms),
        (4, Some(10 * HOUR), Some(96 * HOUR))
    );
    // By the first answer's decision: accepted after 10 and 96 hours, declined after 48; the
    // 5-hour answer asked for more information.
    let accepted = &f.timings[2];
    assert_eq!(accepted.measure, "referral_to_acceptance");
    assert_eq!(
        (accepted.count, accepted.median_ms, accepted.p90_ms),
        (2, Some(10 * HOUR), Some(96 * HOUR))
    );
    let declined = &f.timings[3];
    assert_eq!(declined.measure, "referral_to_decline");
    assert_eq!(
        (declined.count, declined.median_ms, declined.p90_ms),
        (1, Some(48 * HOUR), Some(48 * HOUR))
    );
    assert_eq!(figures::percentile(&[], 50), None);
    assert_eq!(figures::percentile(&[7], 90), Some(7));
}

#[test]
fn unanswered_requests_consent_returns_children_and_initiators_are_listed() {
    let f = figures::compute(&World::scenario().logs(), &orgs(), JUNE_1);
    // April 1 → June 1 is 61 days; May 3 01:00 → June 1 is 28 days and 23 hours.
    assert_eq!(
        ids(&f.unanswered_referrals),
        [
            ("m08", "C3", CSR, LEFOE, 61, ""),
            ("m14", "C5", MIA, ASTRA, 28, "")
        ]
    );
    assert_eq!(
        ids(&f.unanswered_info_requests),
        [("m13", "C4", OPEN_GATE, BMI, 47, "")]
    );
    assert_eq!(
        ids(&f.disclosures_without_consent),
        [
            ("m08", "C3", CSR, LEFOE, 61, "consent_overridden"),
            ("m10", "C3", CSR, LEFOE, 59, "no_consent")
        ]
    );
    assert_eq!(
        ids(&f.returns_without_risk_assessment),
        [("m07", "C2", OPEN_GATE, TJETER, 73, "")]
    );
    // C2's return was never recorded as travelled, so no follow-up has fallen due.
    assert_eq!(ids(&f.returns_without_follow_up), []);
    assert_eq!((f.children.cases, f.children.with_social_services), (3, 2));
    // Only C2's referral named a guardian; C3 and C6 did not.
    assert_eq!(
        (f.children.with_guardian, f.children.without_guardian),
        (1, 2)
    );
    assert_eq!(
        f.initiators,
        [
            count("ngo", 4),
            count("police", 1),
            count("social_services", 1)
        ]
    );
    // The scenario's directory gives no names, so each organisation goes by its address.
    let edge = |from: &str, to: &str, count| Edge {
        from: from.into(),
        from_name: from.into(),
        to: to.into(),
        to_name: to.into(),
        count,
    };
    let mut edges = f.network_edges.clone();
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    assert_eq!(
        edges,
        [
            edge(ASTRA, CSR, 1),
            edge(ASTRA, LEFOE, 2),
            edge(BMI, OPEN_GATE, 1),
            edge(CSR, ASTRA, 1),
            edge(CSR, LEFOE, 2),
            edge(LEFOE, ASTRA, 4),
            edge(LEFOE, CSR, 1),
            edge(MIA, ASTRA, 1),
            edge(OPEN_GATE, BMI, 2),
            edge(OPEN_GATE, TJETER, 2),
            edge(TJETER, OPEN_GATE, 1),
        ]
    );
    assert_eq!(f.network_nodes.len(), 7);
}

fn key(node: &str) -> SigningKey {
    SigningKey::from_bytes(&[node.len() as u8 + node.as_bytes()[0]; 32])
}

/// `node`'s entries as a signed, checkpointed bundle, as `trm log export` writes it.
fn bundle(node: &str, entries: &[pb::LogEntry]) -> Vec<u8> {
    let mut previous = [0u8; 32];
    let stored: Vec<Vec<u8>> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let mut entry = entry.clone();
            entry.index = index as u64;
            entry.prev_hash = previous.to_vec();
            let bytes = entry.encode_to_vec();
            previous = entry_hash(&bytes);
            bytes
        })
        .collect();
    let tree = MerkleTree::from_leaves(&stored);
    let origin =
        checkpoint::node_origin(FEDERATION, &node.parse().expect("address")).expect("origin");
    let note = checkpoint::sign(
        &Checkpoint {
            origin: origin.clone(),
            size: tree.size(),
            root: tree.root(),
        },
        &origin,
        &key(node),
    )
    .expect("signed");
    pb::LogBundle {
        format: crate::verify::bundle::FORMAT,
        federation: FEDERATION.into(),
        node: node.into(),
        exported_at_ms: JUNE_1,
        checkpoints: vec![note],
        entries: stored,
        ..Default::default()
    }
    .encode_to_vec()
}

fn trust() -> crate::verify::Trust {
    crate::verify::Trust::new(
        FEDERATION,
        PRESENT
            .iter()
            .map(|n| ((*n).to_owned(), vec![key(n).verifying_key()]))
            .collect(),
    )
}

#[test]
fn the_three_formats_from_real_bundles_agree_and_mark_findings() {
    let logs = World::scenario().logs();
    let mut bundles: Vec<(String, Vec<u8>)> = logs
        .iter()
        .map(|l| (format!("{}.bundle", l.node), bundle(&l.node, &l.entries)))
        .collect();
    let decoded = build::node_logs(&bundles, FEDERATION);
    assert_eq!(decoded.len(), 6);
    let report = Report::new(
        FEDERATION,
        &decoded,
        &orgs(),
        build::verification(bundles.clone(), &trust(), &orgs()),
        JUNE_1,
    );
    assert!(report.verification.ok);
    assert_eq!(report.as_of, "2026-06-01T00:00:00Z");
    assert_eq!(report.figures.handovers_total, 18);

    let json: serde_json::Value =
        serde_json::from_str(&build::render(&report, "json").expect("json")).expect("parses");
    assert_eq!(json["figures"]["handovers_total"], 18);
    assert_eq!(json["figures"]["children"]["with_social_services"], 2);
    assert_eq!(json["verification"]["ok"], true);
    assert_eq!(json["not_yet_available"], serde_json::json!([]));

    let csv = build::render(&report, "csv").expect("csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("table,month,"));
    assert!(rows.contains(&"per_month,,,,,2026-03,8,,,,,,,,,,,,,,,,,,"));
    // The case is named by the report's pseudonym, never by its reference (`C4`).
    let unanswered: Vec<&&str> = rows
        .iter()
        .filter(|r| r.starts_with("unanswered_info_request,,,,info_request,,,,,m13,case-"))
        .collect();
    assert_eq!(unanswered.len(), 1, "{csv}");
    assert!(
        unanswered[0].ends_with(",open-gate@mk,bmi@at,2026-04-15T00:00:00Z,47,,open-gate@mk,bmi@at,2026-05-15T00:00:00Z,,,,,,"),
        "{csv}"
    );
    assert!(!csv.contains(",C4,"), "{csv}");
    assert_eq!(
        rows.iter()
            .filter(|r| r.starts_with("not_yet_available,"))
            .count(),
        0
    );
    assert!(
        rows.iter()
            .all(|r| r.split(',').count() >= super::csv::COLUMNS.len())
    );

    let html = build::render(&report, "html").expect("html");
    std::fs::write(
        std::env::temp_dir().join("trm-audit-report-scenario.html"),
        &html,
    )
    .expect("written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Checking the logs found no problem"));
    assert!(!html.contains("Not yet available"));
    assert!(html.contains(
        "3 cases concern a child. In 2 of them a social-services organisation took part. \
         A guardian was named in 1 of them; in the other 2, no message named one."
    ));
    assert!(html.contains("<svg"));
    for outside in ["<script", "http://", "https://", "src=", "@import"] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }

    // A rewritten entry: still a report, marked at the top, listing what was found in every
    // format.
    let (_, astra) = &mut bundles[2];
    let mut b = pb::LogBundle::decode(astra.as_slice()).expect("bundle");
    let mut e = pb::LogEntry::decode(b.entries[0].as_slice()).expect("entry");
    e.at_ms += 1;
    b.entries[0] = e.encode_to_vec();
    *astra = b.encode_to_vec();
    let named = orgs()
        .with_name(LEFOE, "LEFÖ-IBF")
        .with_name(ASTRA, "Astra")
        .with_name(CSR, "Centre for Social Work Belgrade")
        .with_name(OPEN_GATE, "Open Gate – La Strada");
    let marked = Report::new(
        FEDERATION,
        &build::node_logs(&bundles, FEDERATION),
        &named,
        build::verification(bundles, &trust(), &named),
        JUNE_1,
    );
    assert!(!marked.verification.ok);
    assert!(marked.verification.findings > 0);
    assert_eq!(
        marked.verification.details.len(),
        marked.verification.findings
    );
    let rewritten = marked
        .verification
        .details
        .iter()
        .find(|d| d.node == ASTRA && d.kind == "rewritten_entries")
        .expect("the rewritten entry is a finding");
    assert_eq!(
        rewritten.what,
        "entries were changed after the organisation signed for them"
    );
    let json: serde_json::Value =
        serde_json::from_str(&build::render(&marked, "json").expect("json")).expect("parses");
    let details = json["verification"]["details"]
        .as_array()
        .expect("findings listed");
    assert!(
        details
            .iter()
            .any(|d| d["node"] == ASTRA && d["kind"] == "rewritten_entries")
    );
    let csv = build::render(&marked, "csv").expect("csv");
    assert_eq!(
        csv.lines().filter(|r| r.starts_with("finding,")).count(),
        marked.verification.findings
    );
    assert!(csv.lines().any(|r| r.starts_with("finding,")
        && r.contains(",rewritten_entries,")
        && r.contains(ASTRA)
        && r.contains("entries were changed after the organisation signed for them")));
    let html = build::render(&marked, "html").expect("html");
    std::fs::write(
        std::env::temp_dir().join("trm-audit-report-scenario-findings.html"),
        &html,
    )
    .expect("written");
    assert!(html.contains("WARNING: checking the logs found"));
    assert!(html.contains("<td>Astra <span class=\"addr\">astra@rs</span></td>"));
    assert!(html.contains("Problems found in the logs"));
    assert!(html.contains("entries were changed after the organisation signed for them"));
}

#[test]
fn html_escapes_text_from_bundles() {
    let mut w = World::default();
    w.send(
        "<script>alert(1)</script>",
        LEFOE,
        "x\"&'<@at",
        K::Referral,
        "<em>",
        march(1),
        NONE,
        None,
    );
    let logs = vec![NodeLog {
        node: LEFOE.into(),
        exported_at_ms: JUNE_1,
        entries: w.logs[LEFOE].clone(),
    }];
    let report = Report::new(
        FEDERATION,
        &logs,
        &orgs(),
        Verification {
            ok: true,
            ..Default::default()
        },
        JUNE_1,
    );
    let html = html::render(&report);
    assert!(!html.contains("<script"));
    assert!(!html.contains("<em>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("x&quot;&amp;&#39;&lt;@at"));
}

#[test]
fn csv_quotes_fields_and_defuses_formulas() {
    let mut w = World::default();
    w.send(
        "m1",
        LEFOE,
        ASTRA,
        K::Referral,
        "=HYPERLINK(\"x\"),1",
        march(1),
        NONE,
        None,
    );
    let logs = vec![NodeLog {
        node: LEFOE.into(),
        exported_at_ms: JUNE_1,
        entries: w.logs[LEFOE].clone(),
    }];
    let verification = Verification {
        ok: true,
        ..Default::default()
    };
    let csv = csv::render(&Report::new(
        FEDERATION,
        &logs,
        &orgs(),
        verification,
        JUNE_1,
    ));
    assert!(
        csv.contains(",m1,\"'=HYPERLINK(\"\"x\"\"),1\",lefoe@at,astra@rs,"),
        "{csv}"
    );
}

#[test]
fn items_logged_overdue_by_either_node_are_listed_once_as_late() {
    let mut logs = World::scenario().logs();
    let due = JUNE_1 - 10 * 86_400_000;
    for log in &mut logs {
        let counterparty = match log.node.as_str() {
            OPEN_GATE => BMI,
            BMI => OPEN_GATE,
            _ => continue,
        };
        log.entries.push(pb::LogEntry {
            at_ms: due + 60_000,
            event: pb::LogEvent::Overdue.into(),
            message_id: "m13".into(),
            counterparty: counterparty.into(),
            kind: K::InfoRequest.into(),
            case_ref: "C4".into(),
            actor: "node".into(),
            due_at_ms: due,
            ..Default::default()
        });
    }
    let f = figures::compute(&logs, &orgs(), JUNE_1);
    let late = ids(&f.late);
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(
        (late[0].0, late[0].1),
        ("m13", "C4"),
        "the request, once, though both nodes logged it"
    );
    assert_eq!((late[0].2, late[0].3), (OPEN_GATE, BMI));
    assert!(
        late[0]
            .5
            .starts_with(&format!("due {}", trm_proto::time::format_ms(due)))
    );
}
