//! The yes/no facts about a message that its handover-log entry records for auditors.
//! Derived from the content once, when it is sealed or opened; never the content itself.

use trm_proto::pb;

/// The audit flags of a body.
pub fn flags(body: &pb::Body) -> pb::AuditFlags {
    match &body.content {
        Some(pb::body::Content::Referral(referral)) => {
            let consent = referral.consent.as_ref();
            pb::AuditFlags {
                consent_given: consent.is_some_and(|c| c.given),
                consent_overridden: consent.is_some_and(|c| !c.override_legal_basis.is_empty()),
                child: referral.child,
                risk_assessment_present: referral.risk_assessment.is_some(),
                handling_code: referral.handling_code,
            }
        }
        None => pb::AuditFlags::default(),
    }
}
