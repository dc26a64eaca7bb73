//! Everything the node refuses to do for its local users, and the one place where those
//! refusals become gRPC statuses for `trm`.

use tonic::{Code, Status};

use crate::checkpointer::CheckpointerError;
use crate::seal::SealError;
use crate::store::StoreError;

/// Why the node refused a request from its local user.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The request itself is invalid; the text names the field.
    #[error("{0}")]
    InvalidRequest(String),
    /// Sealing failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The directory in use has expired and no newer one has been adopted yet.
    #[error(
        "federation directory version {version} expired at {expired_at}; ask the broker for a newer one (trm directory search --refresh)"
    )]
    DirectoryExpired {
        /// The version in use.
        version: u64,
        /// When it expired, RFC 3339.
        expired_at: String,
    },
    /// The content breaks a rule that protects the victim.
    #[error(transparent)]
    Rule(#[from] crate::rules::RuleError),
    /// No sharing agreement allows this exchange.
    #[error(transparent)]
    NoAgreement(#[from] trm_proto::directory::AgreementError),
    /// Storage failed, or what was asked for does not exist.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The handover log failed verification when the node started; nothing is exchanged
    /// until an operator has looked at it.
    #[error(
        "the handover log failed verification at startup ({0}); sending and receiving are suspended"
    )]
    LogBroken(String),
    /// Only a national coordinator's node collects checkpoints.
    #[error(
        "{0} is not a national coordinator in the directory; only coordinators collect checkpoints"
    )]
    NotCoordinator(trm_proto::addr::NodeAddr),
    /// The record of witnessed checkpoints could not be read.
    #[error(transparent)]
    Witness(#[from] crate::witness::WitnessError),
    /// A checkpoint of the handover log could not be signed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointerError),
}

impl From<NodeError> for Status {
    fn from(e: NodeError) -> Self {
        let code = match &e {
            NodeError::InvalidRequest(_) => Code::InvalidArgument,
            NodeError::Store(StoreError::Refused(refused)) if refused.is_full() => {
                Code::ResourceExhausted
            }
            NodeError::Seal(SealError::UnknownRecipient(_)) => Code::NotFound,
            NodeError::Seal(SealError::NoContentKey(_)) => Code::Unavailable,
            NodeError::Seal(_) => Code::InvalidArgument,
            NodeError::Store(StoreError::NotFound(_) | StoreError::NoCase(_)) => Code::NotFound,
            NodeError::Store(StoreError::Case(_)) => Code::FailedPrecondition,
            NodeError::Store(StoreError::AmbiguousCase { .. } | StoreError::Id(_)) => {
                Code::InvalidArgument
            }
            NodeError::Store(_) => Code::Unavailable,
            NodeError::LogBroken(_) => Code::FailedPrecondition,
            NodeError::NoAgreement(_) => Code::PermissionDenied,
            NodeError::Checkpoint(CheckpointerError::Store(_)) => Code::Unavailable,
            NodeError::Checkpoint(CheckpointerError::Empty) => Code::FailedPrecondition,
            NodeError::Checkpoint(_) => Code::FailedPrecondition,
            NodeError::Rule(_) => Code::InvalidArgument,
            NodeError::DirectoryExpired { .. } => Code::FailedPrecondition,
            NodeError::NotCoordinator(_) => Code::PermissionDenied,
            NodeError::Witness(_) => Code::Unavailable,
        };
        let mut status = Status::new(code, e.to_string());
        if let Some(reason) = e.reason() {
            status
                .metadata_mut()
                .insert(REASON, tonic::metadata::MetadataValue::from_static(reason));
        }
        if let NodeError::Rule(rule) = &e
            && let Ok(field) = tonic::metadata::MetadataValue::try_from(rule.field.as_str())
        {
            status.metadata_mut().insert(FIELD, field);
        }
        status
    }
}

/// The status metadata naming why the node refused, as a stable key (`rule-consent-missing`,
/// `no-agreement`), so a console can say it in its reader's language.
pub const REASON: &str = "trm-reason";

/// The status metadata naming the field a broken rule is about (`referral.consent`).
pub const FIELD: &str = "trm-field";

impl NodeError {
    /// Why, as a stable key, for the refusals a person can act on; `None` for the others.
    pub fn reason(&self) -> Option<&'static str> {
        Some(match self {
            NodeError::Rule(rule) => rule.key(),
            NodeError::NoAgreement(_) => "no-agreement",
            NodeError::DirectoryExpired { .. } => "directory-expired",
            NodeError::Seal(SealError::UnknownRecipient(_)) => "unknown-recipient",
            NodeError::Store(StoreError::Case(_)) => "case-step-not-allowed",
            NodeError::Store(StoreError::Refused(refused)) if refused.is_full() => "disk-full",
            _ => return None,
        })
    }
}
