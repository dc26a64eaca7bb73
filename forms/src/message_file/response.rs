//! The referral response file: accept, decline or ask for what is missing (`trm respond` does
//! the same from the command line).

use serde::Deserialize;
use trm_proto::pb;

use crate::problem::Problem;
use crate::referral_file::{FieldError, field_error, required};

/// The decision.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Decision {
    Accepted,
    Declined,
    NeedsInformation,
}

/// A referral response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReferralResponse {
    pub referral_message_id: String,
    pub decision: Decision,
    #[serde(default)]
    pub responsible_unit: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub missing_information: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

impl ReferralResponse {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::ReferralResponse, FieldError> {
        use pb::referral_response::Decision as Wire;
        required(
            "referral_response.referral_message_id",
            &self.referral_message_id,
        )?;
        let decision = match self.decision {
            Decision::Accepted => {
                required("referral_response.responsible_unit", &self.responsible_unit)?;
                Wire::Accepted
            }
            Decision::Declined => {
                required("referral_response.reason", &self.reason)?;
                Wire::Declined
            }
            Decision::NeedsInformation => {
                if self.missing_information.is_empty() {
                    return Err(field_error(
                        "referral_response.missing_information",
                        Problem::new("say-what-is-missing", "say what is missing"),
                    ));
                }
                Wire::NeedsInformation
            }
        };
        Ok(pb::ReferralResponse {
            referral_message_id: self.referral_message_id.clone(),
            decision: decision.into(),
            responsible_unit: self.responsible_unit.clone(),
            reason: self.reason.clone(),
            missing_information: self.missing_information.clone(),
            notes: self.notes.clone(),
        })
    }
}

/// A filled-in example: Astra accepts LEFÖ-IBF's referral.
pub const TEMPLATE: &str = r#"# A referral response: accept, decline, or ask for what is missing.
# Fill in, then: trm send referral_response --file response.toml
# (or simply: trm respond --message ID --accept --unit "...")

to = "lefoe-ibf@at"              # the organisation that sent the referral
case_ref = "AT-LEFOE-2026-0042"  # the referral's case reference
priority = "routine"             # routine | urgent | immediate

[referral_response]
referral_message_id = "PASTE-THE-REFERRAL-ID"   # from trm inbox or trm case
decision = "accepted"            # accepted | declined | needs_information
responsible_unit = "Astra reintegration team"   # for accepted: a role or team, not a person
# reason = ""                    # for declined: why
# missing_information = []       # for needs_information: what is missing
notes = "Reception in Belgrade can be arranged; we will contact the family only after assessment."
"#;
