//! Cases for people and for scripts: `trm cases` as a table of open items, `trm case REF` as
//! the whole thread with each message's content, and the same as `--json`.

use std::fmt::Write;

use trm_proto::pb;

use trm_proto::kinds::label as kind;

use crate::content;
use crate::fmt::plural;
use crate::when::{when, width};
pub use trm_forms::case_json::{case_json, overdue_json, summary_json};

/// An item's kind as people say it.
fn item_kind(kind: &str) -> String {
    kind.replace('_', " ")
}

/// An item's state as people say it, saying whose doing it was: a referral *delivered to
/// partner* (their node has it), *accepted by partner* (they took the case), never just
/// "accepted", which `trm status` once used for the broker's storing.
pub fn state_word(state: &str, direction: &str) -> String {
    trm_view::states::state_word(state, direction)
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

/// Overdue items as a table, most overdue first, and how many more there are when the answer
/// did not hold them all.
pub fn overdue(response: &pb::OverdueResponse) -> String {
    let items = &response.items;
    if items.is_empty() && response.total == 0 {
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
    let shown = items.len() as u64;
    if response.total > shown {
        let _ = writeln!(
            out,
            "{shown} of {} overdue items, the most overdue first; --limit (at most 1000) shows more.",
            response.total
        );
    }
    out
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
        } else if !entry.erased.is_empty() {
            let _ = writeln!(out, "  | (erased: {})", entry.erased);
        } else if s.erased_at_ms != 0 {
            let _ = writeln!(out, "  | (content erased)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overdue_item(case_ref: &str) -> pb::OverdueItem {
        pb::OverdueItem {
            case_ref: case_ref.into(),
            counterparty: "astra@rs".into(),
            due_at_ms: 1_700_000_000_000,
            due: "answer to the referral".into(),
            awaiting: "astra@rs".into(),
            ..pb::OverdueItem::default()
        }
    }

    #[test]
    fn an_overdue_list_cut_at_its_limit_says_how_many_more_there_are() {
        let cut = overdue(&pb::OverdueResponse {
            items: vec![overdue_item("LEF-1"), overdue_item("LEF-2")],
            total: 7,
        });
        assert!(cut.contains("LEF-2"), "{cut}");
        assert!(
            cut.ends_with(
                "2 of 7 overdue items, the most overdue first; --limit (at most 1000) shows more.\n"
            ),
            "{cut}"
        );
        let whole = overdue(&pb::OverdueResponse {
            items: vec![overdue_item("LEF-1")],
            total: 1,
        });
        assert!(!whole.contains(" of "), "{whole}");
        assert_eq!(
            overdue(&pb::OverdueResponse::default()),
            "Nothing is overdue.\n"
        );
    }
}
