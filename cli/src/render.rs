//! Human-readable output for people at a terminal; `--json` output is produced from the same
//! data by [`crate::json`].

use std::fmt::Write;

use trm_proto::pb;
use trm_proto::time::format_ms;

/// A message kind as people say it.
pub fn kind(kind: i32) -> &'static str {
    match pb::MessageKind::try_from(kind).unwrap_or(pb::MessageKind::Unspecified) {
        pb::MessageKind::Referral => "referral",
        pb::MessageKind::ReferralResponse => "referral response",
        pb::MessageKind::CaseUpdate => "case update",
        pb::MessageKind::InfoRequest => "information request",
        pb::MessageKind::InfoResponse => "information response",
        pb::MessageKind::ReturnRequest => "return-assistance request",
        pb::MessageKind::ReturnConfirmation => "return confirmation",
        pb::MessageKind::FollowUp => "post-return follow-up",
        pb::MessageKind::ConsentWithdrawal => "consent withdrawal",
        pb::MessageKind::WitnessRequest => "witness request",
        pb::MessageKind::Unspecified => "unknown",
    }
}

fn short(digest: &[u8]) -> String {
    hex::encode(digest.get(..8).unwrap_or(digest))
}

/// The inbox as a table.
pub fn inbox(messages: &[pb::MessageSummary]) -> String {
    if messages.is_empty() {
        return "Inbox is empty.\n".into();
    }
    let mut out = format!(
        "{:<32}  {:<20}  {:<22}  {:<20}  {}\n",
        "ID", "RECEIVED", "FROM", "CASE", "KIND"
    );
    for m in messages {
        let _ = writeln!(
            out,
            "{:<32}  {:<20}  {:<22}  {:<20}  {}",
            m.message_id,
            format_ms(m.received_at_ms),
            m.from,
            m.case_ref,
            kind(m.kind)
        );
    }
    out
}

pub(crate) fn enum_name(name: Option<&str>, prefix: &str) -> String {
    name.map_or_else(
        || "unspecified".into(),
        |n| n.trim_start_matches(prefix).to_ascii_lowercase(),
    )
}

pub(crate) fn date(ms: u64) -> String {
    if ms == 0 {
        "-".into()
    } else {
        format_ms(ms)[..10].to_owned()
    }
}

/// A decrypted message, readable.
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
    let _ = writeln!(out, "  sealed    {}", format_ms(s.created_at_ms));
    let _ = writeln!(out, "  digest    {}", hex::encode(&s.envelope_digest));
    if !response.handling_notice.is_empty() {
        let _ = writeln!(out, "\n! {}", response.handling_notice);
    }
    if !response.erased.is_empty() {
        let _ = writeln!(out, "\n{}", response.erased);
    }
    match response.body.as_ref().and_then(|b| b.content.as_ref()) {
        Some(pb::body::Content::Referral(r)) => {
            out.push('\n');
            out.push_str(&referral(r));
        }
        Some(other) => {
            out.push('\n');
            out.push_str(&crate::case_view::content_text(other));
        }
        None => {}
    }
    out
}

/// A referral's content, readable.
pub fn referral(r: &pb::Referral) -> String {
    let mut out = String::new();
    let status = pb::VictimStatus::try_from(r.victim_status)
        .ok()
        .map(|v| v.as_str_name());
    let _ = writeln!(
        out,
        "Victim status: {} (designated by {}, {})",
        enum_name(status, "VICTIM_STATUS_"),
        r.status_designated_by,
        date(r.status_designated_at_ms)
    );
    let exploitation: Vec<String> = r
        .exploitation_types
        .iter()
        .map(|e| {
            enum_name(
                pb::ExploitationType::try_from(*e)
                    .ok()
                    .map(|v| v.as_str_name()),
                "EXPLOITATION_TYPE_",
            )
        })
        .collect();
    let _ = writeln!(out, "Exploitation: {}", exploitation.join(", "));
    if let Some(p) = &r.person {
        let name = format!("{} {}", p.given_name, p.family_name);
        let sex = enum_name(
            pb::Sex::try_from(p.sex).ok().map(|v| v.as_str_name()),
            "SEX_",
        );
        let _ = writeln!(
            out,
            "Person: {}{} years, {sex}, nationality {}, languages {}{}",
            if name.trim().is_empty() {
                String::new()
            } else {
                format!("{}, ", name.trim())
            },
            p.age_years,
            p.nationality,
            p.languages.join("/"),
            if p.interpreter_needed {
                ", interpreter needed"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "Child: {}{}",
        if r.child { "yes" } else { "no" },
        if r.unaccompanied {
            ", unaccompanied"
        } else {
            ""
        }
    );
    if let Some(g) = &r.guardian {
        let _ = writeln!(
            out,
            "Guardian: {} ({}), appointed by {}",
            g.role, g.contact_via, g.appointed_by
        );
    }
    let needs: Vec<String> = r
        .needs
        .iter()
        .map(|n| {
            enum_name(
                pb::Need::try_from(*n).ok().map(|v| v.as_str_name()),
                "NEED_",
            )
        })
        .collect();
    let _ = writeln!(out, "Needs: {}", needs.join(", "));
    if !r.services_given.is_empty() {
        let _ = writeln!(out, "Services given: {}", r.services_given.join("; "));
    }
    if let Some(a) = &r.risk_assessment {
        let level = enum_name(
            pb::RiskLevel::try_from(a.level)
                .ok()
                .map(|v| v.as_str_name()),
            "RISK_LEVEL_",
        );
        let _ = writeln!(
            out,
            "Risk: {level}, by {} on {}: {}",
            a.assessed_by,
            date(a.assessed_at_ms),
            a.summary
        );
    }
    if let Some(c) = &r.consent {
        if c.given {
            let _ = writeln!(
                out,
                "Consent: given {} to {} in {}{}; scope: {}",
                date(c.obtained_at_ms),
                c.obtained_by_role,
                c.language,
                if c.interpreter_used {
                    " with interpreter"
                } else {
                    ""
                },
                c.scope
            );
        } else {
            let _ = writeln!(
                out,
                "Consent: NOT given; override legal basis: {}",
                c.override_legal_basis
            );
        }
    }
    let code = enum_name(
        pb::HandlingCode::try_from(r.handling_code)
            .ok()
            .map(|v| v.as_str_name()),
        "HANDLING_CODE_",
    )
    .to_ascii_uppercase();
    let _ = writeln!(out, "Handling code: {code} {}", r.handling_restrictions);
    let _ = writeln!(
        out,
        "Cooperates with authorities: {} (never a condition of assistance)",
        if r.cooperates_with_authorities {
            "yes"
        } else {
            "no"
        }
    );
    if !r.notes.is_empty() {
        let _ = writeln!(out, "Notes: {}", r.notes);
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
    for e in &response.evidence {
        let signed = if e.receipt.is_some() {
            " [signed receipt]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<20}  {:<14}  {:<22}  {}{signed}",
            format_ms(e.at_ms),
            e.step,
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
    let mut out = format!(
        "{:>5}  {:<20}  {:<14}  {:<20}  {:<22}  {:<18}  {:<16}  {}\n",
        "#", "TIME", "EVENT", "KIND", "COUNTERPARTY", "CASE", "DIGEST", "FLAGS"
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{:>5}  {:<20}  {:<14}  {:<20}  {:<22}  {:<18}  {:<16}  {}",
            e.index,
            format_ms(e.at_ms),
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
            "handover log OK: {} entries, hash chain intact, head {}\n",
            response.entries,
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
    let _ = writeln!(
        out,
        "directory version {} (valid until {}){}",
        response.version,
        format_ms(response.expires_at_ms),
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
    }
    if !response.agreements.is_empty() {
        out.push_str("your sharing agreements:\n");
        for a in &response.agreements {
            let state = if a.terminated_at_ms != 0 {
                format!("terminated {}", format_ms(a.terminated_at_ms))
            } else {
                format!("valid until {}", format_ms(a.valid_until_ms))
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
