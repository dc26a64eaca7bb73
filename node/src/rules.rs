//! The rules that protect victims, checked before anything is sealed: consent before
//! disclosure (or an explicit override with its legal basis), a guardian and the child's own
//! view for children, a pre-return risk assessment for every return, and the words each
//! decision of a referral response needs. A refused message is neither sent nor stored.
//! Cooperation with authorities is recorded but never checked here: it is not a condition of
//! assistance (CoE Convention art. 13-14).
//!
//! [`check_received`] holds the rules a received message is refused for too (a REJECTED
//! receipt says why): handling code H3 ("other restrictions") with no restriction written.

use trm_proto::pb;
use trm_proto::pb::body::Content;

/// A rule the message breaks, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RuleError {
    /// The field, e.g. `referral.consent`.
    pub field: String,
    /// What the rule requires.
    pub problem: String,
}

impl RuleError {
    /// A stable key for the rule broken (`rule-consent-missing`), so a console can say it in
    /// its reader's language beside the field; `rule-other` for a rule with no key of its own.
    pub fn key(&self) -> &'static str {
        let last = self.field.rsplit('.').next().unwrap_or_default();
        let says = |words: &str| self.problem.contains(words);
        match last {
            "consent" if says("without a consent record") => "rule-consent-missing",
            "consent" if says("consent was not given") => "rule-consent-override",
            "scope" | "obtained_by_role" | "language" | "obtained_at" => "rule-consent-detail",
            "guardian" => "rule-child-guardian",
            "child_view" => "rule-child-view",
            "child" if says("does not take referrals of children") => "rule-child-not-taken",
            "child" => "rule-child-age",
            "handling_restrictions" => "rule-h3-restrictions",
            "responsible_unit" => "rule-responsible-unit",
            "reason" => "rule-decline-reason",
            "missing_information" => "rule-missing-information",
            "decision" => "rule-decision",
            "answers" => "rule-answer-one",
            "pre_return_risk_assessment" => "rule-return-risk-assessment",
            "voluntary_return_consent" => "rule-return-voluntary",
            "best_interest_determination" => "rule-child-best-interest",
            "legal_basis" => "rule-legal-basis",
            "handling_code" => "rule-handling-code",
            "attachments" => "rule-attachments",
            _ if says("under handling code H2") => "rule-h2-onward",
            _ => "rule-other",
        }
    }
}

fn refuse(field: &str, problem: impl Into<String>) -> RuleError {
    RuleError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// Consent to disclose personal data: given and documented, or overridden with a legal basis.
fn check_consent(field: &str, consent: Option<&pb::ConsentRecord>) -> Result<(), RuleError> {
    let Some(consent) = consent else {
        return Err(refuse(
            field,
            "personal data is disclosed without a consent record; record the victim's consent, or the legal basis for disclosing without it",
        ));
    };
    if consent.given {
        for (name, value) in [
            ("scope", &consent.scope),
            ("obtained_by_role", &consent.obtained_by_role),
            ("language", &consent.language),
        ] {
            if value.trim().is_empty() {
                return Err(refuse(
                    &format!("{field}.{name}"),
                    "must be recorded with the consent",
                ));
            }
        }
        if consent.obtained_at_ms == 0 {
            return Err(refuse(
                &format!("{field}.obtained_at"),
                "must be recorded with the consent",
            ));
        }
        Ok(())
    } else if consent.override_legal_basis.trim().is_empty() {
        Err(refuse(
            field,
            "consent was not given; disclosing without it needs override_legal_basis (the legal basis, shown to auditors)",
        ))
    } else {
        Ok(())
    }
}

fn check_child(
    prefix: &str,
    guardian: Option<&pb::Guardian>,
    consent: Option<&pb::ConsentRecord>,
) -> Result<(), RuleError> {
    let guardian_named =
        guardian.is_some_and(|g| !g.appointed_by.trim().is_empty() && !g.role.trim().is_empty());
    if !guardian_named {
        return Err(refuse(
            &format!("{prefix}.guardian"),
            "a child needs a guardian (appointed_by and role)",
        ));
    }
    if consent.is_some_and(|c| c.given && c.child_view.trim().is_empty()) {
        return Err(refuse(
            &format!("{prefix}.consent.child_view"),
            "the child's own view must be recorded",
        ));
    }
    Ok(())
}

/// The rules both sides enforce, on what is sent and on what is received: H3 means "other
/// restrictions", so a referral, an information request or an information response with H3
/// must write them out, or its reader sees the code with nothing to follow.
pub fn check_received(content: &Content) -> Result<(), RuleError> {
    let (field, code, restrictions) = match content {
        Content::Referral(r) => (
            "referral.handling_restrictions",
            r.handling_code,
            &r.handling_restrictions,
        ),
        Content::InfoRequest(r) => (
            "info_request.handling_restrictions",
            r.handling_code,
            &r.handling_restrictions,
        ),
        Content::InfoResponse(r) => (
            "info_response.handling_restrictions",
            r.handling_code,
            &r.handling_restrictions,
        ),
        _ => return Ok(()),
    };
    if code == i32::from(pb::HandlingCode::H3) && restrictions.trim().is_empty() {
        return Err(refuse(field, "required with handling code H3"));
    }
    Ok(())
}

/// A referral response says what its decision needs: the unit now responsible, the reason
/// for declining, or what is missing.
fn check_response(r: &pb::ReferralResponse) -> Result<(), RuleError> {
    use pb::referral_response::Decision;
    let (field, empty, problem) = match Decision::try_from(r.decision) {
        Ok(Decision::Accepted) => (
            "referral_response.responsible_unit",
            r.responsible_unit.trim().is_empty(),
            "required when the referral is accepted (a role or team, not a person)",
        ),
        Ok(Decision::Declined) => (
            "referral_response.reason",
            r.reason.trim().is_empty(),
            "required when the referral is declined",
        ),
        Ok(Decision::NeedsInformation) => (
            "referral_response.missing_information",
            r.missing_information.iter().all(|m| m.trim().is_empty()),
            "say what is missing",
        ),
        _ => (
            "referral_response.decision",
            true,
            "choose accepted, declined or needs_information",
        ),
    };
    if empty {
        return Err(refuse(field, problem));
    }
    Ok(())
}

/// Checks an outgoing message's content against the rules.
pub fn check(content: &Content) -> Result<(), RuleError> {
    check_received(content)?;
    match content {
        Content::ReferralResponse(r) => check_response(r),
        Content::InformationSupplied(s) => {
            if s.answers.is_empty() {
                return Err(refuse(
                    "information_supplied.answers",
                    "answer at least one item the response said was missing",
                ));
            }
            Ok(())
        }
        Content::Referral(r) => {
            let age = r.person.as_ref().map_or(0, |p| p.age_years);
            if age > 0 && age < 18 && !r.child {
                return Err(refuse(
                    "referral.child",
                    format!("must be set: the person is {age}"),
                ));
            }
            check_consent("referral.consent", r.consent.as_ref())?;
            if r.child {
                check_child("referral", r.guardian.as_ref(), r.consent.as_ref())?;
            }
            Ok(())
        }
        Content::ReturnRequest(r) => {
            if r.pre_return_risk_assessment
                .as_ref()
                .is_none_or(|a| a.assessed_by.trim().is_empty())
            {
                return Err(refuse(
                    "return_request.pre_return_risk_assessment",
                    "a return needs a pre-return risk and security assessment (who assessed, when, the level)",
                ));
            }
            if !r.voluntary_return_consent {
                return Err(refuse(
                    "return_request.voluntary_return_consent",
                    "the return must be voluntary",
                ));
            }
            check_consent("return_request.consent", r.consent.as_ref())?;
            if r.child {
                check_child("return_request", r.guardian.as_ref(), r.consent.as_ref())?;
                if r.best_interest_determination.trim().is_empty() {
                    return Err(refuse(
                        "return_request.best_interest_determination",
                        "a child's return needs a best-interest determination",
                    ));
                }
            }
            Ok(())
        }
        Content::InfoResponse(r) if !r.information.is_empty() => {
            check_consent("info_response.consent", r.consent.as_ref())
        }
        Content::InfoRequest(r) => {
            if r.legal_basis.trim().is_empty() {
                return Err(refuse(
                    "info_request.legal_basis",
                    "a request for case information needs its legal basis",
                ));
            }
            if r.handling_code == i32::from(pb::HandlingCode::Unspecified) {
                return Err(refuse(
                    "info_request.handling_code",
                    "choose H0, H1, H2 or H3",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> pb::ConsentRecord {
        pb::ConsentRecord {
            given: true,
            scope: "referral to Astra".into(),
            obtained_by_role: "caseworker".into(),
            obtained_at_ms: 1,
            language: "sr".into(),
            child_view: "wants to go home".into(),
            ..Default::default()
        }
    }

    fn referral() -> pb::Referral {
        pb::Referral {
            consent: Some(consent()),
            person: Some(pb::PersonData {
                age_years: 24,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn disclosure_needs_consent_or_an_override_with_a_legal_basis() {
        assert_eq!(check(&Content::Referral(referral())), Ok(()));
        let mut none = referral();
        none.consent = None;
        assert_eq!(
            check(&Content::Referral(none)).map_err(|e| e.field),
            Err("referral.consent".into())
        );
        let mut refused = referral();
        refused.consent = Some(pb::ConsentRecord::default());
        assert_eq!(
            check(&Content::Referral(refused.clone())).map_err(|e| e.field),
            Err("referral.consent".into())
        );
        refused.consent = Some(pb::ConsentRecord {
            override_legal_basis: "Law on Foreigners art. 9".into(),
            ..Default::default()
        });
        assert_eq!(check(&Content::Referral(refused)), Ok(()));
        let mut undocumented = referral();
        undocumented.consent = Some(pb::ConsentRecord {
            given: true,
            ..consent()
        });
        if let Some(c) = undocumented.consent.as_mut() {
            c.language.clear();
        }
        assert_eq!(
            check(&Content::Referral(undocumented)).map_err(|e| e.field),
            Err("referral.consent.language".into())
        );
    }

    #[test]
    fn a_child_needs_a_guardian_and_their_view_recorded() {
        let mut child = referral();
        child.person = Some(pb::PersonData {
            age_years: 15,
            ..Default::default()
        });
        assert_eq!(
            check(&Content::Referral(child.clone())).map_err(|e| e.field),
            Err("referral.child".into())
        );
        child.child = true;
        assert_eq!(
            check(&Content::Referral(child.clone())).map_err(|e| e.field),
            Err("referral.guardian".into())
        );
        child.guardian = Some(pb::Guardian {
            appointed_by: "Centre for Social Work Subotica".into(),
            role: "temporary guardian".into(),
            contact_via: "duty phone".into(),
        });
        assert_eq!(check(&Content::Referral(child.clone())), Ok(()));
        if let Some(c) = child.consent.as_mut() {
            c.child_view.clear();
        }
        assert_eq!(
            check(&Content::Referral(child)).map_err(|e| e.field),
            Err("referral.consent.child_view".into())
        );
    }

    #[test]
    fn h3_needs_its_restrictions_written_on_both_sides() {
        let mut h3 = referral();
        h3.handling_code = pb::HandlingCode::H3.into();
        h3.handling_restrictions = "  ".into();
        let refused = Err(refuse(
            "referral.handling_restrictions",
            "required with handling code H3",
        ));
        assert_eq!(check(&Content::Referral(h3.clone())), refused);
        assert_eq!(check_received(&Content::Referral(h3.clone())), refused);
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("referral.handling_restrictions: required with handling code H3".into())
        );
        let response = Content::InfoResponse(pb::InfoResponse {
            handling_code: pb::HandlingCode::H3.into(),
            ..Default::default()
        });
        assert_eq!(
            check_received(&response).map_err(|e| e.field),
            Err("info_response.handling_restrictions".into())
        );
        h3.handling_restrictions = "not to be shown to the employer's embassy".into();
        assert_eq!(check(&Content::Referral(h3)), Ok(()));
    }

    #[test]
    fn a_referral_response_says_what_its_decision_needs() {
        use pb::referral_response::Decision;
        let response = |decision: Decision| pb::ReferralResponse {
            referral_message_id: "r1".into(),
            decision: decision.into(),
            ..Default::default()
        };
        for (decision, field) in [
            (Decision::Accepted, "referral_response.responsible_unit"),
            (Decision::Declined, "referral_response.reason"),
            (
                Decision::NeedsInformation,
                "referral_response.missing_information",
            ),
            (Decision::Unspecified, "referral_response.decision"),
        ] {
            assert_eq!(
                check(&Content::ReferralResponse(response(decision))).map_err(|e| e.field),
                Err(field.to_owned())
            );
        }
        let accepted = pb::ReferralResponse {
            responsible_unit: "Astra reintegration team".into(),
            ..response(Decision::Accepted)
        };
        assert_eq!(check(&Content::ReferralResponse(accepted)), Ok(()));
    }

    #[test]
    fn a_return_needs_a_risk_assessment_and_cooperation_gates_nothing() {
        let mut request = pb::ReturnRequest {
            voluntary_return_consent: true,
            consent: Some(consent()),
            ..Default::default()
        };
        assert_eq!(
            check(&Content::ReturnRequest(request.clone())).map_err(|e| e.field),
            Err("return_request.pre_return_risk_assessment".into())
        );
        request.pre_return_risk_assessment = Some(pb::RiskAssessment {
            assessed_by: "Centre for Social Work Belgrade".into(),
            ..Default::default()
        });
        assert_eq!(check(&Content::ReturnRequest(request)), Ok(()));
        let mut not_cooperating = referral();
        not_cooperating.cooperates_with_authorities = false;
        assert_eq!(check(&Content::Referral(not_cooperating)), Ok(()));
    }
}
