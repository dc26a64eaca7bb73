//! The information-supplied file: after a referral response that asked for more information
//! (`needs_information`), the referring organisation answers each missing item; the referral
//! then awaits the addressee's answer again.

use serde::Deserialize;
use trm_proto::pb;

use crate::problem::Problem;
use crate::referral_file::{FieldError, field_error, required};

/// One missing item and its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SuppliedItem {
    pub missing_information: String,
    pub answer: String,
}

/// The information supplied for a referral.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct InformationSupplied {
    pub referral_message_id: String,
    #[serde(default)]
    pub answers: Vec<SuppliedItem>,
    #[serde(default)]
    pub notes: String,
    /// Files to send with the answers, relative to the message file's folder.
    #[serde(default)]
    pub attachments: Vec<String>,
}

impl InformationSupplied {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::ReferralSupplement, FieldError> {
        required(
            "information_supplied.referral_message_id",
            &self.referral_message_id,
        )?;
        if self.answers.is_empty() {
            return Err(field_error(
                "information_supplied.answers",
                Problem::new(
                    "answer-one",
                    "answer at least one item the response said was missing",
                ),
            ));
        }
        let mut answers = Vec::with_capacity(self.answers.len());
        for (n, item) in (1..).zip(&self.answers) {
            let field = format!("information_supplied.answers[{n}]");
            required(
                &format!("{field}.missing_information"),
                &item.missing_information,
            )?;
            required(&format!("{field}.answer"), &item.answer)?;
            answers.push(pb::SuppliedItem {
                missing_information: item.missing_information.clone(),
                answer: item.answer.clone(),
            });
        }
        Ok(pb::ReferralSupplement {
            referral_message_id: self.referral_message_id.clone(),
            answers,
            attachments: Vec::new(),
            notes: self.notes.clone(),
        })
    }
}

/// A filled-in example: LEFÖ-IBF answers what Astra asked for before deciding.
pub const TEMPLATE: &str = r#"# Information supplied for a referral: answer what the partner's response said was missing.
# Fill in, then: trm send information_supplied --file supplied.toml
# Only the organisation that sent the referral can send it, and only while the referral
# needs information; the partner then owes an answer again, by the referral's priority.

to = "astra@rs"                  # the organisation that asked for the information
case_ref = "AT-LEFOE-2026-0042"  # the referral's case reference
priority = "routine"             # routine | urgent | immediate

[information_supplied]
referral_message_id = "PASTE-THE-REFERRAL-ID"   # from trm case
notes = "The risk assessment was updated on 28 November."
# attachments = ["risk-assessment.pdf"]  # files sent with it, relative to this file's folder

# One [[information_supplied.answers]] table per missing item, worded as the response said.
[[information_supplied.answers]]
missing_information = "languages spoken"
answer = "Serbian; some German. No interpreter needed for Serbian."

[[information_supplied.answers]]
missing_information = "whether the family knows of the return"
answer = "No. She asks that the family is not contacted before the assessment."
"#;
