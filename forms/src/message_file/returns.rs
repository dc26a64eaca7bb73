//! The return files: the return-assistance request (destination to origin, with the required
//! pre-return risk assessment), the return confirmation and the post-return follow-up.

use serde::Deserialize;
use trm_proto::pb;

use super::parts::{self, Reception};
use super::update::{Outcome, outcome};
use crate::problem::Problem;
use crate::referral_file::{
    Consent, FieldError, Guardian, RiskAssessment, date, field_error, required,
};

/// A return-assistance request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReturnRequest {
    pub voluntary_return_consent: bool,
    pub pre_return_risk_assessment: Option<RiskAssessment>,
    pub travel_date: String,
    #[serde(default)]
    pub route: String,
    #[serde(default)]
    pub means: String,
    #[serde(default)]
    pub escort: String,
    #[serde(default)]
    pub documents_status: String,
    pub reception_wanted: Option<Reception>,
    #[serde(default)]
    pub family_assessment: String,
    #[serde(default)]
    pub child: bool,
    pub guardian: Option<Guardian>,
    #[serde(default)]
    pub best_interest_determination: String,
    pub consent: Consent,
    #[serde(default)]
    pub notes: String,
}

impl ReturnRequest {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::ReturnRequest, FieldError> {
        let assessment = self.pre_return_risk_assessment.as_ref().ok_or_else(|| {
            field_error(
                "return_request.pre_return_risk_assessment",
                Problem::new(
                    "return-needs-risk-assessment",
                    "a return needs a pre-return risk and security assessment",
                ),
            )
        })?;
        Ok(pb::ReturnRequest {
            voluntary_return_consent: self.voluntary_return_consent,
            pre_return_risk_assessment: Some(parts::risk(
                "return_request.pre_return_risk_assessment",
                assessment,
            )?),
            travel_date_ms: date("return_request.travel_date", &self.travel_date)?,
            route: self.route.clone(),
            means: self.means.clone(),
            escort: self.escort.clone(),
            documents_status: self.documents_status.clone(),
            reception_wanted: self
                .reception_wanted
                .as_ref()
                .map(|r| parts::reception("return_request.reception_wanted", r))
                .transpose()?,
            family_assessment: self.family_assessment.clone(),
            child: self.child,
            guardian: self.guardian.as_ref().map(parts::guardian),
            best_interest_determination: self.best_interest_determination.clone(),
            consent: Some(parts::consent("return_request.consent", &self.consent)?),
            notes: self.notes.clone(),
        })
    }
}

/// A return confirmation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReturnConfirmation {
    pub return_request_message_id: String,
    pub reception: Reception,
    #[serde(default)]
    pub notes: String,
}

impl ReturnConfirmation {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::ReturnConfirmation, FieldError> {
        required(
            "return_confirmation.return_request_message_id",
            &self.return_request_message_id,
        )?;
        Ok(pb::ReturnConfirmation {
            return_request_message_id: self.return_request_message_id.clone(),
            reception: Some(parts::reception(
                "return_confirmation.reception",
                &self.reception,
            )?),
            notes: self.notes.clone(),
        })
    }
}

/// A post-return follow-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FollowUp {
    pub return_request_message_id: String,
    pub months_after_return: u32,
    pub reintegration_status: String,
    #[serde(default)]
    pub services_received: Vec<String>,
    #[serde(default)]
    pub contact_maintained: bool,
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub notes: String,
}

impl FollowUp {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::FollowUp, FieldError> {
        required(
            "follow_up.return_request_message_id",
            &self.return_request_message_id,
        )?;
        required("follow_up.reintegration_status", &self.reintegration_status)?;
        if self.months_after_return == 0 || self.months_after_return > 120 {
            return Err(field_error(
                "follow_up.months_after_return",
                Problem::new(
                    "not-a-follow-up-interval",
                    format!("{} is not a follow-up interval", self.months_after_return),
                )
                .arg("value", self.months_after_return.to_string()),
            ));
        }
        Ok(pb::FollowUp {
            return_request_message_id: self.return_request_message_id.clone(),
            months_after_return: self.months_after_return,
            reintegration_status: self.reintegration_status.clone(),
            services_received: self.services_received.clone(),
            contact_maintained: self.contact_maintained,
            outcome: outcome(self.outcome),
            notes: self.notes.clone(),
        })
    }
}

/// A filled-in example: LEFÖ-IBF asks Astra to arrange the return to Serbia.
pub const REQUEST_TEMPLATE: &str = r#"# A return-assistance request, from the destination organisation to the origin organisation.
# Fill in, then: trm send return_request --file return.toml
# A pre-return risk and security assessment is required (its absence is a documented failure).

to = "astra@rs"
case_ref = "AT-LEFOE-2026-0042"
priority = "urgent"              # routine | urgent | immediate

[return_request]
voluntary_return_consent = true
travel_date = "2026-12-10"       # YYYY-MM-DD
route = "Vienna - Belgrade"
means = "train"
escort = "LEFÖ-IBF caseworker to the border"
documents_status = "emergency travel document issued by the Serbian embassy"
family_assessment = "Mother supportive; recruiter known to the family, so no return to the family home yet."
child = false
# best_interest_determination = "Return is in the child's best interest: ..."  # for a child
notes = "Will be called to testify in Vienna in spring."

# For a child (child = true): the guardian, as a role or an institution, never a name.
# [return_request.guardian]
# appointed_by = "Vienna Child and Youth Welfare"
# role = "legal guardian"
# contact_via = "through LEFÖ-IBF"

[return_request.pre_return_risk_assessment]
level = "medium"                 # low | medium | high
assessed_by = "LEFÖ-IBF counselling team with the Criminal Intelligence Service"
assessed_at = "2026-11-20"
summary = "Recruiter at large in origin town; safe accommodation in Belgrade needed."

[return_request.reception_wanted]
met_by = "Astra caseworker"
meeting_point = "Belgrade Centre railway station"
services_on_arrival = ["safe accommodation", "psychosocial support"]

[return_request.consent]
given = true
scope = "Return arrangements with Astra: travel, reception, needs."
obtained_by_role = "LEFÖ-IBF caseworker"
obtained_at = "2026-11-20"
language = "sr"
interpreter_used = true
# guardian_consent = true        # for a child: the guardian consented too
# child_view = "Wants to go home to her aunt."  # for a child: the child's own view, in its words
"#;

/// A filled-in example: Astra confirms the reception arrangements.
pub const CONFIRMATION_TEMPLATE: &str = r#"# A return confirmation: the origin organisation confirms reception before the travel date.
# Fill in, then: trm send return_confirmation --file confirmation.toml

to = "lefoe-ibf@at"
case_ref = "AT-LEFOE-2026-0042"
priority = "urgent"

[return_confirmation]
return_request_message_id = "PASTE-THE-RETURN-REQUEST-ID"   # from trm inbox or trm case
notes = "Safe accommodation reserved for three months."

[return_confirmation.reception]
met_by = "Astra caseworker"
meeting_point = "Belgrade Centre railway station, platform exit"
services_on_arrival = ["safe accommodation", "psychosocial support", "legal aid"]
"#;

/// A filled-in example: Astra's follow-up three months after the return.
pub const FOLLOW_UP_TEMPLATE: &str = r#"# A post-return follow-up: reintegration status at an agreed interval (1, 3, 6, 12 months).
# Fill in, then: trm send follow_up --file follow-up.toml

to = "lefoe-ibf@at"
case_ref = "AT-LEFOE-2026-0042"
priority = "routine"

[follow_up]
return_request_message_id = "PASTE-THE-RETURN-REQUEST-ID"
months_after_return = 3
reintegration_status = "In vocational training; living in supported accommodation."
services_received = ["psychosocial support", "vocational training"]
contact_maintained = true
# outcome = "reintegrated_in_origin"  # integrated_in_destination | reintegrated_in_origin |
                                      # relocated_to_third_country | contact_lost
"#;
