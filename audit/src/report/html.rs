//! The report as one self-contained HTML page: inline CSS and inline SVG only, no script and
//! nothing fetched ([`render`]); or the same page linking its style sheet, for a server whose
//! Content-Security-Policy forbids inline style ([`render_linked`]). Every piece of text from the bundles or the directory is escaped.

use std::fmt::Write as _;

use super::figures::{Count, Listed, Timeliness, Timing};
use super::svg;
use super::{FindingRow, Report};

/// The page's style sheet, `report.css`: inline in a report file (which is opened on its own,
/// with nothing beside it), or served as a file beside a page under a Content-Security-Policy
/// that forbids inline style ([`render_linked`]).
pub const STYLESHEET: &str = include_str!("report.css");

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds for people: `3.2 h`, `4.5 d`.
fn duration(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "–".to_owned();
    };
    let s = ms as f64 / 1000.0;
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// An RFC 3339 time (`2026-04-01T09:30:00Z`) for people: `2026-04-01 09:30 UTC`; anything
/// else as it is.
fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) if rfc3339.ends_with('Z') => format!("{day} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

/// `count` and the noun, singular or plural: "1 case", "3 cases".
fn counted(count: impl Into<u64>, one: &str, many: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { one } else { many })
}

/// A kind's name (`referral_response`) for people ("referral response").
fn kind_label(name: &str) -> String {
    trm_proto::kinds::from_name(name)
        .and_then(trm_proto::kinds::of)
        .map_or_else(|| name.replace('_', " "), |k| k.label.to_owned())
}

/// An organisation's name, with its address beside it when the two differ.
fn organisation(name: &str, address: &str) -> String {
    if name == address {
        escape(name)
    } else {
        format!(
            "{} <span class=\"addr\">{}</span>",
            escape(name),
            escape(address)
        )
    }
}

fn card(out: &mut String, value: impl std::fmt::Display, label: &str, warn: bool) {
    let _ = write!(
        out,
        "<div class=\"card{}\"><b>{value}</b>{}</div>",
        if warn { " warn" } else { "" },
        escape(label)
    );
}

fn timings(out: &mut String, rows: &[Timing]) {
    out.push_str("<table><tr><th>From the referral to</th><th>referrals measured</th><th>median</th><th>90th percentile</th></tr>");
    for t in rows {
        let what = match t.measure.as_str() {
            "referral_to_delivery" => "delivery confirmed by the partner",
            "referral_to_response" => "the first answer",
            "referral_to_acceptance" => {
                "acceptance (the first answer that accepted, after any request for more information)"
            }
            "referral_to_decline" => "decline (the first answer that declined)",
            other => other,
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(what),
            t.count,
            duration(t.median_ms),
            duration(t.p90_ms)
        );
    }
    out.push_str("</table>");
}

fn timeliness(out: &mut String, head: &str, rows: &[Timeliness]) {
    if rows.is_empty() {
        out.push_str("<p class=\"none\">no referrals</p>");
        return;
    }
    let _ = write!(
        out,
        "<table><tr><th>{}</th><th>referrals</th><th>answered</th><th>answered in time</th>\
         <th>never answered</th><th>awaiting, not yet due</th><th>median time to answer</th>\
         <th>90th percentile</th><th>share answered in time</th></tr>",
        escape(head)
    );
    for t in rows {
        let who = if t.name.is_empty() {
            escape(&t.label)
        } else {
            organisation(&t.name, &t.label)
        };
        let share = t
            .in_time_percent
            .map_or_else(|| "–".to_owned(), |p| format!("{p}%"));
        let _ = write!(
            out,
            "<tr><td>{who}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            t.referrals,
            t.answered,
            t.answered_in_time,
            t.never_answered,
            t.awaiting_not_yet_due,
            duration(t.median_ms),
            duration(t.p90_ms),
            escape(&share)
        );
    }
    out.push_str("</table>");
}

fn list(out: &mut String, title: &str, rows: &[Listed]) {
    let _ = write!(out, "<h3>{} ({})</h3>", escape(title), rows.len());
    if rows.is_empty() {
        out.push_str("<p class=\"none\">none</p>");
        return;
    }
    // The due column only where something was due, the note column only where there is one.
    let due = rows.iter().any(|l| !l.due.is_empty());
    let note = rows.iter().any(|l| !l.note.is_empty());
    let _ = write!(
        out,
        "<table><tr><th>case</th><th>message</th><th>kind</th><th>from</th><th>to</th>\
         <th>sent</th>{}<th>age (days)</th>{}</tr>",
        if due { "<th>due</th>" } else { "" },
        if note { "<th>note</th>" } else { "" }
    );
    for l in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            escape(&l.case_ref),
            escape(&l.message_id),
            escape(&kind_label(&l.kind)),
            escape(&l.from_name),
            escape(&l.to_name),
            escape(&when(&l.at)),
        );
        if due {
            let _ = write!(out, "<td>{}</td>", escape(&when(&l.due)));
        }
        let _ = write!(out, "<td class=\"n\">{}</td>", l.age_days);
        if note {
            let _ = write!(out, "<td>{}</td>", escape(&l.note.replace('_', " ")));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn findings(out: &mut String, rows: &[FindingRow]) {
    out.push_str("<table><tr><th>organisation</th><th>what was wrong</th><th>details</th><th>where</th></tr>");
    for f in rows {
        let mut place = escape(&f.bundle);
        if let Some(entry) = f.entry {
            let _ = write!(place, ", entry {entry}");
        }
        if let Some(message) = &f.message_id {
            let _ = write!(place, ", message <code>{}</code>", escape(message));
        }
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{place}</td></tr>",
            organisation(&f.organisation, &f.node),
            escape(&f.what),
            escape(&f.detail)
        );
    }
    out.push_str("</table>");
}

fn section(out: &mut String, title: &str, body: impl FnOnce(&mut String)) {
    let _ = write!(out, "<section><h2>{}</h2>", escape(title));
    body(out);
    out.push_str("</section>");
}

fn count_table(out: &mut String, head: &str, rows: &[Count]) {
    let _ = write!(
        out,
        "<table><tr><th>{}</th><th>count</th></tr>",
        escape(head)
    );
    for c in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&c.label.replace('_', " ")),
            c.count
        );
    }
    out.push_str("</table>");
}

/// The sentences about children's cases.
fn children(report: &Report) -> String {
    let c = &report.figures.children;
    if c.cases == 0 {
        return "No case concerns a child.".to_owned();
    }
    let cases = counted(c.cases, "case concerns", "cases concern");
    let social = match c.with_social_services {
        0 => "In none of them did a social-services organisation take part.".to_owned(),
        n if n == c.cases => "In all of them a social-services organisation took part.".to_owned(),
        n => format!("In {n} of them a social-services organisation took part."),
    };
    let guardian = match (c.with_guardian, c.without_guardian) {
        (_, 0) => "A guardian was named in every one of them.".to_owned(),
        (0, _) => "No message in any of them named a guardian.".to_owned(),
        (with, without) => format!(
            "A guardian was named in {with} of them; in the other {without}, no message named one."
        ),
    };
    format!("{cases} a child. {social} {guardian}")
}

/// The sentences about where referrals stand.
fn standing(report: &Report) -> String {
    let r = &report.figures.referrals;
    format!(
        "{} sent. {} answered ({} of them by the due time); {} awaiting an answer that is not \
         due yet; {} never answered by the due time; {} closed by the sender before any answer.",
        counted(r.sent, "referral was", "referrals were"),
        r.answered,
        r.answered_in_time,
        r.awaiting_not_yet_due,
        r.never_answered,
        r.closed_without_answer
    )
}

/// The report as one self-contained HTML page, its style sheet inline.
pub fn render(report: &Report) -> String {
    page(report, &format!("<style>{STYLESHEET}</style>"))
}

/// The report as an HTML page that links its style sheet ([`STYLESHEET`], served at `href`)
/// instead of carrying it inline, for a server whose Content-Security-Policy forbids inline
/// style.
pub fn render_linked(report: &Report, href: &str) -> String {
    page(
        report,
        &format!("<link rel=\"stylesheet\" href=\"{}\">", escape(href)),
    )
}

fn page(report: &Report, style: &str) -> String {
    let f = &report.figures;
    let v = &report.verification;
    let mut out = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<title>trm audit report: {}</title>{style}</head><body><main>\
         <h1>Audit report: federation {}</h1><p class=\"meta\">From the handover logs of {}, \
         as of {}. The logs hold what was handed over, when, between which organisations, and \
         yes/no facts; never the content of a message.</p>",
        escape(&report.federation),
        escape(&report.federation),
        escape(&counted(
            report.nodes.len() as u64,
            "organisation",
            "organisations"
        )),
        escape(&when(&report.as_of))
    );
    if v.ok {
        out.push_str(
            "<div class=\"banner ok\">Checking the logs found no problem: no log was altered, \
             and where both sides' logs are here, they agree.</div>",
        );
    } else {
        let _ = write!(
            out,
            "<div class=\"banner bad\">WARNING: checking the logs found {}. The figures below \
             come from logs that may be incomplete or altered; every problem is listed under \
             “Problems found in the logs”.</div>",
            escape(&counted(v.findings as u64, "problem", "problems"))
        );
        section(&mut out, "Problems found in the logs", |out| {
            findings(out, &v.details)
        });
    }
    out.push_str("<div class=\"cards\">");
    card(&mut out, f.handovers_total, "messages handed over", false);
    card(
        &mut out,
        f.unanswered_referrals.len(),
        "referrals never answered by the due time",
        !f.unanswered_referrals.is_empty(),
    );
    card(
        &mut out,
        f.awaiting_referrals.len(),
        "referrals awaiting an answer, not yet due",
        false,
    );
    card(
        &mut out,
        f.unanswered_info_requests.len(),
        "information requests unanswered by the due time",
        !f.unanswered_info_requests.is_empty(),
    );
    card(
        &mut out,
        f.late.len(),
        "items an organisation recorded as overdue",
        !f.late.is_empty(),
    );
    card(
        &mut out,
        f.disclosures_without_consent.len(),
        "disclosures without consent",
        !f.disclosures_without_consent.is_empty(),
    );
    card(
        &mut out,
        f.children.cases,
        "cases concerning a child",
        false,
    );
    out.push_str("</div>");
    section(&mut out, "Referrals and answers", |out| {
        let _ = write!(out, "<p>{}</p>", escape(&standing(report)));
        let o = &f.outcomes;
        out.push_str("<table><tr><th>what</th><th>count</th></tr>");
        for (what, count) in [
            ("answers that accepted the referral", o.accepted),
            ("answers that declined the referral", o.declined),
            (
                "answers that asked for more information",
                o.needs_information,
            ),
            (
                "messages that supplied the information asked for",
                o.information_supplied,
            ),
            ("consent withdrawals", o.consent_withdrawals),
            ("cases whose content an organisation erased", o.erasures),
        ] {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"n\">{count}</td></tr>",
                escape(what)
            );
        }
        out.push_str("</table>");
    });
    section(&mut out, "Time from referral", |out| {
        timings(out, &f.timings)
    });
    section(&mut out, "How promptly referrals were answered", |out| {
        out.push_str("<h3>By the organisation referred to</h3>");
        timeliness(out, "organisation", &f.timeliness_by_organisation);
        out.push_str("<h3>By country pair (sender → addressee)</h3>");
        timeliness(out, "countries", &f.timeliness_by_country_pair);
    });
    section(&mut out, "Requests waiting for an answer", |out| {
        list(
            out,
            "Referrals never answered by the due time",
            &f.unanswered_referrals,
        );
        list(
            out,
            "Referrals awaiting an answer, not yet due",
            &f.awaiting_referrals,
        );
        list(
            out,
            "Information requests without a response by the due time",
            &f.unanswered_info_requests,
        );
        list(out, "Items an organisation recorded as overdue", &f.late);
    });
    section(&mut out, "Consent", |out| {
        list(
            out,
            "Disclosures without consent or with a consent override",
            &f.disclosures_without_consent,
        );
    });
    section(&mut out, "Returns", |out| {
        list(
            out,
            "Return requests without a pre-return risk assessment",
            &f.returns_without_risk_assessment,
        );
        list(
            out,
            "Returns whose follow-up is overdue",
            &f.returns_without_follow_up,
        );
    });
    section(&mut out, "Children", |out| {
        let _ = write!(out, "<p>{}</p>", escape(&children(report)));
    });
    section(&mut out, "Messages handed over per month", |out| {
        out.push_str(&svg::columns(&f.per_month))
    });
    section(
        &mut out,
        "Messages handed over per country pair (sender → addressee)",
        |out| {
            out.push_str(&svg::bars(&f.per_country_pair));
        },
    );
    section(
        &mut out,
        "Messages per month, country pair and kind",
        |out| {
            out.push_str(
                "<table><tr><th>month</th><th>from</th><th>to</th><th>kind</th><th>count</th></tr>",
            );
            for h in &f.handovers {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                    escape(&h.month),
                    escape(&h.from_country),
                    escape(&h.to_country),
                    escape(&kind_label(&h.kind)),
                    h.count
                );
            }
            out.push_str("</table>");
        },
    );
    section(
        &mut out,
        "Who refers (the sender's kind of organisation)",
        |out| {
            let kinds: Vec<Count> = f
                .initiators
                .iter()
                .map(|c| Count {
                    label: c.label.replace('_', " "),
                    count: c.count,
                })
                .collect();
            out.push_str(&svg::bars(&kinds));
            count_table(out, "kind of organisation", &f.initiators);
        },
    );
    section(&mut out, "Network of organisations", |out| {
        out.push_str(&svg::network(&f.network_nodes, &f.network_edges));
        out.push_str("<table><tr><th>from</th><th>to</th><th>messages</th></tr>");
        for e in &f.network_edges {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                organisation(&e.from_name, &e.from),
                organisation(&e.to_name, &e.to),
                e.count
            );
        }
        out.push_str("</table>");
    });
    if !report.not_yet_available.is_empty() {
        section(&mut out, "Not yet available", |out| {
            for note in &report.not_yet_available {
                let _ = write!(
                    out,
                    "<p class=\"na\">Not yet available: {}</p>",
                    escape(note)
                );
            }
        });
    }
    out.push_str("</main></body></html>\n");
    out
}

#[cfg(test)]
mod stylesheet_tests {
    use super::*;
    use crate::report::{Orgs, Verification};

    #[test]
    fn the_linked_page_carries_no_inline_style_and_the_file_the_same_rules() {
        let report = Report::new("f", &[], &Orgs::default(), Verification::default(), 0);
        let inline = render(&report);
        let linked = render_linked(&report, "/static/report.css?\"x");
        assert!(inline.contains(&format!("<style>{STYLESHEET}</style>")));
        assert!(!linked.contains("<style") && !linked.contains("style="));
        assert!(linked.contains("<link rel=\"stylesheet\" href=\"/static/report.css?&quot;x\">"));
        assert_eq!(
            inline.replace(&format!("<style>{STYLESHEET}</style>"), ""),
            linked.replace(
                "<link rel=\"stylesheet\" href=\"/static/report.css?&quot;x\">",
                ""
            )
        );
        assert!(STYLESHEET.contains("svg text.c{"));
    }
}
