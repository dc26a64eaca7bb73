//! The information request and information response files, for police liaison officers and
//! prosecutors: legal basis, purpose, categories, deadline, handling code; the answer with
//! its evaluation codes, or a refusal with its reason.

use serde::Deserialize;
use trm_proto::pb;

use super::parts;
use crate::problem::Problem;
use crate::referral_file::{Consent, FieldError, HandlingCode, field_error, required};

/// Why the information is requested (004:99).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Purpose {
    Preliminary,
    Criminal,
}

/// What information is requested (004:63).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Category {
    Victim,
    Perpetrator,
}

/// Source reliability (Europol SIENA).
#[derive(Debug, Clone, Copy, Deserialize)]
#[allow(missing_docs)]
pub enum Reliability {
    A,
    B,
    C,
    X,
}

/// Why information is refused.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Refusal {
    NoConsent,
    NoLegalBasis,
    Other,
}

/// An information request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct InfoRequest {
    pub requesting_authority: String,
    pub legal_basis: String,
    #[serde(default)]
    pub own_reference: String,
    pub purpose: Purpose,
    pub categories: Vec<Category>,
    #[serde(default)]
    pub deadline: String,
    pub handling_code: HandlingCode,
    #[serde(default)]
    pub handling_restrictions: String,
    pub questions: String,
}

impl InfoRequest {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::InfoRequest, FieldError> {
        required(
            "info_request.requesting_authority",
            &self.requesting_authority,
        )?;
        required("info_request.legal_basis", &self.legal_basis)?;
        required("info_request.questions", &self.questions)?;
        if self.categories.is_empty() {
            return Err(field_error(
                "info_request.categories",
                Problem::new(
                    "name-one-category",
                    "name at least one: victim or perpetrator",
                ),
            ));
        }
        Ok(pb::InfoRequest {
            requesting_authority: self.requesting_authority.clone(),
            legal_basis: self.legal_basis.clone(),
            own_reference: self.own_reference.clone(),
            purpose: match self.purpose {
                Purpose::Preliminary => pb::InvestigationPurpose::Preliminary,
                Purpose::Criminal => pb::InvestigationPurpose::Criminal,
            }
            .into(),
            categories: self
                .categories
                .iter()
                .map(|c| {
                    match c {
                        Category::Victim => pb::InformationCategory::Victim,
                        Category::Perpetrator => pb::InformationCategory::Perpetrator,
                    }
                    .into()
                })
                .collect(),
            deadline_ms: crate::referral_file::optional_date(
                "info_request.deadline",
                &self.deadline,
            )?,
            handling_code: parts::handling_with(
                "info_request",
                Some(self.handling_code),
                &self.handling_restrictions,
            )?,
            handling_restrictions: self.handling_restrictions.clone(),
            questions: self.questions.clone(),
        })
    }
}

/// An information response: the information, or a refusal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct InfoResponse {
    pub request_message_id: String,
    #[serde(default)]
    pub information: String,
    pub source_reliability: Option<Reliability>,
    #[serde(default)]
    pub accuracy: u32,
    pub refusal_reason: Option<Refusal>,
    #[serde(default)]
    pub refusal_text: String,
    pub handling_code: Option<HandlingCode>,
    #[serde(default)]
    pub handling_restrictions: String,
    pub consent: Option<Consent>,
    /// Files to send with the answer, relative to the message file's folder.
    #[serde(default)]
    pub attachments: Vec<String>,
}

impl InfoResponse {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::InfoResponse, FieldError> {
        required("info_response.request_message_id", &self.request_message_id)?;
        match (self.information.trim().is_empty(), self.refusal_reason) {
            (true, None) => {
                return Err(field_error(
                    "info_response.information",
                    Problem::new(
                        "info-or-refusal",
                        "give the information, or a refusal_reason",
                    ),
                ));
            }
            (false, Some(_)) => {
                return Err(field_error(
                    "info_response.refusal_reason",
                    Problem::new(
                        "info-and-refusal",
                        "a response either gives information or refuses, not both",
                    ),
                ));
            }
            (false, None) if !(1..=4).contains(&self.accuracy) => {
                return Err(field_error(
                    "info_response.accuracy",
                    Problem::new(
                        "not-an-accuracy",
                        format!("{} is not an accuracy code (1 to 4)", self.accuracy),
                    )
                    .arg("value", self.accuracy.to_string()),
                ));
            }
            _ => {}
        }
        Ok(pb::InfoResponse {
            request_message_id: self.request_message_id.clone(),
            information: self.information.clone(),
            source_reliability: self
                .source_reliability
                .map_or(pb::SourceReliability::Unspecified, |r| match r {
                    Reliability::A => pb::SourceReliability::A,
                    Reliability::B => pb::SourceReliability::B,
                    Reliability::C => pb::SourceReliability::C,
                    Reliability::X => pb::SourceReliability::X,
                })
                .into(),
            accuracy: self.accuracy,
            refusal_reason: self
                .refusal_reason
                .map_or(pb::InfoRefusalReason::Unspecified, |r| match r {
                    Refusal::NoConsent => pb::InfoRefusalReason::NoConsent,
                    Refusal::NoLegalBasis => pb::InfoRefusalReason::NoLegalBasis,
                    Refusal::Other => pb::InfoRefusalReason::Other,
                })
                .into(),
            refusal_text: self.refusal_text.clone(),
            handling_code: parts::handling_with(
                "info_response",
                self.handling_code,
                &self.handling_restrictions,
            )?,
            handling_restrictions: self.handling_restrictions.clone(),
            consent: self
                .consent
                .as_ref()
                .map(|c| parts::consent("info_response.consent", c))
                .transpose()?,
            attachments: Vec::new(),
        })
    }
}

/// A filled-in example: the Austrian Ministry of Interior asks Astra about a recruiter.
pub const REQUEST_TEMPLATE: &str = r#"# A request for case information (police liaison officer or prosecutor).
# Fill in, then: trm send info_request --file request.toml

to = "astra@rs"
case_ref = "AT-BMI-2026-0117"
priority = "routine"             # routine | urgent | immediate

[info_request]
requesting_authority = "Federal Ministry of Interior, Criminal Intelligence Service, THB unit"
legal_basis = "StPO § 76 and the bilateral police cooperation agreement AT-RS"
own_reference = "BK-THB-2026-0117"
purpose = "criminal"             # preliminary | criminal
categories = ["perpetrator"]     # victim | perpetrator
deadline = "2026-12-15"          # YYYY-MM-DD
handling_code = "H1"             # H0 | H1 | H2 | H3
# handling_restrictions = ""     # required with H3: the restrictions, in words
questions = "Is the recruiter known to your organisation from other cases in the origin town?"
"#;

/// A filled-in example: Astra answers with evaluation codes.
pub const RESPONSE_TEMPLATE: &str = r#"# An answer to a request for case information: the information, or a refusal.
# Fill in, then: trm send info_response --file response.toml

to = "bmi-thb@at"
case_ref = "AT-BMI-2026-0117"
priority = "routine"

[info_response]
request_message_id = "PASTE-THE-REQUEST-ID"     # from trm inbox or trm case
information = "The recruiter was named by two other women we assisted in 2025."
source_reliability = "B"         # A | B | C | X
accuracy = 2                     # 1 known true | 2 known to the source | 3 not known | 4 cannot be judged
handling_code = "H1"             # H0 | H1 | H2 | H3 (H3 needs handling_restrictions)
# attachments = ["statement.pdf"]  # files sent with it, relative to this file's folder
# refusal_reason = "no_consent"  # instead of information: no_consent | no_legal_basis | other
# refusal_text = ""

[info_response.consent]          # needed when the information discloses personal data
given = false
override_legal_basis = "Criminal procedure: information on a suspect, no victim data disclosed"
"#;
