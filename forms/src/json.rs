//! `--json` output: stable field names for scripts, hex for digests, RFC 3339 for times.

use serde_json::{Value, json};
use trm_proto::pb;
use trm_proto::time::format_ms;

use trm_proto::kinds::label as kind;

use crate::content;

/// A message summary.
pub fn summary(m: &pb::MessageSummary) -> Value {
    json!({
        "message_id": m.message_id,
        "from": m.from,
        "to": m.to,
        "kind": kind(m.kind),
        "case_ref": m.case_ref,
        "created_at": format_ms(m.created_at_ms),
        "received_at": (m.received_at_ms != 0).then(|| format_ms(m.received_at_ms)),
        "envelope_digest": hex::encode(&m.envelope_digest),
    })
}

/// The evidence chain.
pub fn status(r: &pb::StatusResponse) -> Value {
    json!({
        "message": r.summary.as_ref().map(summary),
        "queued": r.queued,
        "evidence": r.evidence.iter().map(|e| json!({
            "step": if e.step == "accepted" { "stored" } else { e.step.as_str() },
            "at": format_ms(e.at_ms),
            "attested_by": e.attested_by,
            "detail": e.detail,
            "signed_receipt": e.receipt.as_ref().map(|s| json!({
                "receipt": hex::encode(&s.receipt),
                "signature": hex::encode(&s.signature),
            })),
        })).collect::<Vec<_>>(),
    })
}

/// Log entries.
pub fn log(entries: &[pb::LogEntryView]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                json!({
                    "index": e.index,
                    "at": format_ms(e.at_ms),
                    "event": e.event,
                    "kind": kind(e.kind),
                    "message_id": e.message_id,
                    "counterparty": e.counterparty,
                    "case_ref": e.case_ref,
                    "envelope_digest": hex::encode(&e.envelope_digest),
                    "entry_hash": hex::encode(&e.entry_hash),
                    "prev_hash": hex::encode(&e.prev_hash),
                    "actor": e.actor,
                    "flags": e.flags,
                    "reason": e.reason,
                })
            })
            .collect(),
    )
}

/// The verification result.
pub fn verify(r: &pb::VerifyLogResponse) -> Value {
    if r.ok {
        json!({"ok": true, "entries": r.entries, "head": hex::encode(&r.head_hash)})
    } else {
        json!({"ok": false, "bad_index": r.bad_index, "problem": r.problem})
    }
}

/// A decrypted message: metadata, and its content as the view of `trm-view` (every field,
/// by stable key; `null` when erased).
pub fn message(r: &pb::ShowResponse) -> Value {
    let facts = r.summary.clone().unwrap_or_default();
    let content = r.body.as_ref().map_or(Value::Null, |b| {
        content::json(b, &content::facts(&facts, &r.handling_notice))
    });
    json!({
        "message": r.summary.as_ref().map(summary),
        "direction": r.direction,
        "content": content,
        "priority": content::priority_code(facts.priority),
        "erased": (!r.erased.is_empty()).then_some(&r.erased),
        "handling_notice": (!r.handling_notice.is_empty()).then_some(&r.handling_notice),
    })
}

/// Directory search results.
pub fn directory(r: &pb::DirectorySearchResponse) -> Value {
    json!({
        "version": r.version,
        "expires_at": format_ms(r.expires_at_ms),
        "refreshed": r.refreshed,
        "refresh_problem": (!r.refresh_problem.is_empty()).then_some(&r.refresh_problem),
        "expiry_warning": (!r.expiry_warning.is_empty()).then_some(&r.expiry_warning),
        "nodes": r.nodes.iter().map(|n| json!({
            "address": n.address,
            "organisation": n.organisation,
            "organisation_type": pb::OrganisationType::try_from(n.organisation_type).map(|t| t.as_str_name()).unwrap_or("unknown"),
            "country": n.country,
            "services": n.services,
            "languages": n.languages,
            "accepts_child_referrals": n.accepts_child_referrals,
            "checkpoint_key": r.verifier_keys.get(&n.address),
        })).collect::<Vec<_>>(),
        "agreements": r.agreements.iter().map(|a| json!({
            "reference": a.reference,
            "parties": [a.party_a, a.party_b],
            "kinds": a.kinds.iter().map(|k| kind(*k)).collect::<Vec<_>>(),
            "valid_until": format_ms(a.valid_until_ms),
            "terminated_at": (a.terminated_at_ms != 0).then(|| format_ms(a.terminated_at_ms)),
        })).collect::<Vec<_>>(),
    })
}
