//! Everything a broker refuses, and the one place where refusals become gRPC statuses.

use tonic::{Code, Status};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::AgreementError;
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
    /// A node homed on another broker called a node-facing RPC here.
    #[error("{node} is homed on broker {home}, not {here}")]
    NotHomedHere {
        /// The calling node.
        node: NodeAddr,
        /// Its home broker.
        home: BrokerName,
        /// This broker.
        here: BrokerName,
    },
    /// A broker certificate was used where a node's is required.
    #[error("broker {0} may not act as a node")]
    NotANode(BrokerName),
    /// A node certificate was used where a peer broker's is required.
    #[error("node {0} may not act as a broker")]
    NotABroker(NodeAddr),
    /// This broker's own certificate was presented to it.
    #[error("broker {0} is this broker; it does not relay to itself")]
    NotAPeer(BrokerName),
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
    /// A peer broker relayed an envelope from a node homed elsewhere.
    #[error("broker {peer} may not relay envelopes from {from}, whose home broker is {home}")]
    NotTheSendersBroker {
        /// The relaying broker.
        peer: BrokerName,
        /// The envelope's sender.
        from: NodeAddr,
        /// The sender's home broker.
        home: BrokerName,
    },
    /// The sender of a relayed envelope is not in the directory.
    #[error("sender {0} is not in the federation directory")]
    UnknownSender(NodeAddr),
    /// The signer of a relayed receipt is not in the directory.
    #[error("receipt signer {0} is not in the federation directory")]
    UnknownSigner(NodeAddr),
    /// The addressee's home broker is not in the directory.
    #[error("recipient {to} is homed on broker {broker}, which is not in the federation directory")]
    UnknownBroker {
        /// The addressee.
        to: NodeAddr,
        /// The broker its address names.
        broker: BrokerName,
    },
    /// The addressee is not in the directory.
    #[error("recipient {0} is not in the federation directory")]
    UnknownRecipient(NodeAddr),
    /// A peer broker relayed an envelope for a node that is not homed on this broker.
    #[error("recipient {to} is homed on broker {home}, not on this broker {here}")]
    Misrouted {
        /// The addressee.
        to: NodeAddr,
        /// Its home broker.
        home: BrokerName,
        /// This broker.
        here: BrokerName,
    },
    /// No sharing agreement lets the two organisations exchange this kind of message.
    #[error(transparent)]
    Agreement(#[from] AgreementError),
    /// The directory in use has expired and no newer one has been adopted yet.
    #[error(
        "federation directory version {version} expired at {expired_at}; waiting for a newer one"
    )]
    DirectoryExpired {
        /// The version in use.
        version: u64,
        /// When it expired, RFC 3339.
        expired_at: String,
    },
    /// The envelope's delivery window is over.
    #[error("envelope {message_id} expired at {expired_at}")]
    Expired {
        /// Its id.
        message_id: String,
        /// When, RFC 3339.
        expired_at: String,
    },
    /// The envelope claims a creation time further ahead than clocks may differ.
    #[error(
        "envelope {message_id} was created at {created_at}, more than {} minutes in the future",
        trm_proto::time::MAX_CLOCK_SKEW_MS / 60_000
    )]
    FromTheFuture {
        /// Its id.
        message_id: String,
        /// The creation time it claims, RFC 3339.
        created_at: String,
    },
    /// The envelope would live longer than the federation allows.
    #[error(
        "envelope {message_id} expires at {expires_at}, more than {} days after its creation \
         at {created_at}",
        trm_proto::time::MAX_ENVELOPE_LIFETIME_MS / 86_400_000
    )]
    LivesTooLong {
        /// Its id.
        message_id: String,
        /// Its creation time, RFC 3339.
        created_at: String,
        /// Its expiry, RFC 3339.
        expires_at: String,
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
    /// A relayed item holds neither an envelope nor a receipt.
    #[error("relay item holds neither an envelope nor a receipt")]
    EmptyRelayItem,
    /// A receipt relayed by a peer broker cannot be routed.
    #[error("relayed receipt for message {message_id}: {problem}")]
    BadRelayedReceipt {
        /// The message it claims to be about.
        message_id: String,
        /// What is wrong.
        problem: String,
    },
    /// A peer broker uses a newer directory than this broker, which may allow what this
    /// broker's would refuse: the batch is refused whole, to be retried after a refresh.
    #[error(
        "this broker uses directory version {ours}, older than version {theirs} of broker \
         {peer}; refreshing, retry later"
    )]
    DirectoryBehind {
        /// The relaying broker.
        peer: BrokerName,
        /// The version in use here.
        ours: u64,
        /// The relaying broker's version.
        theirs: u64,
    },
    /// A quota of this broker is used up (see `[quotas]`).
    #[error("quota reached: {quota}, limit {limit}")]
    QuotaExceeded {
        /// Which quota.
        quota: &'static str,
        /// Its limit, in words.
        limit: String,
    },
    /// The data folder's filesystem is below the free-space watermark.
    #[error(
        "the broker's data folder {folder} has {free} free, below the minimum of {minimum}; \
         new envelopes are refused until deliveries free space"
    )]
    DiskLow {
        /// The data folder.
        folder: String,
        /// Its free space.
        free: String,
        /// The watermark.
        minimum: String,
    },
    /// The free space of the data folder could not be read.
    #[error("cannot read the free space of the broker's data folder {folder}: {cause}")]
    DiskUnreadable {
        /// The data folder.
        folder: String,
        /// The system's error.
        cause: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BrokerError {
    /// The gRPC status code of this refusal: the one mapping, also used for the per-item
    /// refusals in a relay answer.
    pub fn code(&self) -> Code {
        match self {
            BrokerError::NoClientCertificate => Code::Unauthenticated,
            BrokerError::Store(StoreError::Refused(refused)) if refused.is_full() => {
                Code::ResourceExhausted
            }
            BrokerError::UnknownCertificate { .. }
            | BrokerError::NotANode(_)
            | BrokerError::NotHomedHere { .. }
            | BrokerError::NotABroker(_)
            | BrokerError::NotAPeer(_)
            | BrokerError::SenderMismatch { .. }
            | BrokerError::NotTheSendersBroker { .. }
            | BrokerError::UnknownSender(_)
            | BrokerError::UnknownSigner(_)
            | BrokerError::Agreement(_) => Code::PermissionDenied,
            // Final: the same envelope never fits (RESOURCE_EXHAUSTED would say "not now").
            BrokerError::Envelope(EnvelopeError::TooLarge { .. }) => Code::OutOfRange,
            BrokerError::QuotaExceeded { .. } | BrokerError::DiskLow { .. } => {
                Code::ResourceExhausted
            }
            BrokerError::Envelope(EnvelopeError::BadSignature { .. }) => Code::Unauthenticated,
            BrokerError::Envelope(_)
            | BrokerError::BadAck { .. }
            | BrokerError::Receipt(_)
            | BrokerError::EmptyRelayItem
            | BrokerError::FromTheFuture { .. }
            | BrokerError::LivesTooLong { .. }
            | BrokerError::BadRelayedReceipt { .. } => Code::InvalidArgument,
            BrokerError::UnknownRecipient(_) | BrokerError::UnknownBroker { .. } => Code::NotFound,
            BrokerError::Misrouted { .. } | BrokerError::Expired { .. } => Code::FailedPrecondition,
            BrokerError::DirectoryExpired { .. } => Code::Unavailable,
            BrokerError::MessageIdReused(_) => Code::AlreadyExists,
            BrokerError::Store(_)
            | BrokerError::DirectoryBehind { .. }
            | BrokerError::DiskUnreadable { .. } => Code::Unavailable,
        }
    }

    /// Whether this refusal may go away without the item changing: a storage failure, a disk
    /// below the free-space watermark, or a directory this broker has not caught up with yet.
    /// Such a refusal fails a whole relay batch (to be retried) instead of refusing one item
    /// for good: a full disk must not turn a partner's referrals into signed refusals.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BrokerError::Store(_)
                | BrokerError::DirectoryBehind { .. }
                | BrokerError::DiskUnreadable { .. }
                | BrokerError::DiskLow { .. }
        )
    }

    /// Whether a newer directory could lift this refusal (an unknown node, a new key, a new
    /// agreement).
    pub fn depends_on_directory(&self) -> bool {
        matches!(
            self,
            BrokerError::UnknownSender(_)
                | BrokerError::UnknownSigner(_)
                | BrokerError::UnknownRecipient(_)
                | BrokerError::UnknownBroker { .. }
                | BrokerError::Agreement(_)
                | BrokerError::Envelope(EnvelopeError::BadSignature { .. })
                | BrokerError::Receipt(ReceiptError::BadSignature { .. })
        )
    }
}

impl From<BrokerError> for Status {
    fn from(e: BrokerError) -> Self {
        Status::new(e.code(), e.to_string())
    }
}
