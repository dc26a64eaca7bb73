//! The checks every broker makes on an envelope, whether a node submitted it or a peer broker
//! relayed it, and the receipts that follow: all from the header alone,
//! since a broker never opens the ciphertext.

use trm_proto::directory::Directory;
use trm_proto::envelope::{Header, UnverifiedEnvelope, VerifiedEnvelope};
use trm_proto::{pb, receipt, time};

use crate::error::BrokerError;
use crate::state::BrokerState;

/// Checks that the addressee and its home broker are in `directory`, that the sender's
/// signature verifies with its directory keys at `now_ms` (the previous key too during a
/// rotation), that a sharing agreement between sender and addressee covers the message's
/// kind, that the envelope's dates are within bounds (not expired, see ([`check_window`]),
/// and that the directory itself is still in force.
pub fn verify(
    directory: &Directory,
    envelope: UnverifiedEnvelope,
    now_ms: u64,
) -> Result<VerifiedEnvelope, BrokerError> {
    // An expired directory may list revoked nodes: carry nothing under it until a newer one
    // is adopted (the refresh task keeps asking).
    if directory.expires_at_ms() <= now_ms {
        return Err(BrokerError::DirectoryExpired {
            version: directory.version(),
            expired_at: time::format_ms(directory.expires_at_ms()),
        });
    }
    let header = envelope.header();
    let to = &header.to;
    if directory.broker(&to.broker()).is_none() {
        return Err(BrokerError::UnknownBroker {
            broker: to.broker(),
            to: to.clone(),
        });
    }
    if directory.node(to).is_none() {
        return Err(BrokerError::UnknownRecipient(to.clone()));
    }
    let sender = directory
        .node(&header.from)
        .ok_or_else(|| BrokerError::UnknownSender(header.from.clone()))?;
    let envelope = envelope.verify(&sender.signing_keys_at(now_ms))?;
    let header = envelope.header();
    directory.may_send(&header.from, &header.to, header.kind, now_ms)?;
    check_window(header, now_ms)?;
    Ok(envelope)
}

/// The envelope's dates are within the federation's bounds: not expired at `now_ms`, created
/// no later than
/// [`time::MAX_CLOCK_SKEW_MS`] ahead of `now_ms`, and expiring no later than
/// [`time::MAX_ENVELOPE_LIFETIME_MS`] after its creation. The second bound is what lets the
/// duplicate table forget old message ids ([`crate::store::BrokerStore::forget_duplicates`]).
pub fn check_window(header: &Header, now_ms: u64) -> Result<(), BrokerError> {
    if header.expires_at_ms <= now_ms {
        return Err(BrokerError::Expired {
            message_id: header.message_id.to_string(),
            expired_at: time::format_ms(header.expires_at_ms),
        });
    }
    if header.created_at_ms > now_ms.saturating_add(time::MAX_CLOCK_SKEW_MS) {
        return Err(BrokerError::FromTheFuture {
            message_id: header.message_id.to_string(),
            created_at: time::format_ms(header.created_at_ms),
        });
    }
    if header.expires_at_ms
        > header
            .created_at_ms
            .saturating_add(time::MAX_ENVELOPE_LIFETIME_MS)
    {
        return Err(BrokerError::LivesTooLong {
            message_id: header.message_id.to_string(),
            created_at: time::format_ms(header.created_at_ms),
            expires_at: time::format_ms(header.expires_at_ms),
        });
    }
    Ok(())
}

/// This broker's signed receipt of `kind` about the envelope with `header` and `digest`:
/// ACCEPTED, RELAYED, REJECTED (with `reason_code`) for a relay a peer refused for good, or
/// EXPIRED. A broker's receipt carries a code only, never words: it travels through brokers.
pub fn broker_receipt(
    state: &BrokerState,
    kind: pb::ReceiptKind,
    header: &trm_proto::envelope::Header,
    digest: &[u8; 32],
    reason_code: pb::RejectReason,
    now_ms: u64,
) -> pb::SignedReceipt {
    receipt::sign(
        &pb::Receipt {
            kind: kind.into(),
            message_id: header.message_id.to_string(),
            from: header.from.to_string(),
            to: header.to.to_string(),
            envelope_digest: digest.to_vec(),
            signer: state.name.to_string(),
            at_ms: now_ms,
            reason_code: reason_code.into(),
            ..Default::default()
        },
        &state.signing_key,
    )
}
