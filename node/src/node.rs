//! The node's core operations, independent of transport: send (seal, store, queue), receive
//! (open, store, log, receipt) and record receipts for what it sent. The daemon's tasks and the
//! admin service call these.
//!
//! [`Node`]'s parts are private: other modules get what they need through narrow methods (the
//! directory handle, the store, the node's address...), never its private keys; the store
//! records, the node signs (its DELIVERED receipts, its checkpoints, its cosignatures).

use prost::Message;
use tokio::sync::Notify;
use tracing::{debug, info, warn};
use trm_log::checkpoint;
use trm_proto::addr::{MessageId, NodeAddr};
use trm_proto::directory::{AgreementError, DirectoryHandle};
use trm_proto::{envelope, pb, receipt, time};

use crate::audit;
use crate::checkpointer::{Checkpointer, SignedCheckpoint};
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::keys::NodeKeys;
use crate::open;
use crate::reject::Refusal;
use crate::seal::{self, Draft};
use crate::store::{Delivered, EntryFacts, NodeStore, StoreError};

/// What `send` returns once the message is on disk.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// The new message's id.
    pub message_id: MessageId,
    /// SHA-256 of its header bytes.
    pub digest: envelope::EnvelopeDigest,
    /// Its SENT entry in the handover log.
    pub log_index: u64,
}

/// One organisation's node.
pub struct Node {
    /// Identity and private keys.
    keys: NodeKeys,
    /// The verified directory in use; the refresh task replaces it with newer versions.
    directory: DirectoryHandle,
    /// Durable state.
    store: NodeStore,
    /// Largest envelope sent or accepted.
    max_envelope_bytes: usize,
    /// How long sent messages stay deliverable.
    message_ttl_ms: u64,
    /// Wakes the outbox task when something is queued or the broker is back.
    outbox_wake: Notify,
    /// Set when the handover log failed verification at startup.
    log_broken: Option<String>,
    /// The pinned federation authority key, which every directory must be signed with.
    authority_key: ed25519_dalek::VerifyingKey,
    /// The federation's name.
    federation: String,
    /// The data folder (the adopted directory is kept there).
    data_dir: std::path::PathBuf,
    /// The Merkle tree over the handover log and its signed checkpoints; `None` when it could
    /// not be built (then `log_broken` says why).
    checkpointer: Option<Checkpointer>,
    /// Serialises adopting a directory and writing it to the data folder.
    directory_persist: std::sync::Mutex<()>,
    /// The certificates of the directory in use, which the TLS handshake with a broker checks.
    pins: std::sync::Arc<trm_tls::Pins>,
    /// Due times of open items.
    deadlines: crate::deadlines::Deadlines,
    /// How long a case's content is kept after its last message, in ms; 0 keeps it.
    retention_ms: u64,
    /// Size limits of attachments, sent and received.
    attachment_limits: trm_proto::attachment::Limits,
    /// How many refusals of one sender get a log entry each.
    refusals: crate::refusal_log::RefusalLog,
    /// Sent, received and refused messages, for the metrics page.
    metrics: crate::metrics::Counters,
    /// This node's content keys and its partners' (see [`crate::epochs`]).
    content_keys: crate::epochs::ContentKeys,
    /// People's accounts, sessions and systems' API tokens.
    accounts: crate::accounts::Accounts,
    /// The organisation's webhooks and their notification queue.
    webhooks: crate::webhooks::Webhooks,
    /// Serialises sends within one case (their steps' numbers).
    case_locks: crate::case_locks::CaseLocks,
}

impl Node {
    /// Assembles a node from its configuration and opened store, verifying the handover log.
    pub fn new(config: &NodeConfig, store: NodeStore) -> Self {
        let mut log_broken = match store.verify_log() {
            Ok(summary) => {
                info!(entries = summary.entries, head = %hex::encode(summary.head), "handover log verified");
                None
            }
            Err(e) => {
                warn!(cause = %e, "handover log failed verification; exchange suspended");
                Some(e.to_string())
            }
        };
        let federation = config.directory.federation().to_owned();
        let checkpointer = checkpoint::node_origin(&federation, &config.keys.address)
            .map_err(crate::checkpointer::CheckpointerError::from)
            .and_then(|origin| Checkpointer::open(&store, &origin, config.keys.signing.clone()));
        let checkpointer = match checkpointer {
            Ok(checkpointer) => {
                if let Some(e) = checkpointer.diverged() {
                    warn!(cause = %e, "handover log does not extend its signed checkpoints; exchange suspended");
                    log_broken.get_or_insert(e.to_string());
                }
                Some(checkpointer)
            }
            Err(e) => {
                warn!(cause = %e, "handover log tree not built; exchange suspended");
                log_broken.get_or_insert(e.to_string());
                None
            }
        };
        let expired = time::now_ms().saturating_sub(config.message_ttl_ms);
        if let Err(e) = store.prune_idempotency_keys(expired) {
            warn!(cause = %e, "could not forget expired idempotency keys");
        }
        let webhooks = crate::webhooks::Webhooks::new(
            store.clone(),
            config.keys.address.to_string(),
            config.webhooks.clone(),
        );
        Self {
            content_keys: crate::epochs::ContentKeys::open(
                &config.data_dir,
                config.keys.address.clone(),
                config.keys.signing.clone(),
                config.content_keys,
            ),
            webhooks,
            keys: config.keys.clone(),
            directory: DirectoryHandle::new(config.directory.clone()),
            accounts: crate::accounts::Accounts::new(
                store.clone(),
                config.accounts,
                config.keys.address.as_str(),
            ),
            store,
            max_envelope_bytes: config.max_envelope_bytes,
            message_ttl_ms: config.message_ttl_ms,
            outbox_wake: Notify::new(),
            log_broken,
            authority_key: config.authority_key,
            federation,
            data_dir: config.data_dir.clone(),
            checkpointer,
            directory_persist: std::sync::Mutex::new(()),
            pins: std::sync::Arc::new(trm_tls::Pins::new(std::sync::Arc::new(
                config.directory.clone(),
            ))),
            deadlines: config.deadlines.clone(),
            retention_ms: config.retention_ms,
            attachment_limits: config.attachments,
            refusals: crate::refusal_log::RefusalLog::default(),
            metrics: crate::metrics::Counters::default(),
            case_locks: crate::case_locks::CaseLocks::default(),
        }
    }

    /// People's accounts, sessions and systems' API tokens.
    pub fn accounts(&self) -> &crate::accounts::Accounts {
        &self.accounts
    }

    /// The organisation's webhooks.
    pub fn webhooks(&self) -> &crate::webhooks::Webhooks {
        &self.webhooks
    }

    /// This node's content keys and its partners'.
    pub fn content_keys(&self) -> &crate::epochs::ContentKeys {
        &self.content_keys
    }

    /// Sent, received and refused messages since the node started.
    pub fn metrics(&self) -> &crate::metrics::Counters {
        &self.metrics
    }

    /// This node's address.
    pub fn address(&self) -> &NodeAddr {
        &self.keys.address
    }

    /// The verified directory in use (a handle the refresh task updates).
    pub fn directory(&self) -> &DirectoryHandle {
        &self.directory
    }

    /// The broker certificates the TLS handshake accepts: those of the directory in use, once
    /// [`Node::follow_directory`] is called after each adoption.
    pub fn pins(&self) -> &std::sync::Arc<trm_tls::Pins> {
        &self.pins
    }

    /// Pins the certificates of the directory in use (after a newer one is adopted).
    pub fn follow_directory(&self) {
        self.pins.update(self.directory.current());
    }

    /// The node's durable state.
    pub fn store(&self) -> &NodeStore {
        &self.store
    }

    /// The size limits of attachments, sent and received.
    pub fn attachment_limits(&self) -> trm_proto::attachment::Limits {
        self.attachment_limits
    }

    /// The federation's name.
    pub fn federation(&self) -> &str {
        &self.federation
    }

    /// The pinned federation authority key, which every directory must be signed with.
    pub fn authority_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.authority_key
    }

    /// The data folder (the adopted directory is kept there).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Held while adopting a directory and writing it to the data folder.
    pub fn directory_persist(&self) -> std::sync::MutexGuard<'_, ()> {
        self.directory_persist
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Due times of open items.
    pub fn deadlines(&self) -> &crate::deadlines::Deadlines {
        &self.deadlines
    }

    /// How long a case's content is kept after its last message, in ms; 0 keeps it.
    pub fn retention_ms(&self) -> u64 {
        self.retention_ms
    }

    /// Why the handover log failed verification at startup, if it did.
    pub fn log_broken(&self) -> Option<&str> {
        self.log_broken.as_deref()
    }

    /// Wakes the outbox task when something is queued or the broker is back.
    pub fn outbox_wake(&self) -> &Notify {
        &self.outbox_wake
    }

    /// Signs a checkpoint of the handover log at its current size if it grew since the last
    /// one (stored and on disk before this returns); answers the latest checkpoint. Refused
    /// while the log is broken: a checkpoint would vouch for entries that failed verification.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, NodeError> {
        self.check_log()?;
        let checkpointer = self.checkpointer.as_ref().ok_or_else(|| {
            NodeError::LogBroken("the handover log's Merkle tree is not available".into())
        })?;
        Ok(checkpointer.checkpoint(&self.store).await?)
    }

    /// The origin of this node's checkpoints and the C2SP verifier key that checks them.
    pub fn verifier_key(&self) -> Result<(String, String), NodeError> {
        crate::witness::verifier_key(
            &self.federation,
            &self.keys.address,
            self.keys.signing.verifying_key(),
        )
        .map_err(|e| NodeError::Checkpoint(e.into()))
    }

    fn check_log(&self) -> Result<(), NodeError> {
        match &self.log_broken {
            Some(problem) => Err(NodeError::LogBroken(problem.clone())),
            None => Ok(()),
        }
    }

    /// Seals a message, stores it with its SENT log entry and queues it; returns once on disk.
    /// The case state machine runs in the store's transaction: an illegal step is refused
    /// there, with nothing stored, logged or queued. With a `claim`, its idempotency key is
    /// recorded in that same transaction.
    pub async fn send(
        &self,
        mut draft: Draft,
        actor: &str,
        claim: Option<&crate::store::idempotency::Claim>,
    ) -> Result<SendOutcome, NodeError> {
        self.check_log()?;
        let now = time::now_ms();
        crate::rules::check(&draft.content)?;
        crate::attachments::check(&draft.content, &self.attachment_limits)?;
        // A closing update names what it closes, as this node's case holds it now.
        let (case_ref, to) = (draft.case_ref.clone(), draft.to.clone());
        crate::cases::name_closed_items(&mut draft.content, || {
            self.store.case(case_ref.as_str(), to.as_str()).ok()
        });
        let directory = self.directory.current();
        if directory.expires_at_ms() <= now {
            return Err(NodeError::DirectoryExpired {
                version: directory.version(),
                expired_at: time::format_ms(directory.expires_at_ms()),
            });
        }
        let kind = seal::kind_of(&draft.content);
        directory
            .may_send(&self.keys.address, &draft.to, kind, now)
            .map_err(|e| match e {
                // An unknown addressee is the clearer error.
                AgreementError::None { .. } if directory.node(&draft.to).is_none() => {
                    NodeError::Seal(seal::SealError::UnknownRecipient(draft.to.clone()))
                }
                e => NodeError::NoAgreement(e),
            })?;
        if let pb::body::Content::Referral(referral) = &draft.content {
            let accepts = directory
                .node(&draft.to)
                .is_some_and(|n| n.accepts_child_referrals);
            if referral.child && !accepts {
                return Err(crate::rules::RuleError {
                    field: "referral.child".into(),
                    problem: format!(
                        "{} does not take referrals of children (federation directory); find a partner with `trm directory search --children`",
                        draft.to
                    ),
                }
                .into());
            }
        }
        crate::handling::check_onward_in(&self.store, &draft.content, draft.to.as_str())??;
        let witnessed = crate::witness::witnessed_size(&self.store, &draft.to);
        // The step's number in its case: read, sealed and stored under the case's lock, so
        // two sends in one case cannot take the same number.
        let case_traffic = crate::cases::is_case_traffic(&draft.content);
        let _case_lock = if case_traffic {
            self.case_locks.lock(case_ref.as_str(), to.as_str()).await
        } else {
            None
        };
        let case_sequence = if case_traffic {
            self.store
                .next_case_sequence(to.as_str(), case_ref.as_str())?
        } else {
            0
        };
        let content_key = self
            .content_keys
            .partners()
            .key_for(&draft.to, &directory, self.content_keys.channel(), now)
            .await
            .map_err(seal::SealError::from)?;
        let sealed = match content_key {
            Some(key) => seal::seal_to(
                &self.keys,
                &key,
                draft,
                now,
                self.message_ttl_ms,
                witnessed,
                case_sequence,
            )?,
            None => seal::seal_witnessed(
                &self.keys,
                &directory,
                draft,
                now,
                self.message_ttl_ms,
                witnessed,
                case_sequence,
            )?,
        };
        let size = sealed.envelope.encoded_len();
        if size > self.max_envelope_bytes {
            return Err(NodeError::InvalidRequest(format!(
                "sealed message is {size} bytes, the limit is {}; send large attachments separately",
                self.max_envelope_bytes
            )));
        }
        let facts = EntryFacts {
            header: &sealed.header,
            digest: &sealed.digest,
            case_ref: &sealed.body.case_ref,
            flags: audit::flags(&sealed.body, sealed.header.priority),
            content: sealed.body.content.as_ref(),
            sequence: sealed.body.case_sequence,
        };
        let log_index = self
            .store
            .record_sent(
                &sealed.envelope,
                &facts,
                &sealed.signed_body,
                now,
                actor,
                claim,
            )
            .await?;
        self.outbox_wake.notify_one();
        self.metrics.sent();
        info!(id = %sealed.header.message_id, to = %sealed.header.to, log_index, "message queued");
        Ok(SendOutcome {
            message_id: sealed.header.message_id,
            digest: sealed.digest,
            log_index,
        })
    }

    /// The verified body of a message this node stored, or `None` when its content was erased.
    pub fn read_stored(&self, stored: &pb::StoredMessage) -> Result<Option<pb::Body>, NodeError> {
        let signed_body = match self.store.content(stored) {
            Ok(signed_body) => signed_body,
            Err(StoreError::Vault(crate::vault::VaultError::Erased)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let envelope = stored.envelope.clone().unwrap_or_default();
        let opened = open::open_stored(&envelope, signed_body)
            .map_err(|e| NodeError::InvalidRequest(format!("stored message does not open: {e}")))?;
        Ok(Some(opened.body))
    }

    /// Handles an envelope the broker delivered: on success it is stored and logged and a
    /// DELIVERED receipt returned; otherwise the refusal is logged and a REJECTED receipt
    /// returned. Either way the receipt is only returned once on disk. Deliveries of a batch may
    /// be handled concurrently: their writes share the store's flushes.
    pub async fn receive(&self, envelope: pb::Envelope) -> Result<pb::SignedReceipt, NodeError> {
        self.check_log()?;
        let now = time::now_ms();
        let raw_header = pb::EnvelopeHeader::decode(envelope.header.as_slice()).unwrap_or_default();
        let digest = envelope::digest(&envelope.header);
        // Witnessing: the receipt carries the latest checkpoint, with a consistency proof from
        // the size the sender last witnessed when the body says it (see `crate::witness`).
        let witness = |witnessed_size: u64| {
            crate::witness::attachment(&self.store, self.checkpointer.as_ref(), witnessed_size)
        };
        let template = pb::Receipt {
            message_id: raw_header.message_id.clone(),
            from: raw_header.from.clone(),
            to: self.keys.address.to_string(),
            envelope_digest: digest.to_vec(),
            signer: self.keys.address.to_string(),
            at_ms: now,
            ..Default::default()
        };
        // The receipt carries in clear only what brokers route by (and a refusal's code); the
        // log index, checkpoint, proof, erasure count and detail go to the sender encrypted.
        let receipt_for = |kind: pb::ReceiptKind,
                           code: pb::RejectReason,
                           private: pb::ReceiptPrivate,
                           attachment: crate::witness::Attachment| {
            let mut receipt = template.clone();
            receipt.kind = kind.into();
            receipt.reason_code = code.into();
            let private = pb::ReceiptPrivate {
                checkpoint: attachment.checkpoint,
                consistency_from: attachment.consistency_from,
                consistency_proof: attachment.consistency_proof,
                ..private
            };
            match crate::receipt_private::seal(private, &self.directory.current(), &raw_header.from)
            {
                Ok(sealed) => {
                    receipt.sealed_for_sender = sealed.ciphertext;
                    receipt.private_sha256 = sealed.digest;
                }
                // A sender the directory does not list cannot read it anyway: the code stays.
                Err(e) => {
                    debug!(id = %raw_header.message_id, cause = %e, "receipt without a part for its sender");
                }
            }
            receipt::sign(&receipt, &self.keys.signing)
        };
        // A refused delivery is logged (nothing of its content kept) and answered REJECTED.
        let refuse = async |refusal: Refusal| -> Result<pb::SignedReceipt, NodeError> {
            // The detail may name a case (an illegal case step): only at DEBUG, never above.
            warn!(id = %raw_header.message_id, from = %raw_header.from, code = ?refusal.code, "refused delivered envelope; the reason is in the handover log");
            debug!(id = %raw_header.message_id, cause = %refusal.detail, "refused delivered envelope");
            self.metrics.refused();
            // Bounded: a flood of bad envelopes gets a few entries per sender and a count.
            let entry = self
                .refusals
                .entry(&raw_header.from, &self.directory.current());
            let index = match &entry {
                crate::refusal_log::Entry::Skip { index } => *index,
                crate::refusal_log::Entry::Log { .. } => {
                    let logged = entry.reason(&refusal.detail);
                    let index = self
                        .store
                        .record_refused(&raw_header, &digest, now, &logged)
                        .await?;
                    self.refusals.logged(&entry, index);
                    index
                }
            };
            Ok(receipt_for(
                pb::ReceiptKind::Rejected,
                refusal.code,
                pb::ReceiptPrivate {
                    log_index: index,
                    detail: refusal.detail,
                    ..Default::default()
                },
                witness(0),
            ))
        };
        let opened = open::open_with(
            &self.keys,
            |key_id| self.content_keys.identity(key_id),
            &self.directory.current(),
            envelope.clone(),
            self.max_envelope_bytes,
        );
        let opened = match opened {
            Ok(opened) => opened,
            Err(e) => return refuse(Refusal::from(&e)).await,
        };
        if let Some(content) = &opened.body.content
            && let Err(e) = crate::attachments::check(content, &self.attachment_limits)
        {
            return refuse(Refusal::new(pb::RejectReason::Rule, e)).await;
        }
        // Deliveries are handled concurrently, each polled first in the order the broker
        // delivered them, and everything above is synchronous: the case's lock (fair, in the
        // order asked) makes a case's steps reach the store in that order, whatever each waits
        // for on the way (a new case's key, the writer).
        let _case = self
            .case_locks
            .lock(opened.body.case_ref.as_str(), opened.header.from.as_str())
            .await;
        let facts = EntryFacts {
            header: &opened.header,
            digest: &opened.digest,
            case_ref: &opened.body.case_ref,
            flags: audit::flags(&opened.body, opened.header.priority),
            content: opened.body.content.as_ref(),
            sequence: opened.body.case_sequence,
        };
        if matches!(
            opened.body.content,
            Some(pb::body::Content::WitnessRequest(_))
        ) {
            // Only this node's national coordinator may ask: `open` checked it (`may_send`),
            // as the brokers do. A coordinator asks: answer with a checkpoint of everything on disk now.
            match self.checkpoint().await {
                Ok(_)
                | Err(NodeError::Checkpoint(crate::checkpointer::CheckpointerError::Empty)) => {}
                Err(e) => warn!(cause = %e, "cannot sign a checkpoint for a witness request"),
            }
        }
        // The DELIVERED receipt, signed by the store once the message is stored (a consent
        // withdrawal's erasure done and on disk), and recorded before it leaves this node.
        let sign = |log_index, erased_messages| {
            receipt_for(
                pb::ReceiptKind::Delivered,
                pb::RejectReason::Unspecified,
                pb::ReceiptPrivate {
                    log_index,
                    erased_messages,
                    ..Default::default()
                },
                witness(opened.body.witnessed_size),
            )
        };
        let received = self
            .store
            .record_received(&envelope, &facts, &opened.signed_body, now, sign)
            .await;
        let Delivered {
            receipt,
            log_index,
            duplicate,
        } = match received {
            Ok(delivered) => delivered,
            // A well-behaved sender's node refuses an illegal case step before sending, so
            // this is a misbehaving sender: refuse it like any other bad delivery.
            Err(StoreError::Case(e)) => return refuse(Refusal::from(&e)).await,
            // The sender reused an id: its first envelope stays what was delivered.
            Err(e @ StoreError::IdReused(_)) => {
                return refuse(Refusal::new(pb::RejectReason::Malformed, e)).await;
            }
            Err(e) => return Err(e.into()),
        };
        if !duplicate {
            self.metrics.received();
        }
        info!(
            id = %opened.header.message_id,
            from = %opened.header.from,
            log_index,
            duplicate,
            "message received"
        );
        Ok(receipt)
    }

    /// Records a receipt (ACCEPTED, RELAYED, DELIVERED or REJECTED) about a message this node
    /// sent, after checking its signature with the signer's directory key and that it
    /// describes that message; on disk when this returns. `outbox_sequence` is set when it
    /// answers an outbox submission.
    pub async fn accept_receipt(
        &self,
        signed: &pb::SignedReceipt,
        outbox_sequence: Option<u64>,
    ) -> Result<bool, NodeError> {
        let claimed =
            receipt::peek(signed).map_err(|e| NodeError::InvalidRequest(e.to_string()))?;
        let invalid = |problem: String| {
            NodeError::InvalidRequest(format!("receipt for {}: {problem}", claimed.message_id))
        };
        let kind = pb::ReceiptKind::try_from(claimed.kind).unwrap_or(pb::ReceiptKind::Unspecified);
        let directory = self.directory.current();
        // Who may attest this step: the one rule in `trm_proto::receipt`. A receipt about a
        // message with an unreadable addressee cannot name a valid attester.
        let cannot_attest = || {
            invalid(format!(
                "signer {:?} cannot attest {kind:?}",
                claimed.signer
            ))
        };
        let to = claimed
            .to
            .parse::<NodeAddr>()
            .map_err(|_| cannot_attest())?;
        let signer_key = receipt::attester(kind, &claimed.signer, &self.keys.address, &to)
            .ok()
            .and_then(|attester| receipt::attester_keys(&directory, &attester, time::now_ms()))
            .ok_or_else(cannot_attest)?;
        let verified = receipt::verify(signed, &signer_key).map_err(|e| invalid(e.to_string()))?;
        // The addressee's receipt: its part for this node holds the log index, checkpoint,
        // proof, erasure count and detail. One that does not open is still the addressee's
        // signed evidence: recorded without them (and not witnessed).
        let verified = if verified.receipt.signer == verified.receipt.to {
            crate::receipt_private::open(&verified, &self.keys).unwrap_or_else(|e| {
                warn!(id = %verified.receipt.message_id, signer = %verified.receipt.signer, cause = %e, "receipt recorded without its part for this node");
                verified
            })
        } else {
            verified
        };
        if verified.receipt.from != self.keys.address.as_str() {
            return Err(invalid(
                "receipt is about a message this node did not send".into(),
            ));
        }
        // The answer to a submission is about the message submitted, not another of ours.
        if let Some(sequence) = outbox_sequence {
            let submitted = self.store.outgoing_key(sequence)?;
            let attested =
                crate::store::message_key(self.keys.address.as_str(), &verified.receipt.message_id);
            if submitted.is_some_and(|key| key != attested) {
                return Err(invalid(
                    "receipt is about another message than the one submitted".into(),
                ));
            }
        }
        // A receipt is about a message this node sent: look it up under its own address only.
        let stored = self.store.stored_message(&crate::store::message_key(
            self.keys.address.as_str(),
            &verified.receipt.message_id,
        ))?;
        let summary = stored.summary.unwrap_or_default();
        if summary.envelope_digest != verified.receipt.envelope_digest
            || summary.to != verified.receipt.to
        {
            return Err(invalid(
                "receipt does not match the envelope this node sent".into(),
            ));
        }
        let recorded = self
            .store
            .record_receipt(&verified, outbox_sequence)
            .await?;
        if recorded {
            info!(id = %verified.receipt.message_id, kind = ?kind, signer = %verified.receipt.signer, "evidence recorded");
        }
        // Refused for a retired content key: sent again, sealed to the partner's current key.
        if recorded {
            crate::epochs::reseal::after_receipt(self, &verified).await;
        }
        // Witnessing comes after the evidence is recorded and cannot fail it.
        if verified.receipt.signer == verified.receipt.to {
            crate::witness::witness_receipt(
                &crate::witness::Witness {
                    directory: &directory,
                    store: &self.store,
                    federation: &self.federation,
                    keys: &self.keys,
                },
                &verified,
            )
            .await;
        }
        Ok(recorded)
    }
}
