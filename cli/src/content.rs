//! A message's content, for people and for scripts, for every kind: what the text views
//! ([`crate::render`], [`crate::case_view`]) and the JSON view ([`crate::json`]) share.

use std::fmt::Write;

use serde_json::{Value, json};
use trm_proto::pb;

use crate::fmt::{date, enum_name};

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

/// A referral's content, for scripts.
pub fn referral_json(r: &pb::Referral) -> Value {
    let person = r.person.clone().unwrap_or_default();
    let consent = r.consent.clone().unwrap_or_default();
    json!({
        "victim_status": pb::VictimStatus::try_from(r.victim_status).map(|v| v.as_str_name()).unwrap_or("unknown"),
        "status_designated_by": r.status_designated_by,
        "exploitation_types": r.exploitation_types.iter().map(|e| pb::ExploitationType::try_from(*e).map(|v| v.as_str_name()).unwrap_or("unknown")).collect::<Vec<_>>(),
        "person": {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "age_years": person.age_years,
            "nationality": person.nationality,
            "languages": person.languages,
            "interpreter_needed": person.interpreter_needed,
        },
        "child": r.child,
        "unaccompanied": r.unaccompanied,
        "needs": r.needs.iter().map(|n| pb::Need::try_from(*n).map(|v| v.as_str_name()).unwrap_or("unknown")).collect::<Vec<_>>(),
        "risk_assessment": r.risk_assessment.as_ref().map(|a| json!({
            "level": pb::RiskLevel::try_from(a.level).map(|v| v.as_str_name()).unwrap_or("unknown"),
            "assessed_by": a.assessed_by,
            "summary": a.summary,
        })),
        "consent": {
            "given": consent.given,
            "scope": consent.scope,
            "obtained_by_role": consent.obtained_by_role,
            "override_legal_basis": consent.override_legal_basis,
        },
        "handling_code": pb::HandlingCode::try_from(r.handling_code).map(|v| v.as_str_name()).unwrap_or("unknown"),
        "cooperates_with_authorities": r.cooperates_with_authorities,
        "notes": r.notes,
    })
}

fn decision(value: i32) -> String {
    enum_name(
        pb::referral_response::Decision::try_from(value)
            .ok()
            .map(|v| v.as_str_name()),
        "DECISION_",
    )
}

/// A message's content, readable, for every kind.
pub fn content_text(content: &pb::body::Content) -> String {
    use pb::body::Content;
    let mut out = String::new();
    match content {
        Content::Referral(r) => out.push_str(&referral(r)),
        Content::ReferralResponse(r) => {
            let _ = writeln!(out, "Decision: {}", decision(r.decision));
            if !r.responsible_unit.is_empty() {
                let _ = writeln!(out, "Responsible unit: {}", r.responsible_unit);
            }
            if !r.reason.is_empty() {
                let _ = writeln!(out, "Reason: {}", r.reason);
            }
            if !r.missing_information.is_empty() {
                let _ = writeln!(out, "Missing: {}", r.missing_information.join("; "));
            }
            if !r.notes.is_empty() {
                let _ = writeln!(out, "Notes: {}", r.notes);
            }
        }
        Content::InformationSupplied(s) => {
            for a in &s.answers {
                let _ = writeln!(out, "{}: {}", a.missing_information, a.answer);
            }
            if !s.notes.is_empty() {
                let _ = writeln!(out, "Notes: {}", s.notes);
            }
        }
        Content::CaseUpdate(u) => {
            let _ = writeln!(out, "Status: {}", u.status);
            if !u.services_delivered.is_empty() {
                let _ = writeln!(out, "Services: {}", u.services_delivered.join("; "));
            }
            if u.court_date_ms != 0 {
                let _ = writeln!(out, "Court date: {}", date(u.court_date_ms));
            }
            if !u.notes.is_empty() {
                let _ = writeln!(out, "Notes: {}", u.notes);
            }
        }
        Content::InfoRequest(r) => {
            let _ = writeln!(
                out,
                "From {} ({}), legal basis {}\nDeadline: {}\nQuestions: {}",
                r.requesting_authority,
                r.own_reference,
                r.legal_basis,
                date(r.deadline_ms),
                r.questions
            );
        }
        Content::InfoResponse(r) => {
            if r.information.is_empty() {
                let _ = writeln!(out, "Refused: {}", r.refusal_text);
            } else {
                let _ = writeln!(out, "Information: {}", r.information);
            }
        }
        Content::ReturnRequest(r) => {
            let _ = writeln!(
                out,
                "Travel: {} by {} via {}; escort {}",
                date(r.travel_date_ms),
                r.means,
                r.route,
                r.escort
            );
            if let Some(w) = &r.reception_wanted {
                let _ = writeln!(out, "Reception wanted: {} at {}", w.met_by, w.meeting_point);
            }
        }
        Content::ReturnConfirmation(c) => {
            if let Some(r) = &c.reception {
                let _ = writeln!(out, "Reception: {} at {}", r.met_by, r.meeting_point);
            }
            if !c.notes.is_empty() {
                let _ = writeln!(out, "Notes: {}", c.notes);
            }
        }
        Content::FollowUp(f) => {
            let _ = writeln!(
                out,
                "{} months after return: {}",
                f.months_after_return, f.reintegration_status
            );
        }
        Content::ConsentWithdrawal(w) => {
            let _ = writeln!(
                out,
                "Consent withdrawn {} (recorded by {})",
                date(w.withdrawn_at_ms),
                w.recorded_by_role
            );
        }
        Content::WitnessRequest(w) => {
            let _ = writeln!(
                out,
                "Checkpoint asked for by the coordinator: {}",
                w.purpose
            );
        }
    }
    out
}

/// A message's content, for scripts, for every kind.
pub fn content_json(content: &pb::body::Content) -> Value {
    use pb::body::Content;
    match content {
        Content::Referral(r) => json!({ "referral": referral_json(r) }),
        Content::ReferralResponse(r) => json!({ "referral_response": {
            "referral_message_id": r.referral_message_id,
            "decision": decision(r.decision),
            "responsible_unit": r.responsible_unit,
            "reason": r.reason,
            "missing_information": r.missing_information,
            "notes": r.notes,
        }}),
        // The other kinds as readable text until each has its own file format.
        other => json!({ "text": content_text(other) }),
    }
}
