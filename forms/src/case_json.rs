//! Cases as JSON for scripts and systems (`trm cases --json`, `trm case --json`, the node's
//! HTTP API): stable field names, RFC 3339 times, each message's content as the structured view.

use serde_json::{Value, json};
use trm_proto::kinds::label as kind;
use trm_proto::pb;
use trm_proto::time::format_ms;

use crate::content;

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
                "erased": (!e.erased.is_empty()).then_some(&e.erased),
            })
        }).collect::<Vec<_>>(),
    })
}
