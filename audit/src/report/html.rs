//! The report as one self-contained HTML page: inline CSS and inline SVG only, no script and
//! nothing fetched. Every piece of text from the bundles or the directory is escaped.

use std::fmt::Write as _;

use super::Report;
use super::figures::{Count, Listed, Timing};
use super::svg;

/// The page's style sheet.
const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;\
color:#222;background:#f4f5f7;margin:0}main{max-width:1100px;margin:0 auto;padding:24px}\
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}\
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;\
box-shadow:0 1px 3px rgba(0,0,0,.08)}.meta{color:#666}\
.banner{padding:12px 16px;border-radius:8px;font-weight:600;margin:16px 0}\
.ok{background:#e3f3e6;color:#1d5e2b}.bad{background:#fbe3e1;color:#8a1f11;border:2px solid #c0392b}\
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{flex:1 1 150px;background:#fff;border-radius:8px;\
padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}.card b{display:block;font-size:26px}\
.card.warn b{color:#b03a2e}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top}\
th{background:#fafafa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\
code{font-size:12px}.none{color:#888;font-style:italic}.na{background:#fff8e1;\
border-left:4px solid #e0a800;padding:8px 12px;margin:6px 0}\
section svg{max-width:100%;height:auto}svg text{font-size:12px;fill:#333}svg text.v,svg text.l,svg text.c,svg text.e{text-anchor:middle}\
svg text.r{text-anchor:end}svg text.c{fill:#fff;font-weight:600;font-size:10px}\
svg text.e{font-size:10px;fill:#555}svg tspan.t{fill:#888}";

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

fn card(out: &mut String, value: impl std::fmt::Display, label: &str, warn: bool) {
    let _ = write!(
        out,
        "<div class=\"card{}\"><b>{value}</b>{}</div>",
        if warn { " warn" } else { "" },
        escape(label)
    );
}

fn timings(out: &mut String, rows: &[Timing]) {
    out.push_str("<table><tr><th>From referral to</th><th>measured</th><th>median</th><th>90th percentile</th></tr>");
    for t in rows {
        let what = match t.measure.as_str() {
            "referral_to_delivery" => "delivery (DELIVERED receipt at the sender)",
            "referral_to_response" => "first response (REFERRAL_RESPONSE back on the case)",
            "referral_to_acceptance" => "acceptance (when the first response accepted)",
            "referral_to_decline" => "decline (when the first response declined)",
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

fn list(out: &mut String, title: &str, rows: &[Listed]) {
    let _ = write!(out, "<h3>{} ({})</h3>", escape(title), rows.len());
    if rows.is_empty() {
        out.push_str("<p class=\"none\">none</p>");
        return;
    }
    out.push_str("<table><tr><th>message</th><th>case</th><th>kind</th><th>from</th><th>to</th><th>when</th><th>age (days)</th><th>note</th></tr>");
    for l in rows {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&l.message_id),
            escape(&l.case_ref),
            escape(&l.kind),
            escape(&l.from),
            escape(&l.to),
            escape(&l.at),
            l.age_days,
            escape(&l.note.replace('_', " "))
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
            escape(&c.label),
            c.count
        );
    }
    out.push_str("</table>");
}

/// The report as an HTML page.
pub fn render(report: &Report) -> String {
    let f = &report.figures;
    let v = &report.verification;
    let mut out = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<title>trm audit report: {}</title><style>{STYLE}</style></head><body><main>\
         <h1>Audit report: federation {}</h1><p class=\"meta\">{} node logs, as of {} · \
         metadata only: kinds, times, organisations, countries and yes/no flags</p>",
        escape(&report.federation),
        escape(&report.federation),
        report.nodes.len(),
        escape(&report.as_of)
    );
    if v.ok {
        out.push_str(
            "<div class=\"banner ok\">Verification: the bundles verified with no findings.</div>",
        );
    } else {
        let kinds: Vec<String> = v.by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = write!(
            out,
            "<div class=\"banner bad\">WARNING: verification found {} finding(s) ({}). \
             The figures below come from logs that may be incomplete or altered; \
             run <code>trm audit verify</code> for the details.</div>",
            v.findings,
            escape(&kinds.join(", "))
        );
    }
    out.push_str("<div class=\"cards\">");
    card(&mut out, f.handovers_total, "handovers", false);
    card(
        &mut out,
        f.unanswered_referrals.len(),
        "referrals never answered",
        !f.unanswered_referrals.is_empty(),
    );
    card(
        &mut out,
        f.unanswered_info_requests.len(),
        "information requests unanswered",
        !f.unanswered_info_requests.is_empty(),
    );
    card(
        &mut out,
        f.late.len(),
        "items logged overdue",
        !f.late.is_empty(),
    );
    card(
        &mut out,
        f.disclosures_without_consent.len(),
        "disclosures without consent",
        !f.disclosures_without_consent.is_empty(),
    );
    card(&mut out, f.children.cases, "cases with children", false);
    out.push_str("</div>");
    section(&mut out, "Handovers per month", |out| {
        out.push_str(&svg::columns(&f.per_month))
    });
    section(
        &mut out,
        "Handovers per country pair (sender → addressee)",
        |out| {
            out.push_str(&svg::bars(&f.per_country_pair));
        },
    );
    section(
        &mut out,
        "Handovers per month, country pair and kind",
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
                    escape(&h.kind),
                    h.count
                );
            }
            out.push_str("</table>");
        },
    );
    section(&mut out, "Time from referral", |out| {
        timings(out, &f.timings)
    });
    section(&mut out, "Requests unanswered", |out| {
        list(out, "Referrals never answered", &f.unanswered_referrals);
        list(
            out,
            "Information requests without a response",
            &f.unanswered_info_requests,
        );
        list(
            out,
            "Past their due time (logged overdue by a node)",
            &f.late,
        );
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
            "Return requests without a follow-up on the case afterwards",
            &f.returns_without_follow_up,
        );
    });
    section(&mut out, "Children", |out| {
        let _ = write!(
            out,
            "<p>{} case(s) involve a child; {} of them had a handover to or from a social-services organisation; a guardian was named in {} and in none of the handovers of {}.</p>",
            f.children.cases,
            f.children.with_social_services,
            f.children.with_guardian,
            f.children.without_guardian
        );
    });
    section(
        &mut out,
        "Who initiates referrals (sender's organisation type)",
        |out| {
            out.push_str(&svg::bars(&f.initiators));
            count_table(out, "organisation type", &f.initiators);
        },
    );
    section(&mut out, "Network of organisations", |out| {
        out.push_str(&svg::network(&f.network_nodes, &f.network_edges));
        out.push_str("<table><tr><th>from</th><th>to</th><th>handovers</th></tr>");
        for e in &f.network_edges {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&e.from),
                escape(&e.to),
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
