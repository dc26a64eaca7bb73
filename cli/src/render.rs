//! Human-readable output for people at a terminal; `--json` output is produced from the same
//! data by [`crate::json`].

use std::fmt::Write;

use trm_proto::kinds::label as kind;
use trm_proto::pb;

use crate::content;
use crate::fmt::count;
use crate::when::{when, width};

fn short(digest: &[u8]) -> String {
    hex::encode(digest.get(..8).unwrap_or(digest))
}

/// A step of a sent message's evidence, as people say it: the broker *stores* (its receipt
/// kind is called ACCEPTED on the wire), the partner's node *delivers*; "accepted" is kept for
/// the partner's answer to a referral.
pub fn step(step: &str) -> String {
    trm_view::states::step(step)
}

/// The inbox as a table.
pub fn inbox(messages: &[pb::MessageSummary]) -> String {
    if messages.is_empty() {
        return "Inbox is empty.\n".into();
    }
    let w = width(messages.iter().map(|m| m.received_at_ms));
    let mut out = format!(
        "{:<32}  {:<w$}  {:<22}  {:<20}  {}\n",
        "ID", "RECEIVED", "FROM", "CASE", "KIND"
    );
    for m in messages {
        let _ = writeln!(
            out,
            "{:<32}  {:<w$}  {:<22}  {:<20}  {}",
            m.message_id,
            when(m.received_at_ms),
            m.from,
            m.case_ref,
            kind(m.kind)
        );
    }
    out
}

/// A decrypted message, readable: its header, what the handling code asks, then every field
/// of its content (the view of `trm-view`).
pub fn message(response: &pb::ShowResponse) -> String {
    let mut out = String::new();
    let s = response.summary.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} ({})",
        kind(s.kind),
        s.message_id,
        response.direction
    );
    let _ = writeln!(
        out,
        "  from      {}\n  to        {}\n  case      {}",
        s.from, s.to, s.case_ref
    );
    let _ = writeln!(out, "  sealed    {}", when(s.created_at_ms));
    let _ = writeln!(out, "  digest    {}", hex::encode(&s.envelope_digest));
    if let Some(priority) = content::priority(s.priority) {
        let _ = writeln!(out, "  priority  {priority}");
    }
    if !response.handling_notice.is_empty() {
        let _ = writeln!(out, "\n! {}", response.handling_notice);
    }
    if !response.erased.is_empty() {
        let _ = writeln!(out, "\n{}", response.erased);
    }
    if let Some(body) = &response.body {
        let text = content::text(body, &content::facts(&s, &response.handling_notice));
        if !text.is_empty() {
            out.push('\n');
            out.push_str(&text);
        }
    }
    out
}

/// The evidence chain of a sent message.
pub fn status(response: &pb::StatusResponse) -> String {
    let s = response.summary.clone().unwrap_or_default();
    let mut out = format!(
        "{} {} to {} (case {})\n",
        kind(s.kind),
        s.message_id,
        s.to,
        s.case_ref
    );
    let w = width(response.evidence.iter().map(|e| e.at_ms));
    for e in &response.evidence {
        let signed = if e.receipt.is_some() {
            " [signed receipt]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<w$}  {:<14}  {:<22}  {}{signed}",
            when(e.at_ms),
            step(&e.step),
            e.attested_by,
            e.detail
        );
    }
    if response.queued {
        out.push_str("  (waiting in the outbox for the broker)\n");
    }
    out
}

/// Handover-log entries.
pub fn log(entries: &[pb::LogEntryView]) -> String {
    let w = width(entries.iter().map(|e| e.at_ms));
    let k = entries
        .iter()
        .map(|e| kind(e.kind).chars().count())
        .fold(20, usize::max);
    let mut out = format!(
        "{:>5}  {:<w$}  {:<14}  {:<k$}  {:<22}  {:<18}  {:<16}  {}\n",
        "#", "TIME", "EVENT", "KIND", "COUNTERPARTY", "CASE", "DIGEST", "FLAGS"
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{:>5}  {:<w$}  {:<14}  {:<k$}  {:<22}  {:<18}  {:<16}  {}",
            e.index,
            when(e.at_ms),
            e.event,
            kind(e.kind),
            e.counterparty,
            e.case_ref,
            short(&e.envelope_digest),
            e.flags.join(",")
        );
    }
    out
}

/// The result of verifying the log.
pub fn verify(response: &pb::VerifyLogResponse) -> String {
    if response.ok {
        format!(
            "handover log OK: {}, hash chain intact, head {}\n",
            count(response.entries, "entry", "entries"),
            hex::encode(&response.head_hash)
        )
    } else {
        format!(
            "handover log BROKEN at entry {}: {}\n",
            response.bad_index, response.problem
        )
    }
}

/// Directory search results.
pub fn directory(response: &pb::DirectorySearchResponse) -> String {
    let mut out = String::new();
    if !response.refresh_problem.is_empty() {
        let _ = writeln!(out, "refresh refused: {}", response.refresh_problem);
    }
    if !response.expiry_warning.is_empty() {
        let _ = writeln!(out, "warning: {}", response.expiry_warning);
    }
    let _ = writeln!(
        out,
        "directory version {} (valid until {}){}",
        response.version,
        when(response.expires_at_ms),
        if response.refreshed {
            ", just refreshed"
        } else {
            ""
        }
    );
    for n in &response.nodes {
        let kind = pb::OrganisationType::try_from(n.organisation_type)
            .map(|t| {
                t.as_str_name()
                    .trim_start_matches("ORGANISATION_TYPE_")
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<22} {:<40} {:<15} {}  services: {}  languages: {}{}",
            n.address,
            n.organisation,
            kind,
            n.country,
            n.services.join(","),
            n.languages.join(","),
            if n.accepts_child_referrals {
                "  children"
            } else {
                ""
            }
        );
        if let Some(vkey) = response.verifier_keys.get(&n.address) {
            let _ = writeln!(out, "    checkpoint key: {vkey}");
        }
    }
    if !response.agreements.is_empty() {
        out.push_str("your sharing agreements:\n");
        for a in &response.agreements {
            let state = if a.terminated_at_ms != 0 {
                format!("terminated {}", when(a.terminated_at_ms))
            } else {
                format!("valid until {}", when(a.valid_until_ms))
            };
            let kinds: Vec<&str> = a.kinds.iter().map(|k| kind(*k)).collect();
            let _ = writeln!(
                out,
                "  {:<28} {} <-> {}  {}  ({state})",
                a.reference,
                a.party_a,
                a.party_b,
                kinds.join(", ")
            );
        }
    }
    out
}
