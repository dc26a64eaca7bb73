//! The message files for every kind but the referral (which has [`crate::referral_file`]):
//! the addressee, the case, the priority and one table named after the kind, in TOML or
//! JSON. Every error names the field, as `return_request.travel_date: ...`.
//!
//! - [`response`]: the `referral_response` file.
//! - [`supplement`]: the `information_supplied` file.
//! - [`update`]: the `case_update` file.
//! - [`info`]: the `info_request` and `info_response` files.
//! - [`returns`]: the `return_request`, `return_confirmation` and `follow_up` files.
//! - [`withdrawal`]: the `consent_withdrawal` file.
//! - [`parts`]: consent, risk assessment, guardian, reception and handling code.

pub mod info;
pub mod parts;
pub mod response;
pub mod returns;
pub mod supplement;
pub mod update;
pub mod withdrawal;

use serde::Deserialize;
use trm_proto::pb;

use crate::referral_file::{FieldError, Priority, Problem, field_error};

/// Every kind `trm template` and `trm send` know, the referral first.
pub const KINDS: &[&str] = &trm_proto::kinds::SENT_NAMES;

/// The filled-in example for `kind`.
pub fn template(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "referral" => crate::referral_file::TEMPLATE,
        "referral_response" => response::TEMPLATE,
        "information_supplied" => supplement::TEMPLATE,
        "case_update" => update::TEMPLATE,
        "info_request" => info::REQUEST_TEMPLATE,
        "info_response" => info::RESPONSE_TEMPLATE,
        "return_request" => returns::REQUEST_TEMPLATE,
        "return_confirmation" => returns::CONFIRMATION_TEMPLATE,
        "follow_up" => returns::FOLLOW_UP_TEMPLATE,
        "consent_withdrawal" => withdrawal::TEMPLATE,
        _ => return None,
    })
}

/// A message file as written: one of the kind tables is filled in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageFile {
    to: String,
    case_ref: String,
    #[serde(default)]
    priority: Priority,
    #[serde(default)]
    language: String,
    referral_response: Option<response::ReferralResponse>,
    information_supplied: Option<supplement::InformationSupplied>,
    case_update: Option<update::CaseUpdate>,
    info_request: Option<info::InfoRequest>,
    info_response: Option<info::InfoResponse>,
    return_request: Option<returns::ReturnRequest>,
    return_confirmation: Option<returns::ReturnConfirmation>,
    follow_up: Option<returns::FollowUp>,
    consent_withdrawal: Option<withdrawal::ConsentWithdrawal>,
}

/// A checked message file, ready to send.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The addressee.
    pub to: String,
    /// The case reference.
    pub case_ref: String,
    /// How urgent.
    pub priority: pb::Priority,
    /// The content.
    pub content: pb::body::Content,
    /// The language the free text is written in (BCP 47); empty: not stated.
    pub text_language: String,
    /// Files to send with it as the file lists them (relative to the file's folder).
    pub attachments: Vec<String>,
}

impl MessageFile {
    /// How many kind tables are filled in.
    fn tables(&self) -> usize {
        [
            self.referral_response.is_some(),
            self.information_supplied.is_some(),
            self.case_update.is_some(),
            self.info_request.is_some(),
            self.info_response.is_some(),
            self.return_request.is_some(),
            self.return_confirmation.is_some(),
            self.follow_up.is_some(),
            self.consent_withdrawal.is_some(),
        ]
        .into_iter()
        .filter(|present| *present)
        .count()
    }

    fn content(&self, kind: &str) -> Result<Option<pb::body::Content>, FieldError> {
        use pb::body::Content;
        Ok(match kind {
            "referral_response" => self
                .referral_response
                .as_ref()
                .map(|m| m.to_pb().map(Content::ReferralResponse))
                .transpose()?,
            "information_supplied" => self
                .information_supplied
                .as_ref()
                .map(|m| m.to_pb().map(Content::InformationSupplied))
                .transpose()?,
            "case_update" => self
                .case_update
                .as_ref()
                .map(|m| m.to_pb().map(Content::CaseUpdate))
                .transpose()?,
            "info_request" => self
                .info_request
                .as_ref()
                .map(|m| m.to_pb().map(Content::InfoRequest))
                .transpose()?,
            "info_response" => self
                .info_response
                .as_ref()
                .map(|m| m.to_pb().map(Content::InfoResponse))
                .transpose()?,
            "return_request" => self
                .return_request
                .as_ref()
                .map(|m| m.to_pb().map(Content::ReturnRequest))
                .transpose()?,
            "return_confirmation" => self
                .return_confirmation
                .as_ref()
                .map(|m| m.to_pb().map(Content::ReturnConfirmation))
                .transpose()?,
            "follow_up" => self
                .follow_up
                .as_ref()
                .map(|m| m.to_pb().map(Content::FollowUp))
                .transpose()?,
            "consent_withdrawal" => self
                .consent_withdrawal
                .as_ref()
                .map(|m| m.to_pb().map(Content::ConsentWithdrawal))
                .transpose()?,
            other => return Err(not_a_kind(other)),
        })
    }
}

/// Parses and checks a file of `kind` (not `referral`); JSON when `json` is set.
pub fn parse(kind: &str, text: &str, json: bool) -> Result<Parsed, FieldError> {
    let file: MessageFile = if json {
        crate::referral_file::from_json(text)?
    } else {
        toml::from_str(text).map_err(|e| crate::referral_file::toml_error(text, &e))?
    };
    file.to
        .parse::<trm_proto::addr::NodeAddr>()
        .map_err(|e| field_error("to", Problem::new("not-an-address", e.to_string())))?;
    file.case_ref
        .parse::<trm_proto::addr::CaseRef>()
        .map_err(|e| field_error("case_ref", Problem::new("not-a-case-ref", e.to_string())))?;
    crate::language::check("language", &file.language)?;
    let content = file.content(kind)?.ok_or_else(|| {
        field_error(
            kind,
            Problem::new("table-missing", format!("the [{kind}] table is missing"))
                .arg("kind", kind),
        )
    })?;
    if file.tables() > 1 {
        return Err(field_error(
            "file",
            Problem::new("one-table-only", format!("fill in only the [{kind}] table"))
                .arg("kind", kind),
        ));
    }
    Ok(Parsed {
        to: file.to,
        case_ref: file.case_ref,
        priority: parts::priority(file.priority),
        content,
        text_language: file.language,
        attachments: match (file.info_response, file.information_supplied) {
            (Some(response), _) => response.attachments,
            (None, Some(supplied)) => supplied.attachments,
            (None, None) => Vec::new(),
        },
    })
}

fn not_a_kind(kind: &str) -> FieldError {
    field_error(
        "kind",
        Problem::new("not-a-kind", format!("{kind:?} is not a kind")).arg("value", kind),
    )
}

/// A file of any kind, the referral too, checked and turned into the request that sends it,
/// with the files it lists to attach (relative to the file's folder).
pub fn send_request(
    kind: &str,
    text: &str,
    json: bool,
) -> Result<(pb::SendRequest, Vec<String>), FieldError> {
    if kind == "referral" {
        let file = crate::referral_file::ReferralFile::parse(text, json)?;
        return Ok((file.send_request()?, file.referral.attachments));
    }
    if !KINDS.contains(&kind) {
        return Err(not_a_kind(kind));
    }
    let parsed = parse(kind, text, json)?;
    Ok((
        pb::SendRequest {
            to: parsed.to,
            case_ref: parsed.case_ref,
            priority: parsed.priority.into(),
            body: Some(pb::Body {
                content: Some(parsed.content),
                text_language: parsed.text_language,
                ..Default::default()
            }),
            idempotency_key: String::new(),
        },
        parsed.attachments,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_into_its_kind() {
        for kind in &KINDS[1..] {
            let text = template(kind).expect("every kind has a template");
            let parsed = parse(kind, text, false).unwrap_or_else(|e| panic!("{kind}: {e}"));
            let name = format!("{:?}", trm_proto::kinds::kind_of(&parsed.content));
            assert_eq!(
                name.to_ascii_lowercase(),
                kind.replace('_', ""),
                "{kind} template"
            );
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "return_request",
                "travel_date = \"2026-12-10\"",
                "travel_date = \"10.12.2026\"",
                "return_request.travel_date",
            ),
            (
                "info_response",
                "accuracy = 2",
                "accuracy = 7",
                "info_response.accuracy",
            ),
            (
                "follow_up",
                "months_after_return = 3",
                "months_after_return = 0",
                "follow_up.months_after_return",
            ),
            (
                "referral_response",
                "responsible_unit = \"Astra reintegration team\"",
                "responsible_unit = \"\"",
                "referral_response.responsible_unit",
            ),
            (
                "return_confirmation",
                "to = \"lefoe-ibf@at\"",
                "to = \"LEFÖ\"",
                "to",
            ),
            (
                "info_request",
                "purpose = \"criminal\"",
                "purpose = \"civil\"",
                "info_request.purpose",
            ),
            (
                "info_request",
                "categories = [\"perpetrator\"]",
                "categories = [\"witness\"]",
                "info_request.categories",
            ),
            (
                "info_request",
                "deadline = \"2026-12-15\"",
                "deadline = \"next week\"",
                "info_request.deadline",
            ),
            (
                "info_request",
                "handling_code = \"H1\"",
                "handling_code = \"H9\"",
                "info_request.handling_code",
            ),
            (
                "info_response",
                "source_reliability = \"B\"",
                "source_reliability = \"E\"",
                "info_response.source_reliability",
            ),
            (
                "case_update",
                "court_date = \"2027-03-15\"",
                "court_date = \"15 March\"",
                "case_update.court_date",
            ),
            (
                "consent_withdrawal",
                "withdrawn_at = \"2026-12-01\"",
                "withdrawn_at = \"yesterday\"",
                "consent_withdrawal.withdrawn_at",
            ),
            (
                "return_request",
                "level = \"medium\"",
                "level = \"severe\"",
                "return_request.pre_return_risk_assessment.level",
            ),
            (
                "return_request",
                "priority = \"urgent\"",
                "priority = \"asap\"",
                "priority",
            ),
            (
                "information_supplied",
                "answer = \"Serbian; some German. No interpreter needed for Serbian.\"",
                "answer = \" \"",
                "information_supplied.answers[1].answer",
            ),
            (
                "info_request",
                "handling_code = \"H1\"             # H0 | H1 | H2 | H3",
                "handling_code = \"H3\"",
                "info_request.handling_restrictions",
            ),
            (
                "return_request",
                "case_ref = \"AT-LEFOE-2026-0042\"",
                "case_ref = \"\"",
                "case_ref",
            ),
        ];
        for (kind, from, to, field) in cases {
            let text = template(kind).expect("template").replace(from, to);
            let error = parse(kind, &text, false).expect_err(to);
            assert_eq!(error.field, field, "{to}: {error}");
        }
        let missing = parse(
            "case_update",
            template("follow_up").expect("template"),
            false,
        )
        .expect_err("wrong table");
        assert_eq!(missing.field, "case_update");
    }
}
