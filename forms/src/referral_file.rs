//! The referral file a caseworker fills in (TOML or JSON), its checks, and its conversion to
//! the wire message. Every error names the field, as `referral.person.age_years: ...`.

use serde::Deserialize;
use trm_proto::pb;

pub use crate::problem::Problem;

/// A filled-in referral file: the addressee, the case and the referral.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralFile {
    /// The partner organisation's address, `name@broker`.
    pub to: String,
    /// The pseudonymous case reference.
    pub case_ref: String,
    /// routine, urgent or immediate.
    #[serde(default)]
    pub priority: Priority,
    /// The language the free text is written in (BCP 47, `sr-Latn`); empty: not stated.
    #[serde(default)]
    pub language: String,
    /// The referral itself.
    pub referral: Referral,
}

/// How urgent.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Priority {
    #[default]
    Routine,
    Urgent,
    Immediate,
}

/// Victim status.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum VictimStatus {
    Potential,
    Presumed,
    Identified,
}

/// Exploitation types (002:494-499).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Exploitation {
    Sexual,
    Labour,
    ForcedBegging,
    ForcedCriminality,
    ForcedMarriage,
    DomesticServitude,
    OrganRemoval,
    IllegalAdoption,
    Other,
}

/// Needs.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Need {
    Shelter,
    Medical,
    Psychosocial,
    LegalAid,
    Documents,
    Interpretation,
    Return,
    CompensationClaim,
    FamilyAssessment,
}

/// Sex.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Sex {
    Female,
    Male,
    Other,
}

/// Risk level.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

/// Handling codes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[allow(missing_docs)]
pub enum HandlingCode {
    H0,
    H1,
    H2,
    H3,
}

/// The referral's content.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Referral {
    pub victim_status: VictimStatus,
    pub status_designated_by: String,
    pub status_designated_at: String,
    pub exploitation_types: Vec<Exploitation>,
    pub person: Person,
    #[serde(default)]
    pub child: bool,
    #[serde(default)]
    pub unaccompanied: bool,
    pub guardian: Option<Guardian>,
    #[serde(default)]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub indicator_list_version: String,
    pub risk_assessment: Option<RiskAssessment>,
    #[serde(default)]
    pub needs: Vec<Need>,
    #[serde(default)]
    pub services_given: Vec<String>,
    pub consent: Consent,
    pub handling_code: Option<HandlingCode>,
    #[serde(default)]
    pub handling_restrictions: String,
    #[serde(default)]
    pub cooperates_with_authorities: bool,
    #[serde(default)]
    pub notes: String,
    /// Files to send with the referral, relative to the referral file's folder.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// Minimal person data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Person {
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    pub age_years: Option<u32>,
    #[serde(default)]
    pub date_of_birth: String,
    pub sex: Option<Sex>,
    pub nationality: String,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub interpreter_needed: bool,
    #[serde(default = "yes")]
    pub literate: bool,
}

fn yes() -> bool {
    true
}

/// A child's guardian, as a role or institution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Guardian {
    pub appointed_by: String,
    pub role: String,
    #[serde(default)]
    pub contact_via: String,
}

/// The risk assessment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RiskAssessment {
    pub level: RiskLevel,
    pub assessed_by: String,
    pub assessed_at: String,
    #[serde(default)]
    pub summary: String,
}

/// The consent record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Consent {
    pub given: bool,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub obtained_by_role: String,
    #[serde(default)]
    pub obtained_at: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub interpreter_used: bool,
    #[serde(default)]
    pub guardian_consent: bool,
    #[serde(default)]
    pub child_view: String,
    #[serde(default)]
    pub override_legal_basis: String,
}

/// A problem with a filled-in file, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The field's path, e.g. `referral.person.nationality`.
    pub field: String,
    /// What is wrong: a stable key with its arguments, shown in English by `Display`.
    pub problem: Problem,
}

/// A [`FieldError`] for `field`.
pub fn field_error(field: &str, problem: impl Into<Problem>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Parses JSON text, or an error naming the field it is in (`referral.person.age_years`; for
/// a field the format does not have, that field: `referral.person.eye_colour`).
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FieldError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = match e.path().to_string() {
            path if path == "." => "file".to_owned(),
            path => path,
        };
        field_error(&field, Problem::from_reader(&e.inner().to_string()))
    })?;
    deserializer
        .end()
        .map_err(|e| field_error("file", Problem::new("not-json", e.to_string())))?;
    Ok(parsed)
}

/// A TOML error as the field it is in (`table.key`, from the error's position in `text`) and
/// what is wrong, so a mistyped code or a wrong type names its field like every other check.
pub fn toml_error(text: &str, e: &toml::de::Error) -> FieldError {
    let Some(at) = e.span().map(|span| span.start.min(text.len())) else {
        return field_error("file", Problem::from_reader(e.message()));
    };
    let before = text.get(..at).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_default();
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"'))
        .unwrap_or_default();
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.contains('='))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim())
        .unwrap_or_default();
    let field = match (table, key) {
        (_, "") => "file".to_owned(),
        ("", key) => key.to_owned(),
        (table, key) => format!("{table}.{key}"),
    };
    field_error(&field, Problem::from_reader(e.message()))
}

/// A `YYYY-MM-DD` date as milliseconds since the epoch, or an error naming `field`.
pub fn date(field: &str, text: &str) -> Result<u64, FieldError> {
    trm_proto::time::parse_ms(text).ok_or_else(|| {
        field_error(
            field,
            Problem::new("not-a-date", format!("{text:?} is not a date (YYYY-MM-DD)"))
                .arg("value", text),
        )
    })
}

/// Like [`date`], with an empty text as 0 (not given).
pub fn optional_date(field: &str, text: &str) -> Result<u64, FieldError> {
    if text.is_empty() {
        Ok(0)
    } else {
        date(field, text)
    }
}

/// A two-letter country code, or an error naming `field`.
pub fn country(field: &str, code: &str) -> Result<String, FieldError> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code.to_owned())
    } else {
        Err(field_error(
            field,
            Problem::new(
                "not-a-country",
                format!("{code:?} is not a two-letter country code (ISO 3166-1, XK for Kosovo)"),
            )
            .arg("value", code),
        ))
    }
}

/// A referral's indicators as sent: every code on the shared list
/// ([`trm_proto::indicators`]), and the list's version, which a file may leave out. A stated
/// version other than this build's is refused rather than replaced: the codes were chosen
/// from that list.
pub fn indicators(codes: &[String], version: &str) -> Result<(Vec<String>, String), FieldError> {
    let expected = || {
        trm_proto::indicators::LIST
            .iter()
            .map(|(c, _)| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(unknown) = codes.iter().find(|c| !trm_proto::indicators::known(c)) {
        return Err(field_error(
            "referral.indicators",
            Problem::new(
                "unknown-value",
                format!(
                    "unknown indicator `{unknown}` of the list {}, expected one of {}",
                    trm_proto::indicators::VERSION,
                    expected()
                ),
            )
            .arg("value", unknown)
            .arg("expected", expected()),
        ));
    }
    if !version.is_empty() && version != trm_proto::indicators::VERSION {
        return Err(field_error(
            "referral.indicator_list_version",
            Problem::new(
                "unknown-value",
                format!(
                    "unknown indicator list `{version}`, expected `{}`",
                    trm_proto::indicators::VERSION
                ),
            )
            .arg("value", version)
            .arg("expected", trm_proto::indicators::VERSION),
        ));
    }
    let version = if codes.is_empty() {
        String::new()
    } else {
        trm_proto::indicators::VERSION.to_owned()
    };
    Ok((codes.to_vec(), version))
}

/// An error naming `field` when `text` is blank.
pub fn required(field: &str, text: &str) -> Result<(), FieldError> {
    if text.trim().is_empty() {
        Err(field_error(
            field,
            Problem::new("required", "must not be empty"),
        ))
    } else {
        Ok(())
    }
}

impl ReferralFile {
    /// Parses a file; JSON when `json` is set, otherwise TOML.
    pub fn parse(text: &str, json: bool) -> Result<Self, FieldError> {
        if json {
            from_json(text)
        } else {
            toml::from_str(text).map_err(|e| toml_error(text, &e))
        }
    }

    /// The priority on the wire.
    pub fn priority(&self) -> pb::Priority {
        match self.priority {
            Priority::Routine => pb::Priority::Routine,
            Priority::Urgent => pb::Priority::Urgent,
            Priority::Immediate => pb::Priority::Immediate,
        }
    }

    /// Checks the fields and builds the node's send request for the referral.
    pub fn send_request(&self) -> Result<pb::SendRequest, FieldError> {
        let referral = self.to_pb()?;
        Ok(pb::SendRequest {
            to: self.to.clone(),
            case_ref: self.case_ref.clone(),
            priority: self.priority().into(),
            body: Some(pb::Body {
                content: Some(pb::body::Content::Referral(referral)),
                text_language: self.language.clone(),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
    }

    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::Referral, FieldError> {
        self.to
            .parse::<trm_proto::addr::NodeAddr>()
            .map_err(|e| field_error("to", Problem::new("not-an-address", e.to_string())))?;
        self.case_ref
            .parse::<trm_proto::addr::CaseRef>()
            .map_err(|e| field_error("case_ref", Problem::new("not-a-case-ref", e.to_string())))?;
        crate::language::check("language", &self.language)?;
        let r = &self.referral;
        required("referral.status_designated_by", &r.status_designated_by)?;
        if r.exploitation_types.is_empty() {
            return Err(field_error(
                "referral.exploitation_types",
                Problem::new(
                    "name-one-exploitation",
                    "name at least one (use \"other\" if unclear)",
                ),
            ));
        }
        let p = &r.person;
        if p.age_years.is_none() && p.date_of_birth.is_empty() {
            return Err(field_error(
                "referral.person",
                Problem::new("age-or-birth-date", "give age_years or date_of_birth"),
            ));
        }
        if let Some(age) = p.age_years {
            if age > 120 {
                return Err(field_error(
                    "referral.person.age_years",
                    Problem::new("implausible-age", format!("{age} is not a plausible age"))
                        .arg("value", age.to_string()),
                ));
            }
            if age < 18 && !r.child {
                return Err(field_error(
                    "referral.child",
                    Problem::new(
                        "child-must-be-set",
                        format!("must be true: the person is {age}"),
                    )
                    .arg("age", age.to_string()),
                ));
            }
        }
        if !p.date_of_birth.is_empty() {
            date("referral.person.date_of_birth", &p.date_of_birth)?;
        }
        let consent = &r.consent;
        if consent.given {
            required("referral.consent.scope", &consent.scope)?;
            required(
                "referral.consent.obtained_by_role",
                &consent.obtained_by_role,
            )?;
            date("referral.consent.obtained_at", &consent.obtained_at)?;
        }
        let risk_assessment = r
            .risk_assessment
            .as_ref()
            .map(|a| -> Result<_, FieldError> {
                required("referral.risk_assessment.assessed_by", &a.assessed_by)?;
                Ok(pb::RiskAssessment {
                    level: match a.level {
                        RiskLevel::Low => pb::RiskLevel::Low,
                        RiskLevel::Medium => pb::RiskLevel::Medium,
                        RiskLevel::High => pb::RiskLevel::High,
                    }
                    .into(),
                    assessed_by: a.assessed_by.clone(),
                    assessed_at_ms: date("referral.risk_assessment.assessed_at", &a.assessed_at)?,
                    summary: a.summary.clone(),
                })
            })
            .transpose()?;
        let (indicators, indicator_list_version) =
            indicators(&r.indicators, &r.indicator_list_version)?;
        Ok(pb::Referral {
            victim_status: match r.victim_status {
                VictimStatus::Potential => pb::VictimStatus::Potential,
                VictimStatus::Presumed => pb::VictimStatus::Presumed,
                VictimStatus::Identified => pb::VictimStatus::Identified,
            }
            .into(),
            status_designated_by: r.status_designated_by.clone(),
            status_designated_at_ms: date(
                "referral.status_designated_at",
                &r.status_designated_at,
            )?,
            exploitation_types: r
                .exploitation_types
                .iter()
                .map(|e| exploitation(*e).into())
                .collect(),
            person: Some(pb::PersonData {
                given_name: p.given_name.clone(),
                family_name: p.family_name.clone(),
                age_years: p.age_years.unwrap_or(0),
                date_of_birth: p.date_of_birth.clone(),
                sex: p
                    .sex
                    .map_or(pb::Sex::Unspecified, |s| match s {
                        Sex::Female => pb::Sex::Female,
                        Sex::Male => pb::Sex::Male,
                        Sex::Other => pb::Sex::Other,
                    })
                    .into(),
                nationality: country("referral.person.nationality", &p.nationality)?,
                languages: p.languages.clone(),
                interpreter_needed: p.interpreter_needed,
                literate: p.literate,
            }),
            child: r.child,
            unaccompanied: r.unaccompanied,
            guardian: r.guardian.as_ref().map(|g| pb::Guardian {
                appointed_by: g.appointed_by.clone(),
                role: g.role.clone(),
                contact_via: g.contact_via.clone(),
            }),
            indicators,
            indicator_list_version,
            risk_assessment,
            needs: r.needs.iter().map(|n| need(*n).into()).collect(),
            services_given: r.services_given.clone(),
            consent: Some(pb::ConsentRecord {
                given: consent.given,
                scope: consent.scope.clone(),
                obtained_by_role: consent.obtained_by_role.clone(),
                obtained_at_ms: optional_date(
                    "referral.consent.obtained_at",
                    &consent.obtained_at,
                )?,
                language: consent.language.clone(),
                interpreter_used: consent.interpreter_used,
                guardian_consent: consent.guardian_consent,
                child_view: consent.child_view.clone(),
                override_legal_basis: consent.override_legal_basis.clone(),
            }),
            handling_code: crate::message_file::parts::handling_with(
                "referral",
                r.handling_code,
                &r.handling_restrictions,
            )?,
            handling_restrictions: r.handling_restrictions.clone(),
            cooperates_with_authorities: r.cooperates_with_authorities,
            attachments: Vec::new(),
            notes: r.notes.clone(),
        })
    }
}

fn exploitation(e: Exploitation) -> pb::ExploitationType {
    match e {
        Exploitation::Sexual => pb::ExploitationType::Sexual,
        Exploitation::Labour => pb::ExploitationType::Labour,
        Exploitation::ForcedBegging => pb::ExploitationType::ForcedBegging,
        Exploitation::ForcedCriminality => pb::ExploitationType::ForcedCriminality,
        Exploitation::ForcedMarriage => pb::ExploitationType::ForcedMarriage,
        Exploitation::DomesticServitude => pb::ExploitationType::DomesticServitude,
        Exploitation::OrganRemoval => pb::ExploitationType::OrganRemoval,
        Exploitation::IllegalAdoption => pb::ExploitationType::IllegalAdoption,
        Exploitation::Other => pb::ExploitationType::Other,
    }
}

fn need(n: Need) -> pb::Need {
    match n {
        Need::Shelter => pb::Need::Shelter,
        Need::Medical => pb::Need::Medical,
        Need::Psychosocial => pb::Need::Psychosocial,
        Need::LegalAid => pb::Need::LegalAid,
        Need::Documents => pb::Need::Documents,
        Need::Interpretation => pb::Need::Interpretation,
        Need::Return => pb::Need::Return,
        Need::CompensationClaim => pb::Need::CompensationClaim,
        Need::FamilyAssessment => pb::Need::FamilyAssessment,
    }
}

/// A filled-in example: DOMAIN.md's Serbian woman identified in Austria, referred by LEFÖ-IBF
/// to Astra for return and reintegration. Synthetic: no real person.
pub const TEMPLATE: &str = r#"# A referral: hand a case to a partner organisation across the border.
# Fill in, then: trm send referral --file referral.toml
# Names are optional and usually left out; the case reference is pseudonymous.

to = "astra@rs"                  # the partner's address (trm directory lists them)
case_ref = "AT-LEFOE-2026-0042"  # your pseudonymous case reference, never a name
priority = "urgent"              # routine | urgent | immediate
language = "en"                  # the language the free text is written in (de, sr-Latn, ...)

[referral]
victim_status = "identified"     # potential | presumed | identified
status_designated_by = "Austrian Federal Ministry of Interior, Criminal Intelligence Service"
status_designated_at = "2026-11-03"
exploitation_types = ["sexual"]  # sexual | labour | forced_begging | forced_criminality |
                                 # forced_marriage | domestic_servitude | organ_removal |
                                 # illegal_adoption | other
child = false
unaccompanied = false
indicators = ["deceptive-recruitment", "debt-bondage", "document-retention"]
                                 # the shared list trm-indicators-2026.1: deceptive-recruitment |
                                 # debt-bondage | document-retention | restricted-movement |
                                 # isolation | physical-or-sexual-violence | threats |
                                 # threat-of-denunciation | withheld-wages | excessive-hours |
                                 # degrading-conditions | abuse-of-vulnerability
needs = ["shelter", "psychosocial", "legal_aid", "return", "compensation_claim"]
services_given = ["shelter in Vienna since 2026-10-28", "medical examination", "legal counselling"]
cooperates_with_authorities = true  # recorded only: never a condition of assistance
handling_code = "H2"             # H0 stated purpose only | H1 not for court without permission |
                                 # H2 not to be passed on | H3 see handling_restrictions
notes = "Wishes to return to Serbia; will be called to testify in Vienna in spring."
# attachments = ["risk-assessment.pdf"]  # files sent with it, relative to this file's folder

[referral.person]
# given_name = ""                # usually left out: the case reference is pseudonymous
# family_name = ""
age_years = 24
# date_of_birth = "2002-05-14"   # YYYY-MM-DD, instead of age_years when known
sex = "female"                   # female | male | other
nationality = "RS"               # ISO 3166-1 alpha-2; XK for Kosovo
languages = ["sr"]
interpreter_needed = true
literate = true

# For a child (child = true): the guardian, as a role or an institution, never a name.
# [referral.guardian]
# appointed_by = "Vienna Child and Youth Welfare"
# role = "legal guardian"
# contact_via = "through LEFÖ-IBF"

[referral.risk_assessment]
level = "medium"                 # low | medium | high
assessed_by = "LEFÖ-IBF counselling team"
assessed_at = "2026-11-05"
summary = "Recruiter known to family in origin town; safe accommodation needed on return."

[referral.consent]
given = true
scope = "Referral to Astra for return and reintegration support: age, sex, nationality, needs, risk assessment."
obtained_by_role = "LEFÖ-IBF caseworker"
obtained_at = "2026-11-05"
language = "sr"
interpreter_used = true
# guardian_consent = true        # for a child: the guardian consented too
# child_view = "Wants to go home to her aunt."  # for a child: the child's own view, in its words
# override_legal_basis = ""     # only to disclose without consent: the legal basis, shown to auditors
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_into_a_complete_referral() {
        let file = ReferralFile::parse(TEMPLATE, false).expect("template parses");
        let referral = file.to_pb().expect("template is valid");
        assert_eq!(referral.victim_status, pb::VictimStatus::Identified as i32);
        assert_eq!(
            referral.person.as_ref().map(|p| p.nationality.as_str()),
            Some("RS")
        );
        assert!(referral.consent.as_ref().is_some_and(|c| c.given));
        assert_eq!(file.priority(), pb::Priority::Urgent);
        // The list's version is the node's, written for the caseworker.
        assert_eq!(referral.indicators.len(), 3);
        assert_eq!(
            referral.indicator_list_version,
            trm_proto::indicators::VERSION
        );
    }

    #[test]
    fn the_template_names_every_indicator_of_the_list() {
        for (code, _) in trm_proto::indicators::LIST {
            assert!(TEMPLATE.contains(code), "{code}");
        }
        assert!(TEMPLATE.contains(trm_proto::indicators::VERSION));
    }

    #[test]
    fn indicators_off_the_list_and_other_list_versions_are_refused() {
        let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        let error = indicators(&codes(&["debt-bondage", "I-12"]), "").expect_err("off the list");
        assert_eq!(error.field, "referral.indicators");
        assert_eq!(error.problem.key(), "unknown-value");
        assert_eq!(error.problem.get("value"), Some("I-12"));
        let error = indicators(&codes(&["debt-bondage"]), "trm-indicators-2025.1")
            .expect_err("another list");
        assert_eq!(error.field, "referral.indicator_list_version");
        let stated = indicators(&codes(&["debt-bondage"]), trm_proto::indicators::VERSION)
            .expect("this list");
        assert_eq!(
            stated,
            indicators(&codes(&["debt-bondage"]), "").expect("left out")
        );
        assert_eq!(
            indicators(&[], "").expect("none"),
            (Vec::new(), String::new()),
            "no indicators name no list"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "nationality = \"RS\"",
                "nationality = \"Serbia\"",
                "referral.person.nationality",
            ),
            ("age_years = 24", "age_years = 15", "referral.child"),
            (
                "assessed_at = \"2026-11-05\"",
                "assessed_at = \"05.11.2026\"",
                "referral.risk_assessment.assessed_at",
            ),
            ("to = \"astra@rs\"", "to = \"Astra\"", "to"),
            (
                "obtained_by_role = \"LEFÖ-IBF caseworker\"",
                "obtained_by_role = \"\"",
                "referral.consent.obtained_by_role",
            ),
        ];
        for (from, to, field) in cases {
            let text = TEMPLATE.replace(from, to);
            let error = ReferralFile::parse(&text, false)
                .and_then(|f| f.to_pb())
                .expect_err(to);
            assert_eq!(error.field, field, "{to}: {error}");
        }
        let h3 = TEMPLATE.replace("handling_code = \"H2\"", "handling_code = \"H3\"");
        let error = ReferralFile::parse(&h3, false)
            .and_then(|f| f.to_pb())
            .expect_err("H3 without its restrictions");
        assert_eq!(
            error.to_string(),
            "referral.handling_restrictions: required with handling code H3"
        );
        let unknown = TEMPLATE.replace("sex = \"female\"", "sex = \"femal\"");
        let error = ReferralFile::parse(&unknown, false).expect_err("bad variant");
        assert_eq!(error.field, "referral.person.sex", "{error}");
        assert!(error.problem.to_string().contains("`femal`"), "{error}");
        assert_eq!(error.problem.key(), "unknown-value");
        assert_eq!(error.problem.get("value"), Some("femal"));
    }
}
