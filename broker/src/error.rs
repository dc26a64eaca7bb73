//! Everything a broker refuses, and the one place where refusals become gRPC statuses.

use tonic::{Code, Status};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::envelope::EnvelopeError;
use trm_proto::receipt::ReceiptError;

use crate::store::StoreError;

/// Why the broker refused a request.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The TLS peer presented no client certificate.
    #[error("no client certificate presented")]
    NoClientCertificate,
    /// The client certificate chains to the CA but is not the one the directory lists.
    #[error("client certificate is not registered in federation directory version {version}")]
    UnknownCertificate {
        /// The directory version consulted.
        version: u64,
    },
    /// A broker certificate was used where a node's is required.
    #[error("broker {0} may not act as a node")]
    NotANode(BrokerName),
    /// The envelope failed parsing or verification.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The TLS peer submitted an envelope in someone else's name.
    #[error("TLS peer {peer} may not submit envelopes from {from}")]
    SenderMismatch {
        /// Who the certificate says the peer is.
        peer: NodeAddr,
        /// Who the envelope says sent it.
        from: NodeAddr,
    },
    /// The addressee is not in the directory.
    #[error("recipient {0} is not in the federation directory")]
    UnknownRecipient(NodeAddr),
    /// The addressee lives on another broker and this broker cannot relay there.
    #[error(
        "recipient {to} is homed on broker {broker}; this broker only delivers to its own nodes"
    )]
    Unroutable {
        /// The addressee.
        to: NodeAddr,
        /// Its home broker.
        broker: BrokerName,
    },
    /// The envelope's delivery window is over.
    #[error("envelope {message_id} expired at {expired_at}")]
    Expired {
        /// Its id.
        message_id: String,
        /// When, RFC 3339.
        expired_at: String,
    },
    /// The sender reused a message id for different content.
    #[error("message id {0} was already used by this sender for a different envelope")]
    MessageIdReused(String),
    /// A node's acknowledgement was wrong.
    #[error("bad acknowledgement for item {sequence}: {problem}")]
    BadAck {
        /// The item acknowledged.
        sequence: u64,
        /// What was wrong.
        problem: String,
    },
    /// A receipt failed verification.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BrokerError> for Status {
    fn from(e: BrokerError) -> Self {
        let code = match &e {
            BrokerError::NoClientCertificate => Code::Unauthenticated,
            BrokerError::UnknownCertificate { .. }
            | BrokerError::NotANode(_)
            | BrokerError::SenderMismatch { .. } => Code::PermissionDenied,
            BrokerError::Envelope(EnvelopeError::TooLarge { .. }) => Code::ResourceExhausted,
            BrokerError::Envelope(EnvelopeError::BadSignature { .. }) => Code::Unauthenticated,
            BrokerError::Envelope(_) | BrokerError::BadAck { .. } | BrokerError::Receipt(_) => {
                Code::InvalidArgument
            }
            BrokerError::UnknownRecipient(_) => Code::NotFound,
            BrokerError::Unroutable { .. } | BrokerError::Expired { .. } => {
                Code::FailedPrecondition
            }
            BrokerError::MessageIdReused(_) => Code::AlreadyExists,
            BrokerError::Store(_) => Code::Unavailable,
        };
        Status::new(code, e.to_string())
    }
}
