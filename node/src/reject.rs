//! Why this node refused a delivered message, as the closed list of codes a REJECTED receipt
//! carries (`pb::RejectReason`): the code travels through the brokers, the words stay with
//! the refusal's detail, encrypted to the sender ([`crate::receipt_private`]).

use trm_proto::envelope::EnvelopeError;
use trm_proto::pb;

use crate::cases::CaseError;
use crate::open::OpenError;

/// A refusal: its code, and the detail only the sender reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The code the receipt carries in clear.
    pub code: pb::RejectReason,
    /// What exactly was wrong (which rule, which field), for the sender only.
    pub detail: String,
}

impl Refusal {
    /// A refusal with `code` and the error's words as its detail.
    pub fn new(code: pb::RejectReason, detail: impl std::fmt::Display) -> Self {
        Self {
            code,
            detail: detail.to_string(),
        }
    }
}

impl From<&OpenError> for Refusal {
    fn from(e: &OpenError) -> Self {
        use pb::RejectReason as R;
        let code = match e {
            OpenError::Envelope(EnvelopeError::TooLarge { .. }) => R::TooLarge,
            OpenError::Envelope(EnvelopeError::BadSignature { .. })
            | OpenError::BadBodySignature { .. } => R::BadSignature,
            OpenError::Envelope(_)
            | OpenError::MalformedBody(_)
            | OpenError::BindingMismatch { .. }
            | OpenError::ContentMismatch(_)
            | OpenError::Expired(_)
            | OpenError::FromTheFuture { .. } => R::Malformed,
            OpenError::Misaddressed { .. } => R::Misaddressed,
            OpenError::DirectoryExpired { .. } | OpenError::UnknownSender(_) => R::NotInDirectory,
            OpenError::NoAgreement(_) => R::NoAgreement,
            OpenError::Decrypt(_) => R::Undecryptable,
            OpenError::KeyRetired(_) => R::KeyRetired,
            OpenError::UnknownCodeLists { .. } => R::CodeListsUnknown,
            OpenError::Rule(_) => R::Rule,
        };
        Self::new(code, e)
    }
}

impl From<&CaseError> for Refusal {
    fn from(e: &CaseError) -> Self {
        use pb::RejectReason as R;
        let code = match e {
            CaseError::Ended { .. } => R::ConsentWithdrawn,
            CaseError::OutOfOrder { .. } => R::OutOfOrder,
            CaseError::MissingReference(_) => R::Malformed,
            CaseError::NoSuchItem { .. }
            | CaseError::WrongSide { .. }
            | CaseError::NotTravelled { .. }
            | CaseError::IllegalTransition { .. }
            | CaseError::NothingToUpdate { .. } => R::CaseStep,
        };
        Self::new(code, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_errors_map_to_their_codes() {
        let ended = CaseError::Ended {
            case_ref: "C-1".into(),
            counterparty: "astra@rs".into(),
            why: "consent was withdrawn".into(),
        };
        assert_eq!(
            Refusal::from(&ended).code,
            pb::RejectReason::ConsentWithdrawn
        );
        let late = CaseError::OutOfOrder {
            case_ref: "C-1".into(),
            counterparty: "astra@rs".into(),
            sequence: 2,
            last: 3,
        };
        let refusal = Refusal::from(&late);
        assert_eq!(refusal.code, pb::RejectReason::OutOfOrder);
        assert!(refusal.detail.contains("C-1"), "{}", refusal.detail);
        assert_eq!(
            Refusal::from(&CaseError::MissingReference("x")).code,
            pb::RejectReason::Malformed
        );
    }
}
