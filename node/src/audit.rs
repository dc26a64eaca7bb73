//! The yes/no facts about a message that its handover-log entry records for auditors.
//! Derived from the content once, when it is sealed or opened; never the content itself.

use trm_proto::pb;
use trm_proto::pb::body::Content;

fn consent_flags(consent: Option<&pb::ConsentRecord>) -> (bool, bool) {
    (
        consent.is_some_and(|c| c.given),
        consent.is_some_and(|c| !c.override_legal_basis.is_empty()),
    )
}

fn guardian_named(guardian: Option<&pb::Guardian>) -> bool {
    guardian.is_some_and(|g| !g.appointed_by.trim().is_empty())
}

/// The audit flags of a body sent with `priority` (the envelope header's).
pub fn flags(body: &pb::Body, priority: pb::Priority) -> pb::AuditFlags {
    pb::AuditFlags {
        priority: priority.into(),
        ..content_flags(body)
    }
}

/// The flags the body's content sets.
fn content_flags(body: &pb::Body) -> pb::AuditFlags {
    let Some(content) = &body.content else {
        return pb::AuditFlags::default();
    };
    match content {
        Content::Referral(referral) => {
            let (consent_given, consent_overridden) = consent_flags(referral.consent.as_ref());
            pb::AuditFlags {
                consent_given,
                consent_overridden,
                child: referral.child,
                risk_assessment_present: referral.risk_assessment.is_some(),
                handling_code: referral.handling_code,
                guardian_recorded: guardian_named(referral.guardian.as_ref()),
                ..Default::default()
            }
        }
        Content::ReturnRequest(request) => {
            let (consent_given, consent_overridden) = consent_flags(request.consent.as_ref());
            pb::AuditFlags {
                consent_given,
                consent_overridden,
                child: request.child,
                risk_assessment_present: request.pre_return_risk_assessment.is_some(),
                handling_code: pb::HandlingCode::Unspecified.into(),
                guardian_recorded: guardian_named(request.guardian.as_ref()),
                ..Default::default()
            }
        }
        Content::InfoRequest(request) => pb::AuditFlags {
            handling_code: request.handling_code,
            ..Default::default()
        },
        Content::InfoResponse(response) => {
            let (consent_given, consent_overridden) = consent_flags(response.consent.as_ref());
            pb::AuditFlags {
                consent_given,
                consent_overridden,
                handling_code: response.handling_code,
                ..Default::default()
            }
        }
        Content::ReferralResponse(response) => pb::AuditFlags {
            decision: response.decision,
            ..Default::default()
        },
        Content::CaseUpdate(update) => {
            let status = update.status.trim().to_ascii_lowercase();
            pb::AuditFlags {
                closes_case: status == crate::cases::STATUS_CLOSED,
                records_travel: status == crate::cases::STATUS_TRAVELLED,
                ..Default::default()
            }
        }
        Content::InformationSupplied(_)
        | Content::ReturnConfirmation(_)
        | Content::FollowUp(_)
        | Content::ConsentWithdrawal(_)
        | Content::WitnessRequest(_) => pb::AuditFlags::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(status: &str) -> pb::Body {
        pb::Body {
            content: Some(Content::CaseUpdate(pb::CaseUpdate {
                status: status.into(),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn a_case_update_records_closing_and_travel_and_every_message_its_priority() {
        let closed = flags(&update(" Closed "), pb::Priority::Urgent);
        assert!(closed.closes_case && !closed.records_travel);
        assert_eq!(closed.priority, i32::from(pb::Priority::Urgent));
        let travelled = flags(&update("travelled"), pb::Priority::Routine);
        assert!(travelled.records_travel && !travelled.closes_case);
        // Any other status is content, which the log never holds.
        assert_eq!(
            flags(&update("court hearing moved"), pb::Priority::Routine),
            pb::AuditFlags {
                priority: pb::Priority::Routine.into(),
                ..Default::default()
            }
        );
    }
}
