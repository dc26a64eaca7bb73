//! Pieces several message files share (consent, risk assessment, guardian, handling code,
//! reception, priority), converted to the wire with errors naming the field under a prefix.

use serde::Deserialize;
use trm_proto::pb;

use crate::problem::Problem;
use crate::referral_file::{
    Consent, FieldError, Guardian, HandlingCode, Priority, RiskAssessment, RiskLevel, field_error,
    optional_date, required,
};

/// Who meets the person on return, and where.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Reception {
    pub met_by: String,
    #[serde(default)]
    pub meeting_point: String,
    #[serde(default)]
    pub services_on_arrival: Vec<String>,
}

/// The priority on the wire.
pub fn priority(p: Priority) -> pb::Priority {
    match p {
        Priority::Routine => pb::Priority::Routine,
        Priority::Urgent => pb::Priority::Urgent,
        Priority::Immediate => pb::Priority::Immediate,
    }
}

/// A handling code on the wire.
pub fn handling(code: Option<HandlingCode>) -> i32 {
    code.map_or(pb::HandlingCode::Unspecified, |h| match h {
        HandlingCode::H0 => pb::HandlingCode::H0,
        HandlingCode::H1 => pb::HandlingCode::H1,
        HandlingCode::H2 => pb::HandlingCode::H2,
        HandlingCode::H3 => pb::HandlingCode::H3,
    })
    .into()
}

/// A handling code on the wire, checked with its restrictions under `prefix` (e.g. `referral`):
/// H3 means "other restrictions", so it needs them written out in `handling_restrictions`.
pub fn handling_with(
    prefix: &str,
    code: Option<HandlingCode>,
    restrictions: &str,
) -> Result<i32, FieldError> {
    if matches!(code, Some(HandlingCode::H3)) && restrictions.trim().is_empty() {
        return Err(field_error(
            &format!("{prefix}.handling_restrictions"),
            Problem::new("h3-restrictions", "required with handling code H3"),
        ));
    }
    Ok(handling(code))
}

/// A consent record at `field`.
pub fn consent(field: &str, c: &Consent) -> Result<pb::ConsentRecord, FieldError> {
    if c.given {
        required(&format!("{field}.scope"), &c.scope)?;
        required(&format!("{field}.obtained_by_role"), &c.obtained_by_role)?;
    }
    Ok(pb::ConsentRecord {
        given: c.given,
        scope: c.scope.clone(),
        obtained_by_role: c.obtained_by_role.clone(),
        obtained_at_ms: optional_date(&format!("{field}.obtained_at"), &c.obtained_at)?,
        language: c.language.clone(),
        interpreter_used: c.interpreter_used,
        guardian_consent: c.guardian_consent,
        child_view: c.child_view.clone(),
        override_legal_basis: c.override_legal_basis.clone(),
    })
}

/// A risk assessment at `field`.
pub fn risk(field: &str, a: &RiskAssessment) -> Result<pb::RiskAssessment, FieldError> {
    required(&format!("{field}.assessed_by"), &a.assessed_by)?;
    Ok(pb::RiskAssessment {
        level: match a.level {
            RiskLevel::Low => pb::RiskLevel::Low,
            RiskLevel::Medium => pb::RiskLevel::Medium,
            RiskLevel::High => pb::RiskLevel::High,
        }
        .into(),
        assessed_by: a.assessed_by.clone(),
        assessed_at_ms: crate::referral_file::date(
            &format!("{field}.assessed_at"),
            &a.assessed_at,
        )?,
        summary: a.summary.clone(),
    })
}

/// A guardian on the wire.
pub fn guardian(g: &Guardian) -> pb::Guardian {
    pb::Guardian {
        appointed_by: g.appointed_by.clone(),
        role: g.role.clone(),
        contact_via: g.contact_via.clone(),
    }
}

/// A reception on the wire, at `field`.
pub fn reception(field: &str, r: &Reception) -> Result<pb::Reception, FieldError> {
    required(&format!("{field}.met_by"), &r.met_by)?;
    Ok(pb::Reception {
        met_by: r.met_by.clone(),
        meeting_point: r.meeting_point.clone(),
        services_on_arrival: r.services_on_arrival.clone(),
    })
}
