//! Cases for people and for scripts: `trm cases` as a table of open items, `trm case REF` as
//! the whole thread with each message's content, and the same as `--json`.

use std::fmt::Write;

use serde_json::{Value, json};
use trm_proto::pb;
use trm_proto::time::format_ms;

use trm_proto::kinds::label as kind;

use crate::content;
use crate::fmt::plural;
use crate::when::{when, width};

/// An item's kind as people say it.
fn item_kind(kind: &str) -> String {
    kind.replace('_', " ")
}

/// An item's state as people say it, saying whose doing it was: a referral *delivered to
/// partner* (their node has it), *accepted by partner* (they took the case), never just
/// "accepted", which `trm status` once used for the broker's storing.
pub fn state_word(state: &str, direction: &str) -> String {
    let outgoing = direction == "outgoing";
    match (state, outgoing) {
        ("delivered", true) => "delivered to partner".into(),
        ("delivered", false) => "received, not yet answered".into(),
        ("accepted" | "declined", true) => format!("{state} by partner"),
        ("accepted" | "declined", false) => format!("{state} by you"),
        ("needs_information", true) => "partner needs more information".into(),
        ("needs_information", false) => "you asked for more information".into(),
        (other, _) => other.replace('_', " "),
    }
}

/// An item as one phrase: "referral 0192ab… (outgoing): delivered; answer to the referral
/// due 2026-11-29T10:00:00Z (OVERDUE)".
fn item(i: &pb::CaseItem) -> String {
    let mut text = format!(
        "{} {} ({}): {}",
        item_kind(&i.kind),
        i.message_id,
        i.direction,
        state_word(&i.state, &i.direction)
    );
    if i.due_at_ms != 0 {
        let _ = write!(text, "; {} due {}", i.due, when(i.due_at_ms));
        if i.due_at_ms < trm_proto::time::now_ms() {
            text.push_str(" (OVERDUE)");
        }
    }
    text
}

/// The lines that say a case has ended: consent withdrawn, content erased.
fn ended_lines(s: &pb::CaseSummary) -> String {
    let mut out = String::new();
    if s.consent_withdrawn_at_ms != 0 {
        let _ = writeln!(
            out,
            "Consent withdrawn {}: nothing more is exchanged in this case.",
            when(s.consent_withdrawn_at_ms)
        );
    }
    if s.erased_at_ms != 0 {
        let reason = if s.erased_reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.erased_reason)
        };
        let _ = writeln!(
            out,
            "Content erased {}{reason}; the handover log keeps the exchanges.",
            when(s.erased_at_ms),
        );
    }
    out
}

/// Overdue items as a table, most overdue first.
pub fn overdue(items: &[pb::OverdueItem]) -> String {
    if items.is_empty() {
        return "Nothing is overdue.\n".into();
    }
    let w = width(items.iter().map(|o| o.due_at_ms));
    let mut out = format!(
        "{:<w$}  {:<22}  {:<20}  {}\n",
        "DUE", "WAITING ON", "CASE", "WHAT"
    );
    for o in items {
        let i = o.item.clone().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<w$}  {:<22}  {:<20}  {} for {} {} ({} with {})",
            when(o.due_at_ms),
            o.awaiting,
            o.case_ref,
            o.due,
            item_kind(&i.kind),
            i.message_id,
            state_word(&i.state, &i.direction),
            o.counterparty
        );
    }
    out
}

/// An overdue item.
pub fn overdue_json(o: &pb::OverdueItem) -> Value {
    json!({
        "case_ref": o.case_ref,
        "counterparty": o.counterparty,
        "due_at": format_ms(o.due_at_ms),
        "due": o.due,
        "awaiting": o.awaiting,
        "item": o.item.as_ref().map(item_json),
    })
}

/// The list of cases as a table with each case's items below it.
pub fn cases(list: &[pb::CaseSummary]) -> String {
    if list.is_empty() {
        return "No cases yet.\n".into();
    }
    let w = width(list.iter().map(|c| c.last_activity_ms));
    let mut out = format!(
        "{:<20}  {:<22}  {:<w$}  {}\n",
        "CASE", "WITH", "LAST ACTIVITY", "MESSAGES"
    );
    for c in list {
        let _ = writeln!(
            out,
            "{:<20}  {:<22}  {:<w$}  {}",
            c.case_ref,
            c.counterparty,
            when(c.last_activity_ms),
            c.messages
        );
        for line in ended_lines(c).lines() {
            let _ = writeln!(out, "    {line}");
        }
        for i in &c.items {
            let _ = writeln!(out, "    {}", item(i));
        }
    }
    out
}

/// One case: its items, then its thread oldest first, with content when it was fetched.
pub fn case(response: &pb::CaseResponse) -> String {
    let s = response.summary.clone().unwrap_or_default();
    let mut out = format!(
        "Case {} with {} ({}, last activity {})\n",
        s.case_ref,
        s.counterparty,
        plural(s.messages.into(), "message"),
        when(s.last_activity_ms)
    );
    out.push_str(&ended_lines(&s));
    if !s.items.is_empty() {
        out.push_str("\nWhere things stand:\n");
        for i in &s.items {
            let _ = writeln!(out, "  {}", item(i));
        }
    }
    out.push_str("\nThread:\n");
    for entry in &response.thread {
        let m = entry.message.clone().unwrap_or_default();
        let arrow = if m.direction == "outgoing" {
            "sent to"
        } else {
            "received from"
        };
        let _ = writeln!(
            out,
            "\n{}  {} {} {}\n  id {}",
            when(m.at_ms),
            kind(m.kind),
            arrow,
            s.counterparty,
            m.message_id
        );
        for change in &m.changes {
            let _ = writeln!(out, "  -> {}", change.replace('_', " "));
        }
        if let Some(body) = &entry.body {
            let notice = trm_proto::kinds::handling_notice(body, &m.direction);
            if !notice.is_empty() {
                let _ = writeln!(out, "  ! {notice}");
            }
            let facts = trm_view::Facts {
                priority: 0,
                handling_notice: &notice,
            };
            for line in content::text(body, &facts).lines() {
                let _ = writeln!(out, "  | {line}");
            }
        } else if s.erased_at_ms != 0 {
            let _ = writeln!(out, "  | (content erased)");
        }
    }
    out
}

fn item_json(i: &pb::CaseItem) -> Value {
    json!({
        "kind": i.kind,
        "message_id": i.message_id,
        "direction": i.direction,
        "state": i.state,
        "updated_at": format_ms(i.updated_at_ms),
        "due": (i.due_at_ms != 0).then(|| json!({ "what": i.due, "at": format_ms(i.due_at_ms) })),
    })
}

/// A case summary.
pub fn summary_json(c: &pb::CaseSummary) -> Value {
    json!({
        "case_ref": c.case_ref,
        "counterparty": c.counterparty,
        "messages": c.messages,
        "last_activity": format_ms(c.last_activity_ms),
        "consent_withdrawn_at": (c.consent_withdrawn_at_ms != 0).then(|| format_ms(c.consent_withdrawn_at_ms)),
        "erased": (c.erased_at_ms != 0).then(|| json!({ "at": format_ms(c.erased_at_ms), "reason": c.erased_reason })),
        "items": c.items.iter().map(item_json).collect::<Vec<_>>(),
    })
}

/// One case with its thread.
pub fn case_json(r: &pb::CaseResponse) -> Value {
    json!({
        "case": r.summary.as_ref().map(summary_json),
        "thread": r.thread.iter().map(|e| {
            let m = e.message.clone().unwrap_or_default();
            json!({
                "message_id": m.message_id,
                "direction": m.direction,
                "kind": kind(m.kind),
                "at": format_ms(m.at_ms),
                "changes": m.changes,
                "content": e.body.as_ref().map(|b| {
                    let notice = trm_proto::kinds::handling_notice(b, &m.direction);
                    content::json(b, &trm_view::Facts { priority: 0, handling_notice: &notice })
                }),
                "handling_notice": e.body.as_ref().map(|b| trm_proto::kinds::handling_notice(b, &m.direction)).filter(|n| !n.is_empty()),
            })
        }).collect::<Vec<_>>(),
    })
}
