//! The one label table: the English label of every field of every content message (keyed by
//! the field's full protobuf name), the meaning of every code, and how codes are spelled.
//!
//! A label is also the place to decide how a proto3 default is shown ([`Show`]), what a
//! number counts ([`FieldLabel::unit`]), what a numbered code means ([`FieldLabel::codes`])
//! and what a text code of a shared list means ([`FieldLabel::listed`]). The tests walk the
//! descriptors and fail when a field or a code of a content message has no entry here, so
//! nothing new is shown unlabelled.

use prost_reflect::{EnumDescriptor, EnumValueDescriptor};

/// When a boolean is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Always: false is information too ("Consent given: no").
    Always,
    /// Only when true: false means only that the flag does not apply.
    IfTrue,
}

/// How one field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLabel {
    /// The English label.
    pub label: &'static str,
    /// When a boolean is shown (ignored for other types).
    pub show: Show,
    /// What a number counts, singular (`month`).
    pub unit: Option<&'static str>,
    /// The meanings of a number that is a code (SIENA accuracy 1 to 4).
    pub codes: &'static [(u64, &'static str)],
    /// The meanings of a text that is a code of a shared list (the indicator list); a text
    /// the list does not have is shown as written.
    pub listed: &'static [(&'static str, &'static str)],
}

const fn l(label: &'static str) -> FieldLabel {
    FieldLabel {
        label,
        show: Show::Always,
        unit: None,
        codes: &[],
        listed: &[],
    }
}

const fn if_true(label: &'static str) -> FieldLabel {
    FieldLabel {
        show: Show::IfTrue,
        ..l(label)
    }
}

const fn counting(label: &'static str, unit: &'static str) -> FieldLabel {
    FieldLabel {
        unit: Some(unit),
        ..l(label)
    }
}

const fn coded(label: &'static str, codes: &'static [(u64, &'static str)]) -> FieldLabel {
    FieldLabel { codes, ..l(label) }
}

const fn listed(
    label: &'static str,
    listed: &'static [(&'static str, &'static str)],
) -> FieldLabel {
    FieldLabel { listed, ..l(label) }
}

/// Information accuracy in Europol's SIENA 4x4 evaluation.
const ACCURACY: &[(u64, &str)] = &[
    (1, "1: accuracy not in doubt"),
    (
        2,
        "2: known personally to the source, not to the official passing it on",
    ),
    (
        3,
        "3: not known personally to the source, corroborated by information already held",
    ),
    (
        4,
        "4: not known personally to the source and cannot be corroborated",
    ),
];

/// Every field of every content message, by full name.
const FIELDS: &[(&str, FieldLabel)] = &[
    // ConsentRecord
    ("trm.v1.ConsentRecord.given", l("Consent given")),
    ("trm.v1.ConsentRecord.scope", l("Scope")),
    (
        "trm.v1.ConsentRecord.obtained_by_role",
        l("Obtained by (role)"),
    ),
    ("trm.v1.ConsentRecord.obtained_at_ms", l("Obtained")),
    ("trm.v1.ConsentRecord.language", l("Explained in language")),
    (
        "trm.v1.ConsentRecord.interpreter_used",
        l("Interpreter used"),
    ),
    (
        "trm.v1.ConsentRecord.guardian_consent",
        if_true("Guardian consented"),
    ),
    ("trm.v1.ConsentRecord.child_view", l("The child's own view")),
    (
        "trm.v1.ConsentRecord.override_legal_basis",
        l("Legal basis without consent"),
    ),
    // PersonData
    ("trm.v1.PersonData.given_name", l("Given name")),
    ("trm.v1.PersonData.family_name", l("Family name")),
    ("trm.v1.PersonData.age_years", counting("Age", "year")),
    ("trm.v1.PersonData.date_of_birth", l("Date of birth")),
    ("trm.v1.PersonData.sex", l("Sex")),
    ("trm.v1.PersonData.nationality", l("Nationality")),
    ("trm.v1.PersonData.languages", l("Languages")),
    (
        "trm.v1.PersonData.interpreter_needed",
        l("Interpreter needed"),
    ),
    ("trm.v1.PersonData.literate", l("Can read and write")),
    // Guardian
    ("trm.v1.Guardian.appointed_by", l("Appointed by")),
    ("trm.v1.Guardian.role", l("Role")),
    ("trm.v1.Guardian.contact_via", l("Contact via")),
    // RiskAssessment
    ("trm.v1.RiskAssessment.level", l("Risk level")),
    ("trm.v1.RiskAssessment.assessed_by", l("Assessed by")),
    ("trm.v1.RiskAssessment.assessed_at_ms", l("Assessed")),
    ("trm.v1.RiskAssessment.summary", l("Summary")),
    // Attachment
    ("trm.v1.Attachment.file_name", l("File name")),
    ("trm.v1.Attachment.media_type", l("Media type")),
    ("trm.v1.Attachment.content", l("Content")),
    ("trm.v1.Attachment.sha256", l("SHA-256")),
    // Referral
    ("trm.v1.Referral.victim_status", l("Victim status")),
    (
        "trm.v1.Referral.status_designated_by",
        l("Status designated by"),
    ),
    (
        "trm.v1.Referral.status_designated_at_ms",
        l("Status designated"),
    ),
    ("trm.v1.Referral.exploitation_types", l("Exploitation")),
    ("trm.v1.Referral.person", l("Person")),
    ("trm.v1.Referral.child", l("Child")),
    ("trm.v1.Referral.unaccompanied", if_true("Unaccompanied")),
    ("trm.v1.Referral.guardian", l("Guardian")),
    (
        "trm.v1.Referral.indicators",
        listed("Indicators", trm_proto::indicators::LIST),
    ),
    (
        "trm.v1.Referral.indicator_list_version",
        l("Indicator list version"),
    ),
    ("trm.v1.Referral.risk_assessment", l("Risk assessment")),
    ("trm.v1.Referral.needs", l("Needs")),
    (
        "trm.v1.Referral.services_given",
        l("Services already given"),
    ),
    ("trm.v1.Referral.consent", l("Consent")),
    ("trm.v1.Referral.handling_code", l("Handling code")),
    (
        "trm.v1.Referral.handling_restrictions",
        l("Handling restrictions"),
    ),
    (
        "trm.v1.Referral.cooperates_with_authorities",
        l("Cooperates with authorities (never a condition of assistance)"),
    ),
    ("trm.v1.Referral.attachments", l("Attachments")),
    ("trm.v1.Referral.notes", l("Notes")),
    // ReferralResponse
    (
        "trm.v1.ReferralResponse.referral_message_id",
        l("Answers referral"),
    ),
    ("trm.v1.ReferralResponse.decision", l("Decision")),
    (
        "trm.v1.ReferralResponse.responsible_unit",
        l("Responsible unit"),
    ),
    ("trm.v1.ReferralResponse.reason", l("Reason")),
    (
        "trm.v1.ReferralResponse.missing_information",
        l("Missing information"),
    ),
    ("trm.v1.ReferralResponse.notes", l("Notes")),
    // CourtTravelSupport
    ("trm.v1.CourtTravelSupport.hearing_at_ms", l("Hearing")),
    ("trm.v1.CourtTravelSupport.court", l("Court")),
    (
        "trm.v1.CourtTravelSupport.video_link",
        l("Testifies by video link"),
    ),
    ("trm.v1.CourtTravelSupport.tickets", l("Tickets")),
    ("trm.v1.CourtTravelSupport.lawyer", l("Lawyer")),
    ("trm.v1.CourtTravelSupport.met_by", l("Met on arrival by")),
    (
        "trm.v1.CourtTravelSupport.accommodation",
        l("Accommodation"),
    ),
    // CaseUpdate
    ("trm.v1.CaseUpdate.status", l("Status")),
    (
        "trm.v1.CaseUpdate.services_delivered",
        l("Services delivered"),
    ),
    ("trm.v1.CaseUpdate.court_date_ms", l("Court date")),
    ("trm.v1.CaseUpdate.court_travel", l("Court travel")),
    ("trm.v1.CaseUpdate.outcome", l("Outcome")),
    ("trm.v1.CaseUpdate.notes", l("Notes")),
    ("trm.v1.CaseUpdate.closed_items", l("Closes")),
    // ReferralSupplement
    (
        "trm.v1.ReferralSupplement.referral_message_id",
        l("Supplements referral"),
    ),
    (
        "trm.v1.ReferralSupplement.answers",
        l("Information supplied"),
    ),
    ("trm.v1.ReferralSupplement.attachments", l("Attachments")),
    ("trm.v1.ReferralSupplement.notes", l("Notes")),
    (
        "trm.v1.SuppliedItem.missing_information",
        l("Missing information"),
    ),
    ("trm.v1.SuppliedItem.answer", l("Answer")),
    // InfoRequest
    (
        "trm.v1.InfoRequest.requesting_authority",
        l("Requesting authority"),
    ),
    ("trm.v1.InfoRequest.legal_basis", l("Legal basis")),
    ("trm.v1.InfoRequest.own_reference", l("Their reference")),
    ("trm.v1.InfoRequest.purpose", l("Purpose")),
    ("trm.v1.InfoRequest.categories", l("Information about")),
    ("trm.v1.InfoRequest.deadline_ms", l("Answer by")),
    ("trm.v1.InfoRequest.handling_code", l("Handling code")),
    (
        "trm.v1.InfoRequest.handling_restrictions",
        l("Handling restrictions"),
    ),
    ("trm.v1.InfoRequest.questions", l("Questions")),
    // InfoResponse
    (
        "trm.v1.InfoResponse.request_message_id",
        l("Answers request"),
    ),
    ("trm.v1.InfoResponse.information", l("Information")),
    (
        "trm.v1.InfoResponse.source_reliability",
        l("Source reliability"),
    ),
    ("trm.v1.InfoResponse.accuracy", coded("Accuracy", ACCURACY)),
    ("trm.v1.InfoResponse.refusal_reason", l("Refused because")),
    ("trm.v1.InfoResponse.refusal_text", l("Refusal explained")),
    ("trm.v1.InfoResponse.handling_code", l("Handling code")),
    (
        "trm.v1.InfoResponse.handling_restrictions",
        l("Handling restrictions"),
    ),
    ("trm.v1.InfoResponse.consent", l("Consent")),
    ("trm.v1.InfoResponse.attachments", l("Attachments")),
    // Reception
    ("trm.v1.Reception.met_by", l("Met by")),
    ("trm.v1.Reception.meeting_point", l("Meeting point")),
    (
        "trm.v1.Reception.services_on_arrival",
        l("Services on arrival"),
    ),
    // ReturnRequest
    (
        "trm.v1.ReturnRequest.voluntary_return_consent",
        l("Consents to return"),
    ),
    (
        "trm.v1.ReturnRequest.pre_return_risk_assessment",
        l("Pre-return risk assessment"),
    ),
    ("trm.v1.ReturnRequest.travel_date_ms", l("Travel date")),
    ("trm.v1.ReturnRequest.route", l("Route")),
    ("trm.v1.ReturnRequest.means", l("Means of travel")),
    ("trm.v1.ReturnRequest.escort", l("Escort")),
    (
        "trm.v1.ReturnRequest.documents_status",
        l("Travel documents"),
    ),
    (
        "trm.v1.ReturnRequest.reception_wanted",
        l("Reception wanted"),
    ),
    (
        "trm.v1.ReturnRequest.family_assessment",
        l("Family assessment"),
    ),
    ("trm.v1.ReturnRequest.child", l("Child")),
    ("trm.v1.ReturnRequest.guardian", l("Guardian")),
    (
        "trm.v1.ReturnRequest.best_interest_determination",
        l("Best-interest determination"),
    ),
    ("trm.v1.ReturnRequest.consent", l("Consent")),
    ("trm.v1.ReturnRequest.notes", l("Notes")),
    // ReturnConfirmation
    (
        "trm.v1.ReturnConfirmation.return_request_message_id",
        l("Confirms return request"),
    ),
    ("trm.v1.ReturnConfirmation.reception", l("Reception")),
    ("trm.v1.ReturnConfirmation.notes", l("Notes")),
    // FollowUp
    (
        "trm.v1.FollowUp.return_request_message_id",
        l("Follows up return request"),
    ),
    (
        "trm.v1.FollowUp.months_after_return",
        counting("Time after return", "month"),
    ),
    (
        "trm.v1.FollowUp.reintegration_status",
        l("Reintegration status"),
    ),
    ("trm.v1.FollowUp.services_received", l("Services received")),
    (
        "trm.v1.FollowUp.contact_maintained",
        l("Contact maintained"),
    ),
    ("trm.v1.FollowUp.outcome", l("Outcome")),
    ("trm.v1.FollowUp.notes", l("Notes")),
    // ConsentWithdrawal
    ("trm.v1.ConsentWithdrawal.withdrawn_at_ms", l("Withdrawn")),
    (
        "trm.v1.ConsentWithdrawal.recorded_by_role",
        l("Recorded by (role)"),
    ),
    ("trm.v1.ConsentWithdrawal.notes", l("Notes")),
    // WitnessRequest
    ("trm.v1.WitnessRequest.purpose", l("Purpose")),
];

/// What every code of every content enum means, keyed `enum full name` + `.` + value name.
const CODES: &[(&str, &str)] = &[
    (
        "trm.v1.VictimStatus.VICTIM_STATUS_POTENTIAL",
        "potential victim",
    ),
    (
        "trm.v1.VictimStatus.VICTIM_STATUS_PRESUMED",
        "presumed victim",
    ),
    (
        "trm.v1.VictimStatus.VICTIM_STATUS_IDENTIFIED",
        "identified victim",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_SEXUAL",
        "sexual exploitation",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_LABOUR",
        "labour exploitation",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_FORCED_BEGGING",
        "forced begging",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_FORCED_CRIMINALITY",
        "forced criminality",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_FORCED_MARRIAGE",
        "forced marriage",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_DOMESTIC_SERVITUDE",
        "domestic servitude",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_ORGAN_REMOVAL",
        "organ removal",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_ILLEGAL_ADOPTION",
        "illegal adoption",
    ),
    (
        "trm.v1.ExploitationType.EXPLOITATION_TYPE_OTHER",
        "other exploitation",
    ),
    ("trm.v1.Need.NEED_SHELTER", "shelter"),
    ("trm.v1.Need.NEED_MEDICAL", "medical care"),
    ("trm.v1.Need.NEED_PSYCHOSOCIAL", "psychosocial support"),
    ("trm.v1.Need.NEED_LEGAL_AID", "legal aid"),
    ("trm.v1.Need.NEED_DOCUMENTS", "identity or travel documents"),
    ("trm.v1.Need.NEED_INTERPRETATION", "interpretation"),
    ("trm.v1.Need.NEED_RETURN", "assisted return"),
    ("trm.v1.Need.NEED_COMPENSATION_CLAIM", "compensation claim"),
    ("trm.v1.Need.NEED_FAMILY_ASSESSMENT", "family assessment"),
    ("trm.v1.RiskLevel.RISK_LEVEL_LOW", "low"),
    ("trm.v1.RiskLevel.RISK_LEVEL_MEDIUM", "medium"),
    ("trm.v1.RiskLevel.RISK_LEVEL_HIGH", "high"),
    ("trm.v1.Sex.SEX_FEMALE", "female"),
    ("trm.v1.Sex.SEX_MALE", "male"),
    ("trm.v1.Sex.SEX_OTHER", "other"),
    (
        "trm.v1.HandlingCode.HANDLING_CODE_H0",
        "H0: use only for the stated purpose",
    ),
    (
        "trm.v1.HandlingCode.HANDLING_CODE_H1",
        "H1: not to be used in judicial proceedings without the provider's permission",
    ),
    (
        "trm.v1.HandlingCode.HANDLING_CODE_H2",
        "H2: not to be passed on without the provider's permission",
    ),
    (
        "trm.v1.HandlingCode.HANDLING_CODE_H3",
        "H3: other restrictions, stated with it",
    ),
    (
        "trm.v1.ReferralResponse.Decision.DECISION_ACCEPTED",
        "accepted",
    ),
    (
        "trm.v1.ReferralResponse.Decision.DECISION_DECLINED",
        "declined",
    ),
    (
        "trm.v1.ReferralResponse.Decision.DECISION_NEEDS_INFORMATION",
        "more information needed",
    ),
    (
        "trm.v1.CaseOutcome.CASE_OUTCOME_INTEGRATED_IN_DESTINATION",
        "integrated in the country of destination",
    ),
    (
        "trm.v1.CaseOutcome.CASE_OUTCOME_REINTEGRATED_IN_ORIGIN",
        "reintegrated in the country of origin",
    ),
    (
        "trm.v1.CaseOutcome.CASE_OUTCOME_RELOCATED_TO_THIRD_COUNTRY",
        "relocated to a third country",
    ),
    (
        "trm.v1.CaseOutcome.CASE_OUTCOME_CONTACT_LOST",
        "contact lost",
    ),
    (
        "trm.v1.InvestigationPurpose.INVESTIGATION_PURPOSE_PRELIMINARY",
        "preliminary investigation",
    ),
    (
        "trm.v1.InvestigationPurpose.INVESTIGATION_PURPOSE_CRIMINAL",
        "criminal investigation",
    ),
    (
        "trm.v1.InformationCategory.INFORMATION_CATEGORY_VICTIM",
        "the victim",
    ),
    (
        "trm.v1.InformationCategory.INFORMATION_CATEGORY_PERPETRATOR",
        "the perpetrator",
    ),
    (
        "trm.v1.SourceReliability.SOURCE_RELIABILITY_A",
        "A: no doubt about authenticity, trustworthiness and competence",
    ),
    (
        "trm.v1.SourceReliability.SOURCE_RELIABILITY_B",
        "B: has in most instances proved reliable",
    ),
    (
        "trm.v1.SourceReliability.SOURCE_RELIABILITY_C",
        "C: has in most instances proved unreliable",
    ),
    (
        "trm.v1.SourceReliability.SOURCE_RELIABILITY_X",
        "X: reliability cannot be assessed",
    ),
    (
        "trm.v1.InfoRefusalReason.INFO_REFUSAL_REASON_NO_CONSENT",
        "no consent",
    ),
    (
        "trm.v1.InfoRefusalReason.INFO_REFUSAL_REASON_NO_LEGAL_BASIS",
        "no legal basis",
    ),
    (
        "trm.v1.InfoRefusalReason.INFO_REFUSAL_REASON_OTHER",
        "another reason, explained",
    ),
];

/// Enums whose codes the message files write in capitals (`H2`, `A`).
const CAPITAL_CODES: &[&str] = &["trm.v1.HandlingCode", "trm.v1.SourceReliability"];

/// Every labelled field: its full name and how it is shown.
pub fn all_fields() -> impl Iterator<Item = (&'static str, &'static FieldLabel)> {
    FIELDS.iter().map(|(name, label)| (*name, label))
}

/// Every code meaning, keyed `enum full name` + `.` + value name.
pub fn all_codes() -> impl Iterator<Item = (&'static str, &'static str)> {
    CODES.iter().copied()
}

/// Every unit a number is counted in: the fields' units, and the bytes, hours and days the
/// views count in.
pub fn all_units() -> Vec<&'static str> {
    let mut units: Vec<&'static str> = FIELDS.iter().filter_map(|(_, l)| l.unit).collect();
    units.extend(["byte", "hour", "day"]);
    units.sort_unstable();
    units.dedup();
    units
}

/// How the field with this full name (`trm.v1.Referral.child`) is shown; `None` when the
/// table has no entry (the walk then shows it under [`fallback`]).
pub fn field(full_name: &str) -> Option<&'static FieldLabel> {
    FIELDS
        .iter()
        .find(|(name, _)| *name == full_name)
        .map(|(_, label)| label)
}

/// A label made from a field's name, for a field the table does not know yet:
/// `best_interest_determination` is "Best interest determination".
pub fn fallback(name: &str) -> String {
    let words = name.trim_end_matches("_ms").replace('_', " ");
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// What a code means for people; the spelling with spaces when the table has no entry.
pub fn meaning(value: &EnumValueDescriptor) -> String {
    let key = format!("{}.{}", value.parent_enum().full_name(), value.name());
    CODES.iter().find(|(name, _)| *name == key).map_or_else(
        || spelling(value).replace('_', " "),
        |(_, m)| (*m).to_owned(),
    )
}

/// Whether the table has a meaning for this code.
pub fn has_meaning(value: &EnumValueDescriptor) -> bool {
    let key = format!("{}.{}", value.parent_enum().full_name(), value.name());
    CODES.iter().any(|(name, _)| *name == key)
}

/// A code as the message files spell it: the value's name without the enum's prefix (the
/// name of its value 0 without `UNSPECIFIED`), in lower case (`EXPLOITATION_TYPE_SEXUAL` is
/// `sexual`), or as written for the enums whose codes are capitals (`HANDLING_CODE_H2` is
/// `H2`).
pub fn spelling(value: &EnumValueDescriptor) -> String {
    let parent = value.parent_enum();
    let prefix = prefix(parent);
    let bare = value.name().strip_prefix(&prefix).unwrap_or(value.name());
    if CAPITAL_CODES.contains(&parent.full_name()) {
        bare.to_owned()
    } else {
        bare.to_ascii_lowercase()
    }
}

/// The prefix every value name of an enum starts with (`EXPLOITATION_TYPE_`).
fn prefix(e: &EnumDescriptor) -> String {
    e.get_value(0)
        .and_then(|zero| zero.name().strip_suffix("UNSPECIFIED").map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use prost_reflect::Kind;

    use super::*;
    use crate::walk::content_messages;

    #[test]
    fn every_field_and_code_of_every_content_message_has_a_label() {
        let mut missing = Vec::new();
        let messages = content_messages().expect("descriptors");
        assert!(messages.len() >= 15, "{} messages", messages.len());
        for message in &messages {
            for f in message.fields() {
                if field(f.full_name()).is_none() {
                    missing.push(format!("field {}", f.full_name()));
                }
                if let Kind::Enum(e) = f.kind() {
                    for v in e.values().filter(|v| v.number() != 0) {
                        if !has_meaning(&v) {
                            missing.push(format!("code {}.{}", e.full_name(), v.name()));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "add these to the label table in view/src/labels.rs:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn codes_are_spelled_as_the_message_files_spell_them() {
        let pool = crate::walk::pool().expect("descriptors");
        let spell = |e: &str, v: &str| {
            let e = pool.get_enum_by_name(e).expect("enum");
            let v = e.get_value_by_name(v).expect("value");
            (spelling(&v), meaning(&v))
        };
        assert_eq!(
            spell(
                "trm.v1.ExploitationType",
                "EXPLOITATION_TYPE_FORCED_BEGGING"
            ),
            ("forced_begging".into(), "forced begging".into())
        );
        assert_eq!(spell("trm.v1.HandlingCode", "HANDLING_CODE_H2").0, "H2");
        assert_eq!(
            spell("trm.v1.SourceReliability", "SOURCE_RELIABILITY_A").0,
            "A"
        );
        assert_eq!(
            spell(
                "trm.v1.ReferralResponse.Decision",
                "DECISION_NEEDS_INFORMATION"
            )
            .0,
            "needs_information"
        );
    }
}
