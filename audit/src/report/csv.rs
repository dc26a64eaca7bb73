//! The report as one CSV file: every table in one sheet, told apart by the first column
//! (`table`), with one fixed set of columns of which each table fills those it has. One file,
//! because a spreadsheet opens it as it is and a script filters on `table`.

use std::fmt::Write as _;

use super::Report;
use super::figures::{Listed, Timeliness};

/// The columns, in order.
pub const COLUMNS: [&str; 25] = [
    "table",
    "month",
    "from_country",
    "to_country",
    "kind",
    "label",
    "count",
    "median_ms",
    "p90_ms",
    "message_id",
    "case_ref",
    "from",
    "to",
    "at",
    "age_days",
    "note",
    "from_name",
    "to_name",
    "due",
    "answered",
    "answered_in_time",
    "never_answered",
    "awaiting_not_yet_due",
    "in_time_percent",
    "entry",
];

/// One row: the column names it fills and their values.
type Row<'a> = Vec<(&'static str, String)>;

/// A value as a CSV field: quoted when it holds a separator, a quote or a line break, and
/// prefixed with `'` when a spreadsheet would read it as a formula (a case reference is typed
/// by people, and a report travels to people who open it in a spreadsheet).
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn line(out: &mut String, row: &Row<'_>) {
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|c| {
            row.iter()
                .find(|(name, _)| name == c)
                .map(|(_, v)| field(v))
                .unwrap_or_default()
        })
        .collect();
    let _ = writeln!(out, "{}", cells.join(","));
}

fn listed_row(table: &'static str, l: &Listed) -> Row<'static> {
    vec![
        ("table", table.to_owned()),
        ("kind", l.kind.clone()),
        ("message_id", l.message_id.clone()),
        ("case_ref", l.case_ref.clone()),
        ("from", l.from.clone()),
        ("from_name", l.from_name.clone()),
        ("to", l.to.clone()),
        ("to_name", l.to_name.clone()),
        ("at", l.at.clone()),
        ("age_days", l.age_days.to_string()),
        ("due", l.due.clone()),
        ("note", l.note.clone()),
    ]
}

fn optional(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn timeliness_row(table: &'static str, t: &Timeliness) -> Row<'static> {
    vec![
        ("table", table.to_owned()),
        ("label", t.label.clone()),
        ("to_name", t.name.clone()),
        ("count", t.referrals.to_string()),
        ("answered", t.answered.to_string()),
        ("answered_in_time", t.answered_in_time.to_string()),
        ("never_answered", t.never_answered.to_string()),
        ("awaiting_not_yet_due", t.awaiting_not_yet_due.to_string()),
        ("median_ms", optional(t.median_ms)),
        ("p90_ms", optional(t.p90_ms)),
        ("in_time_percent", optional(t.in_time_percent)),
    ]
}

fn labelled(table: &'static str, label: &str, count: u64) -> Row<'static> {
    vec![
        ("table", table.to_owned()),
        ("label", label.to_owned()),
        ("count", count.to_string()),
    ]
}

/// The report as CSV: tables `verification`, `finding`, `handovers`, `per_month`,
/// `per_country_pair`, `timing`, `referral_standing`, `outcome`, `timeliness_organisation`,
/// `timeliness_country_pair`, `unanswered_referral`, `awaiting_referral`,
/// `unanswered_info_request`, `late`, `disclosure_without_consent`,
/// `return_without_risk_assessment`, `return_without_follow_up`, `children`, `initiator`,
/// `network_edge` and `not_yet_available`.
pub fn render(report: &Report) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    let f = &report.figures;
    let v = &report.verification;
    line(
        &mut out,
        &vec![
            ("table", "verification".to_owned()),
            ("label", if v.ok { "ok" } else { "FINDINGS" }.to_owned()),
            ("count", v.findings.to_string()),
            (
                "note",
                format!("federation {}, as of {}", report.federation, report.as_of),
            ),
        ],
    );
    for d in &v.details {
        line(
            &mut out,
            &vec![
                ("table", "finding".to_owned()),
                ("label", d.kind.clone()),
                ("from", d.node.clone()),
                ("from_name", d.organisation.clone()),
                ("message_id", d.message_id.clone().unwrap_or_default()),
                ("entry", optional(d.entry)),
                ("note", format!("{}: {} [{}]", d.what, d.detail, d.bundle)),
            ],
        );
    }
    for h in &f.handovers {
        line(
            &mut out,
            &vec![
                ("table", "handovers".to_owned()),
                ("month", h.month.clone()),
                ("from_country", h.from_country.clone()),
                ("to_country", h.to_country.clone()),
                ("kind", h.kind.clone()),
                ("count", h.count.to_string()),
            ],
        );
    }
    for c in &f.per_month {
        line(&mut out, &labelled("per_month", &c.label, c.count));
    }
    for c in &f.per_country_pair {
        line(&mut out, &labelled("per_country_pair", &c.label, c.count));
    }
    for t in &f.timings {
        line(
            &mut out,
            &vec![
                ("table", "timing".to_owned()),
                ("label", t.measure.clone()),
                ("count", t.count.to_string()),
                ("median_ms", optional(t.median_ms)),
                ("p90_ms", optional(t.p90_ms)),
            ],
        );
    }
    let r = &f.referrals;
    for (label, count) in [
        ("sent", r.sent),
        ("answered", r.answered),
        ("answered_in_time", r.answered_in_time),
        ("awaiting_not_yet_due", r.awaiting_not_yet_due),
        ("never_answered", r.never_answered),
        ("closed_without_answer", r.closed_without_answer),
    ] {
        line(&mut out, &labelled("referral_standing", label, count));
    }
    let o = &f.outcomes;
    for (label, count) in [
        ("accepted", o.accepted),
        ("declined", o.declined),
        ("needs_information", o.needs_information),
        ("information_supplied", o.information_supplied),
        ("consent_withdrawals", o.consent_withdrawals),
        ("erasures", o.erasures),
    ] {
        line(&mut out, &labelled("outcome", label, count));
    }
    for t in &f.timeliness_by_organisation {
        line(&mut out, &timeliness_row("timeliness_organisation", t));
    }
    for t in &f.timeliness_by_country_pair {
        line(&mut out, &timeliness_row("timeliness_country_pair", t));
    }
    let lists: [(&'static str, &Vec<Listed>); 7] = [
        ("unanswered_referral", &f.unanswered_referrals),
        ("awaiting_referral", &f.awaiting_referrals),
        ("unanswered_info_request", &f.unanswered_info_requests),
        ("late", &f.late),
        ("disclosure_without_consent", &f.disclosures_without_consent),
        (
            "return_without_risk_assessment",
            &f.returns_without_risk_assessment,
        ),
        ("return_without_follow_up", &f.returns_without_follow_up),
    ];
    for (table, list) in lists {
        for l in list {
            line(&mut out, &listed_row(table, l));
        }
    }
    line(&mut out, &labelled("children", "cases", f.children.cases));
    line(
        &mut out,
        &labelled(
            "children",
            "with_social_services",
            f.children.with_social_services,
        ),
    );
    line(
        &mut out,
        &labelled("children", "with_guardian", f.children.with_guardian),
    );
    line(
        &mut out,
        &labelled("children", "without_guardian", f.children.without_guardian),
    );
    for c in &f.initiators {
        line(&mut out, &labelled("initiator", &c.label, c.count));
    }
    for e in &f.network_edges {
        line(
            &mut out,
            &vec![
                ("table", "network_edge".to_owned()),
                ("from", e.from.clone()),
                ("from_name", e.from_name.clone()),
                ("to", e.to.clone()),
                ("to_name", e.to_name.clone()),
                ("count", e.count.to_string()),
            ],
        );
    }
    for note in &report.not_yet_available {
        line(
            &mut out,
            &vec![
                ("table", "not_yet_available".to_owned()),
                ("note", note.clone()),
            ],
        );
    }
    out
}
