//! The node's durable state: messages (their content only as ciphertext encrypted to one of
//! their case's two keys in the [`Vault`]: what the partner sent, what this node wrote), the
//! outbox, per-message evidence, cases, the handover log,
//! its signed checkpoints and what the node witnessed of its partners' logs.
//!
//! [`NodeStore`] is an API of typed operations. Every operation that changes state is one change
//! that also appends its handover-log entry, so a message and its log entry are stored together
//! or not at all, and **every write operation returns only once what it wrote is on disk**: the
//! changes waiting at a time run as one transaction (`combine`) and concurrent callers share one
//! flush (the group commit of [`trm_storage`]). Cases (see [`crate::cases`]) change in the same
//! change as the message that changes them.
//!
//! The storage engine does not leave this module: its submodules hold the implementation
//! (`combine`: the writer thread; `log`: the handover log's tree, reachable only through an
//! append-only handle; `witness`: the witness's records; `snapshot`: the store at one point in time for a backup,
//! and a store rebuilt from one), and nothing outside names the
//! engine. `danger` (behind the `danger-test-tools` feature) is for tests that must tamper
//! with the disk as an attacker could.
//!
//! A stored message keeps its envelope's header and signature as evidence but not the
//! envelope's ciphertext (which this node's long-term key could always decrypt): the verified
//! signed body is kept encrypted to the case key instead, so erasing a case is destroying its
//! key. Only the outbox names a whole envelope, until the broker has accepted it. The content
//! and the waiting envelopes are kept in a file of their own (`content`); the records say where.
//!
//! An erasure (`erase_in_transaction`) has a [`Scope`]: a consent withdrawal, received or sent,
//! erases what the partner sent in the case and keeps what this node wrote; retention erases
//! all. It takes out of the outbox only the case's messages the broker was never given
//! (`handover`): one on its way stays and is evidenced by its receipts.

pub mod accounts;
mod case_list;
mod combine;
mod content;
#[cfg(any(test, feature = "danger-test-tools"))]
pub mod danger;
mod engine;
mod handover;
pub mod idempotency;
mod inbox_list;
mod log;
mod lookup;
mod newest_first;
mod onward_index;
mod outbox;
pub mod snapshot;
mod webhooks;
mod witness;

pub use witness::{NOTES_TREE as WITNESS_NOTES_TREE, Presented, WitnessError, WitnessStore};

use handover::{Fate, Handover};

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use prost::Message;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use trm_proto::envelope::{EnvelopeDigest, Header};
use trm_proto::pb;
use trm_proto::receipt::VerifiedReceipt;
use trm_storage::StorageError;

use crate::cases::{self, CaseError, Step};
use crate::handover_log::{ChainSummary, LogError, StoredEntry};
use crate::vault::{self, Vault, VaultError};
pub use case_list::ListPosition;
use engine::{Engine, Slot};
pub use lookup::{IdError, MIN_ID_PREFIX};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed.
    #[error("node store: {0}")]
    Engine(#[from] sled::Error),
    /// Flushing failed.
    #[error("node store: {0}")]
    Durability(#[from] StorageError),
    /// The handover log failed to read or verify.
    #[error(transparent)]
    Log(#[from] LogError),
    /// A stored record did not decode.
    #[error("node store: corrupt record in {tree}: {message}")]
    Corrupt {
        /// Which tree.
        tree: &'static str,
        /// The decode error.
        message: String,
    },
    /// The disk is full or failing: writes are refused until the store recovers by itself.
    #[error(transparent)]
    Refused(#[from] trm_storage::WriteRefused),
    /// The file of sealed content could not be opened, written or read.
    #[error("node store: sealed content in {}: {source}", path.display())]
    Content {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("node store: cannot start its writer thread: {0}")]
    Writer(std::io::Error),
    /// A case key could not be made, read or destroyed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// No message has that id.
    #[error("no message with id {0}")]
    NotFound(String),
    /// An id as typed names no single message.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The message may not follow what its case already holds.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// No case has that reference.
    #[error("no case {0}")]
    NoCase(String),
    /// A request committed under the idempotency key while this one was being sealed.
    #[error("idempotency key was used by a request that finished first")]
    IdempotencyKeyTaken,
    /// A sender reused a message id it already used for different content.
    #[error("message id {0} was already used for another envelope")]
    IdReused(String),
    /// Several counterparties share the case reference; the caller must say which.
    #[error(
        "case reference {case_ref} is used with several organisations ({counterparties}); say which"
    )]
    AmbiguousCase {
        /// The case reference.
        case_ref: String,
        /// The organisations, comma-separated.
        counterparties: String,
    },
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Engine(e),
        }
    }
}

fn corrupt(tree: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree,
        message: e.to_string(),
    }
}

/// A stored checkpoint record: its size from the key, its note from the value.
fn decode_checkpoint((key, value): (sled::IVec, sled::IVec)) -> Result<(u64, String), StoreError> {
    let size = <[u8; 8]>::try_from(key.as_ref())
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(CHECKPOINTS_TREE, "key is not 8 bytes"))?;
    let note = String::from_utf8(value.to_vec())
        .map_err(|_| corrupt(CHECKPOINTS_TREE, "note is not UTF-8"))?;
    Ok((size, note))
}

fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

/// Where a step stands in the evidence chain submitted → accepted → relayed → outcome.
fn evidence_rank(step: &str) -> u8 {
    match step {
        "submitted" => 0,
        "accepted" => 1,
        "relayed" => 2,
        _ => 3,
    }
}

/// A stored message's key: sender, NUL, message id (ids are unique per sender).
pub fn message_key(from: &str, message_id: &str) -> Vec<u8> {
    let mut key = from.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(message_id.as_bytes());
    key
}

pub use crate::cases::{INCOMING, OUTGOING};

/// A received message stored and answered: what [`NodeStore::record_received`] returns.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Its DELIVERED receipt: the one recorded with it, the first ever signed for it.
    pub receipt: pb::SignedReceipt,
    /// Its RECEIVED entry in the handover log.
    pub log_index: u64,
    /// It had been stored before (a redelivery).
    pub duplicate: bool,
}

/// What storing a received message committed, before its receipt is recorded.
#[derive(Debug, Clone)]
enum Received {
    /// The message is stored without a DELIVERED receipt yet: one is signed from these facts
    /// and recorded with [`NodeStore::record_delivery_receipt`].
    Stored {
        /// Its RECEIVED entry in the handover log.
        log_index: u64,
        /// How many messages of its case it erased (a consent withdrawal), to say in the receipt.
        erased_messages: u32,
        /// It had been stored before (a redelivery after a stop that came before its receipt
        /// was recorded).
        duplicate: bool,
    },
    /// The message was stored and answered before (a redelivery): the same receipt again.
    Answered {
        /// The receipt recorded with it.
        receipt: pb::SignedReceipt,
        /// Its RECEIVED entry in the handover log.
        log_index: u64,
    },
}

/// A message waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Outbox position.
    pub sequence: u64,
    /// The stored message's key.
    pub key: Vec<u8>,
    /// The sealed envelope.
    pub envelope: pb::Envelope,
    /// The case it belongs to; empty in records queued before it was kept.
    pub case_key: Vec<u8>,
}

/// The node's database.
#[derive(Clone)]
pub struct NodeStore {
    /// The open database, replaced after a storage fault (see [`engine`]).
    engine: Arc<Slot>,
    vault: Arc<Vault>,
    /// How many changes are sealing to, or committing under, each case key right now: a refused
    /// step destroys a key it made only when nobody else is using it.
    key_users: Arc<KeyUsers>,
    /// Which outbox items are on their way to the broker (see [`handover`]).
    handover: Arc<Handover>,
    /// The short-text fingerprints of the onward-sharing index, in memory.
    onward_shorts: Arc<onward_index::Shorts>,
}

/// Case keys in use by changes in flight. A change that made a key, or used one, and was then
/// refused leaves the key to be checked when its last user is done: destroyed unless a live
/// case holds content under it. So a refused step leaves no key behind, however many refused
/// and accepted changes to one new case run at once, and a key protecting committed content
/// is never destroyed.
struct KeyUsers {
    /// For each key in use: how many changes use it, and whether one of them was refused.
    users: std::sync::Mutex<HashMap<Vec<u8>, KeyUsersOf>>,
    /// The database, to tell whether a key protects committed content.
    engine: Arc<Slot>,
    /// Where the keys are.
    vault: Arc<Vault>,
}

/// The changes using one case key.
#[derive(Debug, Default)]
struct KeyUsersOf {
    count: usize,
    refused: bool,
}

/// One change's use of a case key, from before it looks for the key until its outcome is known.
struct KeyUse {
    users: Arc<KeyUsers>,
    /// The case's store key.
    case_key: Vec<u8>,
    /// The key's id in the vault: `case_key` for what the partner disclosed, or
    /// [`vault::authored`] of it.
    id: Vec<u8>,
    /// This node's address, for a key of what it authored (empty otherwise).
    own: String,
}

impl KeyUsers {
    fn enter(self: &Arc<Self>, case_key: &[u8], id: &[u8], own: &str) -> KeyUse {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users.entry(id.to_vec()).or_default().count += 1;
        KeyUse {
            users: Arc::clone(self),
            case_key: case_key.to_vec(),
            id: id.to_vec(),
            own: own.to_owned(),
        }
    }

    /// Destroys the key `id` of the case stored under `case_key` unless it protects committed
    /// content: the case is live (not erased), or `id` keeps what `own` authored and one of
    /// its sent messages still holds content (a case whose partner's disclosures were erased).
    fn destroy_unless_live(&self, case_key: &[u8], id: &[u8], own: &str) -> Result<(), StoreError> {
        let engine = self.engine.get()?;
        let live = match engine.cases.get(case_key)? {
            Some(bytes) => {
                let case =
                    pb::StoredCase::decode(bytes.as_ref()).map_err(|e| corrupt(CASES_TREE, e))?;
                case.summary.as_ref().is_some_and(|s| s.erased_at_ms == 0)
                    || (id != case_key && authored_content_kept(&engine.messages, &case, own)?)
            }
            None => false,
        };
        if !live {
            self.vault.erase(id)?;
        }
        Ok(())
    }
}

impl KeyUse {
    /// Records that this change was refused: the key is checked when its last user is done.
    fn refused(&self) {
        let mut users = self
            .users
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(of) = users.get_mut(&self.id) {
            of.refused = true;
        }
    }
}

impl Drop for KeyUse {
    fn drop(&mut self) {
        // Held while deciding and destroying, so no change can find the key in between.
        let mut users = self
            .users
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(of) = users.get_mut(&self.id) else {
            return;
        };
        of.count = of.count.saturating_sub(1);
        if of.count > 0 {
            return;
        }
        let refused = of.refused;
        users.remove(&self.id);
        if refused
            && let Err(e) = self
                .users
                .destroy_unless_live(&self.case_key, &self.id, &self.own)
        {
            tracing::warn!(cause = %e, "a case key made for a refused message could not be destroyed");
        }
    }
}

/// The tree of cases: key counterparty, NUL, case reference (see [`cases::case_key`]),
/// value a `StoredCase`.
pub const CASES_TREE: &str = "cases";

/// The tree of the handover log's signed checkpoints: key the tree size (`u64`
/// big-endian, so the last key is the latest checkpoint), value the signed note in UTF-8.
pub const CHECKPOINTS_TREE: &str = "checkpoints";

/// The metadata a log entry needs about a message.
#[derive(Debug, Clone)]
pub struct EntryFacts<'a> {
    /// The message's header.
    pub header: &'a Header,
    /// Its digest.
    pub digest: &'a EnvelopeDigest,
    /// Its case reference.
    pub case_ref: &'a str,
    /// Its audit flags.
    pub flags: pb::AuditFlags,
    /// Its content, which moves its case on.
    pub content: Option<&'a pb::body::Content>,
    /// Its number among its sender's steps in the case (`Body.case_sequence`; 0: none).
    pub sequence: u64,
}

/// A case step with its own copies, to hand to the writer thread (`combine`).
#[derive(Debug, Clone)]
struct OwnedStep {
    counterparty: String,
    case_ref: String,
    message_id: String,
    direction: &'static str,
    at_ms: u64,
    priority: pb::Priority,
    content: pb::body::Content,
    sequence: u64,
}

impl OwnedStep {
    fn step(&self) -> Step<'_> {
        Step {
            counterparty: &self.counterparty,
            case_ref: &self.case_ref,
            message_id: &self.message_id,
            direction: self.direction,
            at_ms: self.at_ms,
            priority: self.priority,
            content: &self.content,
            sequence: self.sequence,
        }
    }
}

impl EntryFacts<'_> {
    /// The case step this message is, as seen from `direction` with `counterparty`.
    fn step(&self, counterparty: &str, direction: &'static str, at_ms: u64) -> Option<OwnedStep> {
        if !self.is_case_traffic() {
            return None;
        }
        Some(OwnedStep {
            counterparty: counterparty.to_owned(),
            case_ref: self.case_ref.to_owned(),
            message_id: self.header.message_id.to_string(),
            direction,
            at_ms,
            priority: self.header.priority,
            content: self.content?.clone(),
            sequence: self.sequence,
        })
    }
}

/// Applies `step` to its case (a new one if the case has none) inside a transaction,
/// refusing an illegal step.
fn apply_case(
    t: &combine::Trees<'_>,
    step: Option<&OwnedStep>,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let Some(step) = step.map(OwnedStep::step) else {
        return Ok(());
    };
    let key = cases::case_key(step.counterparty, step.case_ref);
    let case_list::Read {
        mut case,
        indexed_at,
    } = case_list::read(t, &key)?.unwrap_or_else(|| case_list::Read {
        case: cases::new_case(step.counterparty, step.case_ref),
        indexed_at: None,
    });
    cases::apply(&mut case, &step).map_err(|e| abort(e.into()))?;
    case_list::put(t, &key, indexed_at, &case)
}

fn entry(
    event: pb::LogEvent,
    counterparty: &str,
    facts: &EntryFacts<'_>,
    at_ms: u64,
    actor: &str,
) -> pb::LogEntry {
    pb::LogEntry {
        at_ms,
        event: event.into(),
        message_id: facts.header.message_id.to_string(),
        counterparty: counterparty.to_owned(),
        kind: facts.header.kind.into(),
        case_ref: facts.case_ref.to_owned(),
        envelope_digest: facts.digest.to_vec(),
        flags: Some(facts.flags),
        actor: actor.to_owned(),
        ..Default::default()
    }
}

/// Moves a sent referral to `delivered` or `rejected` on the addressee's receipt.
fn record_receipt_in_case(
    t: &combine::Trees<'_>,
    summary: &pb::MessageSummary,
    event: pb::LogEvent,
    erased_messages: u32,
    at_ms: u64,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let key = cases::case_key(&summary.to, &summary.case_ref);
    let Some(case_list::Read {
        mut case,
        indexed_at,
    }) = case_list::read(t, &key)?
    else {
        return Ok(());
    };
    let delivered = event == pb::LogEvent::Delivered;
    if cases::receipt(
        &mut case,
        &summary.message_id,
        delivered,
        erased_messages,
        at_ms,
    ) {
        case_list::put(t, &key, indexed_at, &case)?;
    }
    Ok(())
}

fn summary(facts: &EntryFacts<'_>, received_at_ms: u64) -> pb::MessageSummary {
    let (header, digest, case_ref) = (facts.header, facts.digest, facts.case_ref);
    pb::MessageSummary {
        message_id: header.message_id.to_string(),
        from: header.from.to_string(),
        to: header.to.to_string(),
        kind: header.kind.into(),
        case_ref: case_ref.to_owned(),
        created_at_ms: header.created_at_ms,
        received_at_ms,
        envelope_digest: digest.to_vec(),
        handling_code: facts.flags.handling_code,
        priority: header.priority.into(),
    }
}

impl EntryFacts<'_> {
    /// Whether the message belongs to a case, and so has its content kept under the case's key.
    fn is_case_traffic(&self) -> bool {
        self.content.is_none_or(cases::is_case_traffic)
    }
}

/// Why a message that is not case traffic has no content kept.
const NOT_KEPT: &str = "a witness request carries no case content";

/// The envelope as kept with a stored message: header and signature, no ciphertext.
fn without_ciphertext(envelope: &pb::Envelope) -> pb::Envelope {
    pb::Envelope {
        header: envelope.header.clone(),
        ciphertext: Vec::new(),
        signature: envelope.signature.clone(),
    }
}

/// The store key of the case a stored message belongs to.
fn case_key_of(stored: &pb::StoredMessage) -> Vec<u8> {
    let summary = stored.summary.clone().unwrap_or_default();
    let counterparty = if stored.direction == OUTGOING {
        summary.to
    } else {
        summary.from
    };
    cases::case_key(&counterparty, &summary.case_ref)
}

/// The ids of the keys a stored message's content may be under, the likelier first: a received
/// message's under its case's key for what the partner disclosed; a sent one's under the key
/// for what this node authored or, stored before the parts were split, under the case's one key.
fn key_ids_of(stored: &pb::StoredMessage) -> Vec<Vec<u8>> {
    let case_key = case_key_of(stored);
    if stored.direction == OUTGOING {
        vec![vault::authored(&case_key), case_key]
    } else {
        vec![case_key]
    }
}

/// Whether a message `own` sent in `case` still holds content (so the key of what this node
/// authored in it protects something).
fn authored_content_kept(
    messages: &sled::Tree,
    case: &pb::StoredCase,
    own: &str,
) -> Result<bool, StoreError> {
    for message in case.thread.iter().filter(|m| m.direction == OUTGOING) {
        let Some(bytes) = messages.get(message_key(own, &message.message_id))? else {
            continue;
        };
        let stored =
            pb::StoredMessage::decode(bytes.as_ref()).map_err(|e| corrupt("messages", e))?;
        if has_content(&stored) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes a sent message's record out of the outbox (`sequence`, if it waits there), inside a
/// change; where its envelope is in the file of sealed content, to be wiped once the change is
/// on disk.
fn leave_outbox(
    outbox: &sled::transaction::TransactionalTree,
    sequence: Option<u64>,
) -> Result<Option<pb::ContentPlace>, sled::transaction::UnabortableTransactionError> {
    let Some(sequence) = sequence else {
        return Ok(None);
    };
    Ok(outbox
        .remove(&sequence.to_be_bytes())?
        .and_then(|bytes| pb::OutboxItem::decode(bytes.as_ref()).ok())
        .and_then(|item| item.envelope_place))
}

/// Whether a stored message still holds its content, in its record or in the file of sealed
/// content.
fn has_content(stored: &pb::StoredMessage) -> bool {
    !stored.content.is_empty() || stored.content_place.is_some()
}

/// What an erasure erases in its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// What the partner disclosed (the messages received in the case): a consent withdrawal,
    /// at the addressee and at the withdrawing party alike. What this node authored stays,
    /// under its own key, until retention.
    Disclosed,
    /// Everything the case holds: retention.
    All,
}

/// Why a case's content is erased, for its log entry and its messages.
#[derive(Debug, Clone)]
pub struct Erasure {
    /// The case's store key.
    pub case_key: Vec<u8>,
    /// This node's address (the sender of its outgoing messages).
    pub own: String,
    /// When.
    pub at_ms: u64,
    /// Why, in words (for a withdrawal: "consent withdrawn by" and who withdrew it).
    pub reason: String,
    /// The message that caused it (a consent withdrawal), if any.
    pub message_id: String,
    /// Who caused it.
    pub actor: String,
    /// For retention: the case's last activity as the sweep saw it; the erasure is skipped if
    /// a message came in the meantime.
    pub idle_since_ms: Option<u64>,
    /// What it erases.
    pub scope: Scope,
}

/// What an erasure's transaction needs besides the trees: the vault (to move a sent message
/// off a case's one key), which outbox items are on their way, and the items it took out of
/// the outbox (given back if the change does not commit).
#[derive(Clone)]
struct ErasureContext {
    vault: Arc<Vault>,
    content: Arc<content::ContentFile>,
    handover: Arc<Handover>,
    withheld: Arc<std::sync::Mutex<Vec<u64>>>,
    /// The places of sealed content the change cleared, by message key: wiped once it is on
    /// disk ([`ErasureContext::wipe_cleared`]).
    cleared: Arc<std::sync::Mutex<Vec<Cleared>>>,
}

/// A place of sealed content an erasure cleared, and the key of the message that named it.
type Cleared = (Vec<u8>, pb::ContentPlace);

impl ErasureContext {
    fn new(store: &NodeStore) -> Result<Self, StoreError> {
        Ok(Self {
            vault: Arc::clone(&store.vault),
            content: Arc::clone(&store.engine()?.content),
            handover: Arc::clone(&store.handover),
            withheld: Arc::default(),
            cleared: Arc::default(),
        })
    }

    fn withhold(&self, sequence: u64) {
        self.withheld
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sequence);
    }

    fn clear(&self, key: &[u8], place: Option<pb::ContentPlace>) {
        if let Some(place) = place {
            self.cleared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((key.to_vec(), place));
        }
    }

    /// After the change is on disk: wipes the sealed content it cleared. A place is wiped only
    /// if its message no longer names it (a run of the change that sled retried may have
    /// cleared what the committed run did not). A failure is logged: the bytes stay, under the
    /// key the erasure destroys.
    fn wipe_cleared(&self, store: &NodeStore) {
        let cleared = std::mem::take(
            &mut *self
                .cleared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (key, place) in cleared {
            let named = store
                .stored_message(&key)
                .map_or(true, |stored| stored.content_place == Some(place));
            if !named && let Err(e) = self.content.wipe(&place) {
                tracing::warn!(error = %e, "erased content could not be wiped from its file");
            }
        }
    }

    /// After the change: when it failed, the items it took out of the outbox may go again.
    fn settle<R>(&self, outcome: &Result<R, StoreError>) {
        if outcome.is_err() {
            let withheld = self
                .withheld
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.handover.release(&withheld);
        }
    }
}

/// The evidence a sent message gets when an erasure takes it out of the outbox.
fn withheld_evidence(fate: Fate, erasure: &Erasure) -> pb::Evidence {
    let (step, detail) = match fate {
        Fate::MayHaveReached => (
            "withheld",
            format!(
                "not submitted again: its content was erased ({}); an earlier submission may \
                 have reached the broker, and a receipt that comes is recorded",
                erasure.reason
            ),
        ),
        Fate::OnItsWay | Fate::NotGiven => (
            "submit_failed",
            format!("not sent: its content was erased ({})", erasure.reason),
        ),
    };
    pb::Evidence {
        step: step.into(),
        at_ms: erasure.at_ms,
        attested_by: erasure.own.clone(),
        detail,
        receipt: None,
    }
}

/// Whether the outbox holds `sequence` for the message stored under `key`.
fn queued_as(
    outbox: &sled::transaction::TransactionalTree,
    sequence: u64,
    key: &[u8],
) -> Result<bool, ConflictableTransactionError<StoreError>> {
    Ok(outbox
        .get(sequence.to_be_bytes())?
        .and_then(|bytes| pb::OutboxItem::decode(bytes.as_ref()).ok())
        .is_some_and(|item| item.message_key == key))
}

/// Inside a transaction: marks the case erased, clears the content of the messages in the
/// erasure's scope, takes its sent messages the broker was not given out of the outbox (one on
/// its way stays, and its receipt is recorded when it comes) and logs ERASED. A withdrawal's
/// erasure keeps what this node authored, moved under its own key first if the case was stored
/// under one key. Returns how many messages had their content erased, or `None` if the case was
/// already erased.
fn erase_in_transaction(
    t: &combine::Trees<'_>,
    erasure: &Erasure,
    context: &ErasureContext,
) -> Result<Option<u32>, ConflictableTransactionError<StoreError>> {
    let (messages, log) = (t.messages, t.log);
    let Some(case_list::Read {
        mut case,
        indexed_at,
    }) = case_list::read(t, &erasure.case_key)?
    else {
        return Ok(None);
    };
    let mut summary = case.summary.clone().unwrap_or_default();
    // A case whose partner's disclosures were erased keeps what this node authored until
    // retention erases the rest.
    if (summary.erased_at_ms != 0 && erasure.scope == Scope::Disclosed)
        || erasure
            .idle_since_ms
            .is_some_and(|seen| summary.last_activity_ms != seen)
    {
        return Ok(None);
    }
    let authored = vault::authored(&erasure.case_key);
    let (mut erased, mut kept, mut moved) = (0u32, 0u32, 0u32);
    for message in &case.thread {
        let outgoing = message.direction == OUTGOING;
        let from = if outgoing {
            erasure.own.as_str()
        } else {
            summary.counterparty.as_str()
        };
        let key = message_key(from, &message.message_id);
        let Some(bytes) = messages.get(&key)? else {
            continue;
        };
        let mut stored =
            pb::StoredMessage::decode(bytes.as_ref()).map_err(|e| abort(corrupt("messages", e)))?;
        let sequence = stored.outbox_sequence;
        if outgoing && queued_as(t.outbox, sequence, &key)? {
            match context.handover.on_erasure(sequence) {
                // Given to the broker: evidenced by its receipts, as any sent message.
                Fate::OnItsWay => {}
                fate => {
                    t.outbox.remove(&sequence.to_be_bytes())?;
                    context.withhold(sequence);
                    stored.evidence.push(withheld_evidence(fate, erasure));
                }
            }
        }
        if outgoing && erasure.scope == Scope::Disclosed {
            if let Some(sealed) = context.content.sealed(&stored).map_err(abort)? {
                kept = kept.saturating_add(1);
                let resealed = context
                    .vault
                    .reseal(&sealed, &erasure.case_key, &authored)
                    .map_err(|e| abort(e.into()))?;
                if let Some(resealed) = resealed {
                    // Kept in the record: an erasure is rare, and its change writes no file.
                    stored.content = resealed;
                    context.clear(&key, stored.content_place.take());
                    moved = moved.saturating_add(1);
                }
            }
        } else if stored.erased_at_ms == 0 {
            onward_index::remove(t.onward, &key)?;
            if has_content(&stored) {
                erased = erased.saturating_add(1);
            }
            stored.content = Vec::new();
            context.clear(&key, stored.content_place.take());
            stored.erased_at_ms = erasure.at_ms;
            stored.erased_reason.clone_from(&erasure.reason);
        }
        messages.insert(key, stored.encode_to_vec())?;
    }
    // The first erasure is the case's (a withdrawal's, when retention comes after it).
    if summary.erased_at_ms == 0 {
        summary.erased_at_ms = erasure.at_ms;
        summary.erased_reason.clone_from(&erasure.reason);
    }
    let counted = match erasure.scope {
        Scope::All => format!("{erased} messages"),
        Scope::Disclosed if moved > 0 => format!(
            "{erased} messages received; {kept} sent kept, {moved} of them moved off the \
             case's former single key"
        ),
        Scope::Disclosed => format!("{erased} messages received; {kept} sent kept"),
    };
    log.append(pb::LogEntry {
        at_ms: erasure.at_ms,
        event: pb::LogEvent::Erased.into(),
        message_id: erasure.message_id.clone(),
        // Erased on a consent withdrawal, or for retention (no message).
        kind: if erasure.message_id.is_empty() {
            pb::MessageKind::Unspecified.into()
        } else {
            pb::MessageKind::ConsentWithdrawal.into()
        },
        counterparty: summary.counterparty.clone(),
        case_ref: summary.case_ref.clone(),
        actor: erasure.actor.clone(),
        reason: format!("{} ({counted})", erasure.reason),
        ..Default::default()
    })?;
    case.summary = Some(summary);
    case_list::put(t, &erasure.case_key, indexed_at, &case)?;
    Ok(Some(erased))
}

/// An open item found past its due time, to record once in the log.
#[derive(Debug, Clone)]
pub struct OverdueMark {
    /// The case's store key.
    pub case_key: Vec<u8>,
    /// The item's opening message id.
    pub message_id: String,
    /// Its state and follow-ups as the sweep saw them: if either changed since (the item was
    /// answered meanwhile), nothing is logged.
    pub state: String,
    /// See `state`.
    pub follow_ups: u32,
    /// The due time that passed.
    pub due_at_ms: u64,
    /// What is due, in words.
    pub reason: String,
}

/// Builds the indexes a store made before them lacks (each is marked once built), and answers
/// the onward-sharing index's short texts, which are held in memory.
fn build_indexes(engine: &Engine, vault: &Vault) -> Result<onward_index::Shorts, StoreError> {
    onward_index::ensure(&engine.onward, &engine.messages, vault, &engine.content)?;
    case_list::ensure(&engine.db, &engine.case_activity, &engine.cases)?;
    inbox_list::ensure(&engine.db, &engine.received_order, &engine.messages)?;
    onward_index::Shorts::load(&engine.onward)
}

impl NodeStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, trm_storage::EngineSettings::default())
    }

    /// Opens (or creates) the database in `dir` with `settings` (its page cache).
    pub fn open_with(
        dir: &Path,
        settings: trm_storage::EngineSettings,
    ) -> Result<Self, StoreError> {
        let engine = Arc::new(Slot::open(dir, settings)?);
        let vault = Arc::new(Vault::open(dir)?);
        let onward_shorts = build_indexes(&*engine.get()?, &vault)?;
        let key_users = Arc::new(KeyUsers {
            users: std::sync::Mutex::default(),
            engine: Arc::clone(&engine),
            vault: Arc::clone(&vault),
        });
        Ok(Self {
            engine,
            vault,
            key_users,
            handover: Arc::default(),
            onward_shorts: Arc::new(onward_shorts),
        })
    }

    /// The task that recovers the store after a storage fault, once the disk takes writes
    /// again (see [`engine`]); it ends when the store is dropped. The node runs it.
    pub fn recovery(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        trm_storage::fault::watch_recovery(
            Arc::downgrade(&self.engine),
            self.engine.health.clone(),
            Slot::reopen,
        )
    }

    /// Whether the store takes writes, and why not while it refuses them.
    pub fn write_health(&self) -> &trm_storage::WriteHealth {
        &self.engine.health
    }

    /// The engine in use, for reading.
    fn engine(&self) -> Result<Arc<Engine>, StoreError> {
        self.engine.get()
    }

    /// Runs `change` through the writer thread; refused at once while the store is faulted, and
    /// an engine failure faults it.
    async fn change<R: Send + 'static>(
        &self,
        change: impl Fn(&combine::Trees<'_>) -> Result<R, combine::Abort> + Send + Sync + 'static,
    ) -> Result<R, StoreError> {
        let engine = self.engine.writable()?;
        engine
            .combiner
            .run(change)
            .await
            .map_err(|e| self.engine.observe(e))
    }

    /// Waits until every write made before this call is on disk. Every write operation does
    /// this before it returns; the checkpointer also waits before signing what it read.
    pub(crate) async fn durable(&self) -> Result<(), StoreError> {
        let engine = self.engine()?;
        engine
            .commit
            .durable()
            .await
            .map_err(|e| self.engine.observe(StoreError::Durability(e)))
    }

    /// Stores a sealed outgoing message (its verified `signed_body` encrypted to the case key),
    /// queues its envelope and logs SENT, and records `claim`'s idempotency key for it, all in
    /// one transaction. Returns the log index; [`StoreError::IdempotencyKeyTaken`] (nothing
    /// stored) when another request committed under the key first.
    pub async fn record_sent(
        &self,
        envelope: &pb::Envelope,
        facts: &EntryFacts<'_>,
        signed_body: &[u8],
        now_ms: u64,
        actor: &str,
        claim: Option<&idempotency::Claim>,
    ) -> Result<u64, StoreError> {
        // Refused before a case key is made on a disk that cannot take it.
        self.engine.health.check()?;
        let claim = claim.cloned();
        let envelope_digest = *facts.digest;
        let header = facts.header;
        let key = message_key(header.from.as_str(), header.message_id.as_str());
        let stored_id = header.message_id.to_string();
        let kept = facts.is_case_traffic();
        let case_key = cases::case_key(header.to.as_str(), facts.case_ref);
        let authored = vault::authored(&case_key);
        let key_use = self
            .key_users
            .enter(&case_key, &authored, header.from.as_str());
        // Withdrawing consent erases here too what the partner disclosed in the case.
        let erasure =
            matches!(facts.content, Some(pb::body::Content::ConsentWithdrawal(_))).then(|| {
                Erasure {
                    case_key: case_key.clone(),
                    own: header.from.to_string(),
                    at_ms: now_ms,
                    reason: format!("consent withdrawn by {}", header.from),
                    message_id: header.message_id.to_string(),
                    actor: actor.to_owned(),
                    idle_since_ms: None,
                    scope: Scope::Disclosed,
                }
            });
        let withdrawn = erasure.is_some();
        let context = ErasureContext::new(self)?;
        let in_change = context.clone();
        // The envelope (for the outbox, until the broker has it) and the content, written to
        // the file of sealed content with one sync.
        let mut records = vec![envelope.encode_to_vec()];
        if kept {
            records.push(self.seal(&authored, signed_body).await?);
        }
        let mut places = self.place(records).await?.into_iter();
        let (envelope_place, content_place) = (places.next(), places.next());
        let queued = pb::OutboxItem {
            message_key: key.clone(),
            envelope: None,
            case_key: case_key.clone(),
            envelope_place,
        }
        .encode_to_vec();
        let mut stored = pb::StoredMessage {
            summary: Some(summary(facts, 0)),
            direction: OUTGOING.into(),
            envelope: Some(without_ciphertext(envelope)),
            content_place,
            erased_at_ms: if kept { 0 } else { now_ms },
            erased_reason: if kept { String::new() } else { NOT_KEPT.into() },
            ..Default::default()
        };
        stored.evidence.push(pb::Evidence {
            step: "submitted".into(),
            at_ms: now_ms,
            attested_by: header.from.to_string(),
            detail: "sealed and queued for the broker".into(),
            receipt: None,
        });
        let log_entry = entry(pb::LogEvent::Sent, header.to.as_str(), facts, now_ms, actor);
        let step = facts.step(header.to.as_str(), OUTGOING, now_ms);
        let index = self
            .change(move |t| {
                apply_case(t, step.as_ref())?;
                let appended = t.log.append(log_entry.clone())?;
                if let Some(erasure) = &erasure {
                    erase_in_transaction(t, erasure, &in_change)?;
                }
                // Taken here, so the outbox is in the order changes commit in.
                let sequence = t.outbox.generate_id()?;
                let mut stored = stored.clone();
                stored.log_index = appended.index;
                stored.outbox_sequence = sequence;
                t.messages.insert(key.as_slice(), stored.encode_to_vec())?;
                t.outbox
                    .insert(&sequence.to_be_bytes(), queued.as_slice())?;
                if let Some(claim) = &claim {
                    let recorded = idempotency::Recorded {
                        request_digest: claim.request_digest,
                        message_id: stored_id.clone(),
                        envelope_digest,
                        log_index: appended.index,
                        at_ms: now_ms,
                    };
                    idempotency::record(t.idempotency, claim, &recorded)?;
                }
                Ok(appended.index)
            })
            .await;
        context.settle(&index);
        let index = self.unless_refused(index, &key_use)?;
        self.durable().await?;
        context.wipe_cleared(self);
        if withdrawn {
            self.vault.erase(&case_key)?;
        }
        Ok(index)
    }

    /// What `claim`'s idempotency key says about its request.
    pub fn idempotent(
        &self,
        claim: &idempotency::Claim,
    ) -> Result<idempotency::Lookup, StoreError> {
        idempotency::lookup(&self.engine()?.idempotency, claim)
    }

    /// Forgets the idempotency keys recorded before `before_ms` (the node passes now less the
    /// message lifetime: a message that old has expired, so its key protects nothing); returns
    /// how many.
    pub fn prune_idempotency_keys(&self, before_ms: u64) -> Result<usize, StoreError> {
        idempotency::prune(&self.engine()?.idempotency, before_ms)
    }

    /// Encrypts `signed_body` to the case key `key`, made if the case has none (on a blocking
    /// thread).
    async fn seal(&self, key: &[u8], signed_body: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.vault
            .seal_off_runtime(key, signed_body)
            .await
            .map_err(|e| self.engine.observe(e.into()))
    }

    /// Writes `records` to the file of sealed content with one sync, on a blocking thread;
    /// where each is, once they are on disk.
    async fn place(&self, records: Vec<Vec<u8>>) -> Result<Vec<pb::ContentPlace>, StoreError> {
        let content = Arc::clone(&self.engine.writable()?.content);
        tokio::task::spawn_blocking(move || {
            let records: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
            content.put(&records)
        })
        .await
        .map_err(|e| StoreError::Writer(std::io::Error::other(e)))?
        .map_err(|e| self.engine.observe(e))
    }

    /// The decrypted signed body of a stored message; [`VaultError::Erased`] (in
    /// [`StoreError::Vault`]) once erased.
    pub fn content(&self, stored: &pb::StoredMessage) -> Result<Vec<u8>, StoreError> {
        let Some(sealed) = self.engine()?.content.sealed(stored)? else {
            return Err(VaultError::Erased.into());
        };
        let ids = key_ids_of(stored);
        let ids: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
        Ok(self.vault.unseal_any(&ids, &sealed)?)
    }

    /// Whether a case still has its content key.
    pub fn has_case_key(&self, case_key: &[u8]) -> bool {
        self.vault.has_key(case_key)
    }

    /// Finishes the erasure of an erased case (after a stop between recording it and destroying
    /// its keys): destroys the key of what the partner disclosed, and the key of what `own`
    /// authored unless one of its sent messages still holds content (a withdrawal keeps them).
    /// Returns whether a key was there to destroy. Idempotent.
    pub fn finish_erasure(&self, case_key: &[u8], own: &str) -> Result<bool, StoreError> {
        let mut destroyed = self.vault.erase(case_key)?;
        let authored = vault::authored(case_key);
        if self.vault.has_key(&authored) {
            let engine = self.engine()?;
            let kept = match engine.cases.get(case_key)? {
                Some(bytes) => {
                    let case = pb::StoredCase::decode(bytes.as_ref())
                        .map_err(|e| corrupt(CASES_TREE, e))?;
                    authored_content_kept(&engine.messages, &case, own)?
                }
                None => false,
            };
            if !kept {
                destroyed |= self.vault.erase(&authored)?;
            }
        }
        Ok(destroyed)
    }

    /// Erases the content of a case in the erasure's scope: recorded (messages cleared, its
    /// unsent messages taken out of the outbox, case marked, ERASED logged) in one transaction
    /// and flushed, then the keys of what it erased destroyed. Returns how many messages had
    /// their content erased, or `None` when it was erased already or (for retention) is no
    /// longer idle.
    pub async fn erase_case(&self, erasure: Erasure) -> Result<Option<u32>, StoreError> {
        let case_key = erasure.case_key.clone();
        let scope = erasure.scope;
        let context = ErasureContext::new(self)?;
        let in_change = context.clone();
        let erased = self
            .change(move |t| erase_in_transaction(t, &erasure, &in_change))
            .await;
        context.settle(&erased);
        let erased = erased?;
        if erased.is_some() {
            self.durable().await?;
            context.wipe_cleared(self);
            self.vault.erase(&case_key)?;
            if scope == Scope::All {
                self.vault.erase(&vault::authored(&case_key))?;
            }
        }
        Ok(erased)
    }

    /// The outbox is about to give the item at `sequence` to the broker: false (and it must
    /// not) when an erasure took it out of the outbox meanwhile.
    pub fn hand_over(&self, sequence: u64) -> bool {
        self.handover.hand_over(sequence)
    }

    /// The answer to the submission of `sequence` was handled; `uncertain` when it failed in a
    /// way that may have reached the broker. True when its case was erased while it was on its
    /// way: it must not be submitted again.
    pub fn landed(&self, sequence: u64, uncertain: bool) -> bool {
        self.handover.landed(sequence, uncertain)
    }

    /// Records open items as overdue: each item's `overdue_logged_for_ms` set to its due time
    /// and one OVERDUE entry logged, all in one transaction. Items whose due time was logged
    /// already are skipped. Returns how many were logged.
    pub async fn mark_overdue(
        &self,
        marks: Vec<OverdueMark>,
        now_ms: u64,
    ) -> Result<usize, StoreError> {
        let logged = self
            .change(move |t| {
                let mut logged = 0;
                for mark in &marks {
                    let Some(case_list::Read {
                        mut case,
                        indexed_at,
                    }) = case_list::read(t, &mark.case_key)?
                    else {
                        continue;
                    };
                    let mut summary = case.summary.clone().unwrap_or_default();
                    if cases::ended(&summary).is_some() {
                        continue;
                    }
                    let Some(item) = summary
                        .items
                        .iter_mut()
                        .find(|i| i.message_id == mark.message_id)
                    else {
                        continue;
                    };
                    if item.overdue_logged_for_ms == mark.due_at_ms
                        || item.state != mark.state
                        || item.follow_ups != mark.follow_ups
                    {
                        continue;
                    }
                    item.overdue_logged_for_ms = mark.due_at_ms;
                    let kind = match item.kind.as_str() {
                        cases::REFERRAL => pb::MessageKind::Referral,
                        cases::INFO_REQUEST => pb::MessageKind::InfoRequest,
                        _ => pb::MessageKind::ReturnRequest,
                    };
                    t.log.append(pb::LogEntry {
                        at_ms: now_ms,
                        event: pb::LogEvent::Overdue.into(),
                        message_id: mark.message_id.clone(),
                        counterparty: summary.counterparty.clone(),
                        kind: kind.into(),
                        case_ref: summary.case_ref.clone(),
                        actor: "node".into(),
                        reason: mark.reason.clone(),
                        due_at_ms: mark.due_at_ms,
                        ..Default::default()
                    })?;
                    case.summary = Some(summary);
                    case_list::put(t, &mark.case_key, indexed_at, &case)?;
                    logged += 1;
                }
                Ok(logged)
            })
            .await?;
        self.durable().await?;
        Ok(logged)
    }

    /// The stored message under `key` (see [`message_key`]).
    pub fn stored_message(&self, key: &[u8]) -> Result<pb::StoredMessage, StoreError> {
        self.stored(key)
    }

    fn stored(&self, key: &[u8]) -> Result<pb::StoredMessage, StoreError> {
        let bytes =
            self.engine()?.messages.get(key)?.ok_or_else(|| {
                StoreError::NotFound(String::from_utf8_lossy(key).replace('\0', "/"))
            })?;
        pb::StoredMessage::decode(bytes.as_ref()).map_err(|e| corrupt("messages", e))
    }

    /// Removes an outbox item and adds an evidence step and its log entry to the message.
    pub async fn record_outcome(
        &self,
        outbox_sequence: Option<u64>,
        key: &[u8],
        evidence: pb::Evidence,
        event: pb::LogEvent,
        receipt_digest: Option<[u8; 32]>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let moves_case = matches!(event, pb::LogEvent::Delivered | pb::LogEvent::Rejected);
        self.record_evidence(
            outbox_sequence,
            key,
            evidence,
            (event, moves_case.then_some(0)),
            receipt_digest,
            reason,
        )
        .await
    }

    /// [`NodeStore::record_outcome`], where `step.1` says whether the evidence moves the
    /// message's case (`Some`, with the erasure count a withdrawal's DELIVERED acknowledges)
    /// or is kept as evidence only (`None`).
    async fn record_evidence(
        &self,
        outbox_sequence: Option<u64>,
        key: &[u8],
        evidence: pb::Evidence,
        step: (pb::LogEvent, Option<u32>),
        receipt_digest: Option<[u8; 32]>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let (event, moves_case) = step;
        let key = key.to_vec();
        let reason = reason.to_owned();
        let recorded = self
            .change(move |t| {
                {
                    let (messages, outbox, log) = (t.messages, t.outbox, t.log);
                    let key = key.as_slice();
                    let bytes = messages.get(key)?.ok_or_else(|| {
                        abort(StoreError::NotFound(String::from_utf8_lossy(key).into()))
                    })?;
                    let mut stored = pb::StoredMessage::decode(bytes.as_ref())
                        .map_err(|e| abort(corrupt("messages", e)))?;
                    if stored
                        .evidence
                        .iter()
                        .any(|e| e.step == evidence.step && e.attested_by == evidence.attested_by)
                    {
                        // The same attestation again (a redelivered receipt): already recorded.
                        return Ok((false, leave_outbox(outbox, outbox_sequence)?));
                    }
                    let summary = stored.summary.clone().unwrap_or_default();
                    let mut log_entry = pb::LogEntry {
                        at_ms: evidence.at_ms,
                        event: event.into(),
                        message_id: summary.message_id.clone(),
                        counterparty: summary.to.clone(),
                        kind: summary.kind,
                        case_ref: summary.case_ref.clone(),
                        envelope_digest: summary.envelope_digest.clone(),
                        receipt_digest: receipt_digest.map(|d| d.to_vec()).unwrap_or_default(),
                        actor: "node".into(),
                        reason: reason.clone(),
                        ..Default::default()
                    };
                    log_entry.flags = None;
                    log.append(log_entry)?;
                    if let (Some(erased_messages), true) =
                        (moves_case, stored.direction == OUTGOING)
                    {
                        // The signer's clock is not trusted with the case's last activity
                        // (which retention counts from).
                        let at_ms = evidence.at_ms.min(trm_proto::time::now_ms());
                        record_receipt_in_case(t, &summary, event, erased_messages, at_ms)?;
                    }
                    stored.evidence.push(evidence.clone());
                    // Receipts arrive on two paths (the submit answer and the delivery stream), so a
                    // refusal relayed back quickly can overtake the broker's own receipt: keep the
                    // evidence in the order of the chain, not of arrival.
                    stored.evidence.sort_by_key(|e| evidence_rank(&e.step));
                    messages.insert(key, stored.encode_to_vec())?;
                    Ok((true, leave_outbox(outbox, outbox_sequence)?))
                }
            })
            .await?;
        if let Some(sequence) = outbox_sequence {
            self.handover.left(sequence);
        }
        self.durable().await?;
        let (recorded, sent) = recorded;
        // Out of the outbox and on disk: the envelope is not needed again.
        if let Some(place) = sent
            && let Err(e) = self.engine()?.content.wipe(&place)
        {
            tracing::warn!(error = %e, "a sent envelope could not be wiped from its file");
        }
        Ok(recorded)
    }

    /// Records a receipt about a message this node sent (its local view: an addressee's
    /// private part already opened into it, see [`crate::receipt_private`]). Only the signer
    /// entitled to a step moves the case: the addressee with DELIVERED or REJECTED, the broker
    /// that held the envelope with EXPIRED. A broker's REJECTED (a peer broker refused to
    /// relay) is kept as evidence and logged, and changes no state: a later DELIVERED from the
    /// addressee counts, and the evidence shows both.
    pub async fn record_receipt(
        &self,
        receipt: &VerifiedReceipt,
        outbox_sequence: Option<u64>,
    ) -> Result<bool, StoreError> {
        let r = &receipt.receipt;
        let key = message_key(&r.from, &r.message_id);
        let by_addressee = r.signer == r.to;
        let code = trm_proto::receipt::reason_code(r);
        let words = trm_proto::receipt::reason_words(code);
        let (step, event) = match receipt.kind() {
            pb::ReceiptKind::Accepted => ("accepted", pb::LogEvent::Accepted),
            pb::ReceiptKind::Relayed => ("relayed", pb::LogEvent::Relayed),
            pb::ReceiptKind::Delivered => ("delivered", pb::LogEvent::Delivered),
            pb::ReceiptKind::Rejected => ("rejected", pb::LogEvent::Rejected),
            // Not delivered, for good: logged as a refusal.
            pb::ReceiptKind::Expired => ("expired", pb::LogEvent::Rejected),
            pb::ReceiptKind::Unspecified => ("unknown", pb::LogEvent::Unspecified),
        };
        let moves_case = match receipt.kind() {
            pb::ReceiptKind::Delivered if by_addressee => Some(r.erased_messages),
            pb::ReceiptKind::Rejected if by_addressee => Some(0),
            pb::ReceiptKind::Expired => Some(0),
            _ => None,
        };
        // The addressee's detail (from its private part, or in clear on an old receipt).
        let detail_of = |words: &str| {
            if r.reason.is_empty() || r.reason == words {
                words.to_owned()
            } else {
                format!("{words} ({})", r.reason)
            }
        };
        let detail = match receipt.kind() {
            pb::ReceiptKind::Accepted => format!("stored by broker {}", r.signer),
            pb::ReceiptKind::Relayed => format!("relayed by broker {}", r.signer),
            pb::ReceiptKind::Delivered if r.erased_messages > 0 => format!(
                "verified and logged by {} as entry {}; the content of {} messages of the case erased there",
                r.signer, r.log_index, r.erased_messages
            ),
            pb::ReceiptKind::Delivered => format!(
                "verified, decrypted and logged by {} as entry {}",
                r.signer, r.log_index
            ),
            pb::ReceiptKind::Rejected if by_addressee && code == pb::RejectReason::Unspecified => {
                // An old receipt: its reason was in clear.
                format!("refused by {}: {}", r.signer, r.reason)
            }
            pb::ReceiptKind::Rejected if by_addressee => {
                format!("refused by {}: {}", r.signer, detail_of(words))
            }
            pb::ReceiptKind::Rejected => format!(
                "broker {} reports: {words}; kept as evidence, the addressee's own receipt decides",
                r.signer
            ),
            pb::ReceiptKind::Expired => {
                format!("expired, not delivered: removed by broker {}", r.signer)
            }
            pb::ReceiptKind::Unspecified => String::new(),
        };
        // The log entry carries the code's words only, never text a partner or broker wrote.
        let logged_reason = match receipt.kind() {
            pb::ReceiptKind::Rejected => words,
            pb::ReceiptKind::Expired => "its delivery window ended",
            _ => "",
        };
        self.record_evidence(
            outbox_sequence,
            &key,
            pb::Evidence {
                step: step.into(),
                at_ms: r.at_ms,
                attested_by: r.signer.clone(),
                detail,
                receipt: Some(receipt.signed.clone()),
            },
            (event, moves_case),
            Some(receipt.digest()),
            logged_reason,
        )
        .await
    }

    /// Stores a verified incoming message (its `signed_body` encrypted to the case key), logs
    /// RECEIVED and records the DELIVERED receipt `sign` makes from its log index and the
    /// number of messages it erased; on disk, with one device sync for both, when this
    /// returns. A redelivered message is answered with the receipt first recorded for it.
    /// [`StoreError::Case`] (an illegal case step) and [`StoreError::IdReused`] (an id already
    /// stored for another envelope) store nothing.
    pub async fn record_received(
        &self,
        envelope: &pb::Envelope,
        facts: &EntryFacts<'_>,
        signed_body: &[u8],
        now_ms: u64,
        sign: impl FnOnce(u64, u32) -> pb::SignedReceipt,
    ) -> Result<Delivered, StoreError> {
        match self
            .store_received(envelope, facts, signed_body, now_ms)
            .await?
        {
            Received::Answered { receipt, log_index } => Ok(Delivered {
                receipt,
                log_index,
                duplicate: true,
            }),
            Received::Stored {
                log_index,
                erased_messages,
                duplicate,
            } => {
                let key = message_key(facts.header.from.as_str(), facts.header.message_id.as_str());
                let receipt = self
                    .record_delivery_receipt(&key, sign(log_index, erased_messages))
                    .await?;
                Ok(Delivered {
                    receipt,
                    log_index,
                    duplicate,
                })
            }
        }
    }

    /// The first step of [`NodeStore::record_received`]: stores the message and logs RECEIVED,
    /// committed when this returns and on disk with the next durable wait (its sealed content
    /// and case key already are). A consent withdrawal erases the case's content in the same
    /// transaction (logged ERASED), on disk, and its key is destroyed before this returns,
    /// so the receipt the node then signs acknowledges an erasure already done. A redelivered
    /// message is not stored twice: its recorded receipt is returned, or, when none was
    /// recorded yet, what the node needs to sign it again.
    async fn store_received(
        &self,
        envelope: &pb::Envelope,
        facts: &EntryFacts<'_>,
        signed_body: &[u8],
        now_ms: u64,
    ) -> Result<Received, StoreError> {
        let header = facts.header;
        let key = message_key(header.from.as_str(), header.message_id.as_str());
        let case_key = cases::case_key(header.from.as_str(), facts.case_ref);
        let withdrawal = matches!(facts.content, Some(pb::body::Content::ConsentWithdrawal(_)));
        let erasure = Erasure {
            case_key: case_key.clone(),
            own: header.to.to_string(),
            at_ms: now_ms,
            reason: format!("consent withdrawn by {}", header.from),
            message_id: header.message_id.to_string(),
            actor: "node".into(),
            idle_since_ms: None,
            scope: Scope::Disclosed,
        };
        if let Some(bytes) = self.engine()?.messages.get(&key)? {
            return self
                .redelivered(&bytes, facts.digest, withdrawal, &case_key)
                .await;
        }
        let step = facts.step(header.from.as_str(), INCOMING, now_ms);
        let key_use = self.key_users.enter(&case_key, &case_key, "");
        let context = ErasureContext::new(self)?;
        let in_change = context.clone();
        let (content_place, erased_at_ms, erased_reason) = if withdrawal {
            (None, now_ms, erasure.reason.clone())
        } else if !facts.is_case_traffic() {
            (None, now_ms, NOT_KEPT.to_owned())
        } else {
            let sealed = self.seal(&case_key, signed_body).await?;
            let place = self.place(vec![sealed]).await?.into_iter().next();
            (place, 0, String::new())
        };
        let log_entry = entry(
            pb::LogEvent::Received,
            header.from.as_str(),
            facts,
            now_ms,
            "node",
        );
        let summary = summary(facts, now_ms);
        let onward = match facts.content {
            // Indexed only while its content is kept (see `onward_index`).
            Some(provided)
                if content_place.is_some()
                    && summary.handling_code == i32::from(pb::HandlingCode::H2) =>
            {
                let fingerprints = self.onward_fingerprints(provided);
                // Before the change commits: the memory may hold more than the index, never
                // less.
                self.onward_shorts.note(&fingerprints);
                Some(fingerprints)
            }
            _ => None,
        };
        let envelope = without_ciphertext(envelope);
        let stored_key = key.clone();
        let received = self
            .change(move |t| {
                let (messages, log) = (t.messages, t.log);
                if messages.get(key.as_slice())?.is_some() {
                    // Stored by a change committed just before this one, which did any
                    // erasure: answered below from what it stored.
                    return Ok(None);
                }
                apply_case(t, step.as_ref())?;
                let appended = log.append(log_entry.clone())?;
                let erased = if withdrawal {
                    erase_in_transaction(t, &erasure, &in_change)?.unwrap_or(0)
                } else {
                    0
                };
                let stored = pb::StoredMessage {
                    summary: Some(summary.clone()),
                    direction: INCOMING.into(),
                    envelope: Some(envelope.clone()),
                    log_index: appended.index,
                    content_place,
                    erased_at_ms,
                    erased_reason: erased_reason.clone(),
                    ..Default::default()
                };
                messages.insert(key.as_slice(), stored.encode_to_vec())?;
                inbox_list::add(t, summary.received_at_ms, &key)?;
                if let Some(fingerprints) = &onward {
                    onward_index::add(t.onward, &key, fingerprints)?;
                }
                Ok(Some(Received::Stored {
                    log_index: appended.index,
                    erased_messages: erased,
                    duplicate: false,
                }))
            })
            .await;
        context.settle(&received);
        let Some(received) = self.unless_refused(received, &key_use)? else {
            drop(key_use);
            let bytes = self
                .engine()?
                .messages
                .get(&stored_key)?
                .ok_or_else(|| corrupt("messages", "a stored message vanished"))?;
            return self
                .redelivered(&bytes, facts.digest, withdrawal, &case_key)
                .await;
        };
        // A withdrawal's erasure is on disk before the key goes, and both before the receipt
        // that acknowledges it is signed. Anything else need not be on disk yet: its receipt
        // leaves the node only once the change recording it is durable
        // ([`NodeStore::record_received`]), and a durable wait covers every change committed
        // before it, this one too.
        if withdrawal {
            self.durable().await?;
            context.wipe_cleared(self);
            self.vault.erase(&case_key)?;
        }
        Ok(received)
    }

    /// The outcome of a change that sealed content to a case key: when it failed (the case
    /// refused the step, or the store could not commit), the key is checked once its last user
    /// is done and destroyed unless a live case holds content under it, so a refused step
    /// leaves nothing behind and an ended, erased case never gets a key again.
    fn unless_refused<R>(
        &self,
        outcome: Result<R, StoreError>,
        key_use: &KeyUse,
    ) -> Result<R, StoreError> {
        if outcome.is_err() {
            key_use.refused();
        }
        outcome
    }

    /// The answer to a delivery of a message already stored (a redelivery, or a copy delivered
    /// at the same time): refused when the sender reused the id for another envelope; otherwise
    /// what was stored, flushed, with a withdrawal's key destroyed (a stop may have come between
    /// recording the erasure and destroying the key).
    async fn redelivered(
        &self,
        bytes: &[u8],
        digest: &EnvelopeDigest,
        withdrawal: bool,
        case_key: &[u8],
    ) -> Result<Received, StoreError> {
        let stored = pb::StoredMessage::decode(bytes).map_err(|e| corrupt("messages", e))?;
        let summary = stored.summary.clone().unwrap_or_default();
        if summary.envelope_digest != digest.as_slice() {
            return Err(StoreError::IdReused(summary.message_id));
        }
        let received = self.already_received(&stored)?;
        // Flushed, in case it was committed by a caller that has not flushed yet.
        self.durable().await?;
        if withdrawal {
            self.vault.erase(case_key)?;
        }
        Ok(received)
    }

    /// What a redelivery of the stored incoming message `stored` is answered from: its recorded
    /// receipt, or, when none was recorded, its log index and how many messages it erased (the
    /// messages of its case erased with it, by the same consent withdrawal).
    fn already_received(&self, stored: &pb::StoredMessage) -> Result<Received, StoreError> {
        if let Some(receipt) = &stored.delivery_receipt {
            return Ok(Received::Answered {
                receipt: receipt.clone(),
                log_index: stored.log_index,
            });
        }
        let summary = stored.summary.clone().unwrap_or_default();
        let mut erased_messages = 0u32;
        let withdrawn =
            stored.erased_at_ms != 0 && stored.erased_reason.starts_with("consent withdrawn");
        if withdrawn {
            let case_key = cases::case_key(&summary.from, &summary.case_ref);
            if let Some(bytes) = self.engine()?.cases.get(&case_key)? {
                let case =
                    pb::StoredCase::decode(bytes.as_ref()).map_err(|e| corrupt(CASES_TREE, e))?;
                for message in &case.thread {
                    if message.message_id == summary.message_id {
                        continue;
                    }
                    let from = if message.direction == OUTGOING {
                        summary.to.as_str()
                    } else {
                        summary.from.as_str()
                    };
                    let Some(bytes) = self
                        .engine()?
                        .messages
                        .get(message_key(from, &message.message_id))?
                    else {
                        continue;
                    };
                    let other = pb::StoredMessage::decode(bytes.as_ref())
                        .map_err(|e| corrupt("messages", e))?;
                    if other.erased_at_ms == stored.erased_at_ms
                        && other.erased_reason == stored.erased_reason
                    {
                        erased_messages = erased_messages.saturating_add(1);
                    }
                }
            }
        }
        Ok(Received::Stored {
            log_index: stored.log_index,
            erased_messages,
            duplicate: true,
        })
    }

    /// Records the DELIVERED receipt the node signed for the incoming message under `key`, on
    /// disk when this returns. If one was recorded already (the same message delivered twice at
    /// once), that one is kept and returned, so every delivery is answered with the same
    /// receipt.
    async fn record_delivery_receipt(
        &self,
        key: &[u8],
        receipt: pb::SignedReceipt,
    ) -> Result<pb::SignedReceipt, StoreError> {
        let key = key.to_vec();
        let recorded = self
            .change(move |t| {
                let bytes = t.messages.get(key.as_slice())?.ok_or_else(|| {
                    abort(StoreError::NotFound(
                        String::from_utf8_lossy(&key).replace('\0', "/"),
                    ))
                })?;
                let mut stored = pb::StoredMessage::decode(bytes.as_ref())
                    .map_err(|e| abort(corrupt("messages", e)))?;
                if let Some(existing) = stored.delivery_receipt {
                    return Ok(existing);
                }
                stored.delivery_receipt = Some(receipt.clone());
                t.messages.insert(key.as_slice(), stored.encode_to_vec())?;
                Ok(receipt.clone())
            })
            .await?;
        self.durable().await?;
        Ok(recorded)
    }

    /// Logs that a delivered envelope was refused. Nothing of its content is stored.
    pub async fn record_refused(
        &self,
        header: &pb::EnvelopeHeader,
        digest: &EnvelopeDigest,
        now_ms: u64,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let log_entry = pb::LogEntry {
            at_ms: now_ms,
            event: pb::LogEvent::Refused.into(),
            message_id: header.message_id.clone(),
            counterparty: header.from.clone(),
            kind: header.kind,
            envelope_digest: digest.to_vec(),
            actor: "node".into(),
            reason: reason.to_owned(),
            ..Default::default()
        };
        let index = self
            .change(move |t| Ok(t.log.append(log_entry.clone())?.index))
            .await?;
        self.durable().await?;
        Ok(index)
    }

    /// Logs that content key `key_id` was destroyed (see [`crate::epochs`]); on disk when
    /// this returns.
    pub async fn record_key_retired(&self, key_id: &str, now_ms: u64) -> Result<u64, StoreError> {
        let log_entry = pb::LogEntry {
            at_ms: now_ms,
            event: pb::LogEvent::KeyRetired.into(),
            actor: "node".into(),
            reason: format!("content key {key_id} destroyed"),
            ..Default::default()
        };
        let index = self
            .change(move |t| Ok(t.log.append(log_entry.clone())?.index))
            .await?;
        self.durable().await?;
        Ok(index)
    }

    /// Received messages whose content came under handling code `code`.
    pub fn incoming_under(
        &self,
        code: pb::HandlingCode,
    ) -> Result<Vec<pb::StoredMessage>, StoreError> {
        let mut found = Vec::new();
        for value in self.engine()?.messages.iter().values() {
            let stored =
                pb::StoredMessage::decode(value?.as_ref()).map_err(|e| corrupt("messages", e))?;
            if stored.direction == INCOMING
                && stored
                    .summary
                    .as_ref()
                    .is_some_and(|s| s.handling_code == i32::from(code))
            {
                found.push(stored);
            }
        }
        Ok(found)
    }

    /// Handover-log entries from `from`.
    pub fn log_entries(&self, from: u64, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        Ok(self.engine()?.log.read(from, limit)?)
    }

    /// Verifies the whole handover log.
    pub fn verify_log(&self) -> Result<ChainSummary, LogError> {
        let engine = self.engine().map_err(|e| LogError::Storage(Box::new(e)))?;
        engine.log.verify()
    }

    /// The stored bytes of up to `limit` handover-log entries from `from`.
    pub fn log_entry_bytes(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.engine()?.log.read_bytes(from, limit)?)
    }

    /// How many entries the handover log holds, by its head record.
    pub fn log_len(&self) -> Result<u64, StoreError> {
        Ok(self.engine()?.log.entry_count()?)
    }

    /// Stores a signed checkpoint note of tree size `size`, on disk when this returns. A
    /// checkpoint already stored at that size is never replaced.
    pub async fn record_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        let stored = self
            .engine
            .writable()?
            .checkpoints
            .compare_and_swap(
                size.to_be_bytes(),
                None as Option<&[u8]>,
                Some(note.as_bytes()),
            )
            .map_err(|e| self.engine.observe(e.into()))?;
        match stored {
            Ok(()) => Ok(self.durable().await?),
            Err(existing) if existing.current.as_deref() == Some(note.as_bytes()) => {
                Ok(self.durable().await?)
            }
            Err(_) => Err(corrupt(
                CHECKPOINTS_TREE,
                format!("a different checkpoint is already stored at size {size}"),
            )),
        }
    }

    /// Every stored checkpoint, by increasing tree size: `(size, signed note)`.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, StoreError> {
        self.engine()?
            .checkpoints
            .iter()
            .map(|item| decode_checkpoint(item?))
            .collect()
    }

    /// The latest stored checkpoint, if any: `(size, signed note)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.engine()?
            .checkpoints
            .last()?
            .map(decode_checkpoint)
            .transpose()
    }

    /// The number this node's next step in its case with `counterparty` under `case_ref`
    /// carries (1 when there is no such case yet): see [`cases::next_sequence`].
    pub fn next_case_sequence(
        &self,
        counterparty: &str,
        case_ref: &str,
    ) -> Result<u64, StoreError> {
        let key = cases::case_key(counterparty, case_ref);
        match self.engine()?.cases.get(key)? {
            Some(bytes) => {
                let case =
                    pb::StoredCase::decode(bytes.as_ref()).map_err(|e| corrupt(CASES_TREE, e))?;
                Ok(cases::next_sequence(&case))
            }
            None => Ok(1),
        }
    }

    /// Every case, one at a time, in key order: for a pass over all of them that keeps only
    /// what it needs (a node may hold 100,000).
    pub fn each_case(
        &self,
    ) -> Result<impl Iterator<Item = Result<pb::StoredCase, StoreError>> + use<>, StoreError> {
        Ok(self.engine()?.cases.iter().values().map(|value| {
            pb::StoredCase::decode(value?.as_ref()).map_err(|e| corrupt(CASES_TREE, e))
        }))
    }

    /// The case with reference `case_ref`, with `counterparty` if given (one lookup); without
    /// it the reference must be used with only one organisation (a pass over every case).
    pub fn case(&self, case_ref: &str, counterparty: &str) -> Result<pb::StoredCase, StoreError> {
        if !counterparty.is_empty() {
            let value = self
                .engine()?
                .cases
                .get(cases::case_key(counterparty, case_ref))?
                .ok_or_else(|| StoreError::NoCase(case_ref.to_owned()))?;
            return pb::StoredCase::decode(value.as_ref()).map_err(|e| corrupt(CASES_TREE, e));
        }
        let mut found = Vec::new();
        for case in self.each_case()? {
            let case = case?;
            if case
                .summary
                .as_ref()
                .is_some_and(|s| s.case_ref == case_ref)
            {
                found.push(case);
            }
        }
        match found.len() {
            0 => Err(StoreError::NoCase(case_ref.to_owned())),
            1 => Ok(found.remove(0)),
            _ => Err(StoreError::AmbiguousCase {
                case_ref: case_ref.to_owned(),
                counterparties: found
                    .iter()
                    .filter_map(|c| c.summary.as_ref().map(|s| s.counterparty.clone()))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Messages waiting for the broker.
    pub fn outbox_len(&self) -> Result<usize, StoreError> {
        Ok(self.engine()?.outbox.len())
    }

    /// What this node witnessed of its partners' logs.
    pub fn witness(&self) -> Result<WitnessStore, StoreError> {
        Ok(self.engine()?.witness.clone())
    }
}

#[cfg(test)]
mod erasure_tests;

#[cfg(test)]
mod tests {
    use trm_proto::addr::{MessageId, NodeAddr};

    use super::idempotency::Lookup;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_key_made_for_a_refused_change_goes_when_its_last_user_is_done() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let case_key = cases::case_key("astra@rs", "RS-ASTRA-1");
        // Two changes to one new case: the first makes the key and is refused, the second
        // seals to the same key meanwhile.
        let first = store.key_users.enter(&case_key, &case_key, "");
        store.vault.seal(&case_key, b"first")?;
        let second = store.key_users.enter(&case_key, &case_key, "");
        store.vault.seal(&case_key, b"second")?;
        first.refused();
        drop(first);
        assert!(
            store.vault.has_key(&case_key),
            "kept while another change uses it"
        );
        // The second was refused too (a hostile partner's pair of illegal first steps): once
        // it is done, the key goes, since no case holds content under it.
        second.refused();
        drop(second);
        assert!(!store.vault.has_key(&case_key));
        // A change that was not refused leaves its key alone.
        let accepted = store.key_users.enter(&case_key, &case_key, "");
        store.vault.seal(&case_key, b"third")?;
        drop(accepted);
        assert!(store.vault.has_key(&case_key));
        assert!(
            store
                .key_users
                .users
                .lock()
                .map(|u| u.is_empty())
                .unwrap_or(false)
        );
        Ok(())
    }

    /// The facts of a message of `content` in the case `case_ref`, with no audit flags and no
    /// step number.
    fn entry_facts<'a>(
        header: &'a Header,
        digest: &'a EnvelopeDigest,
        case_ref: &'a str,
        content: &'a pb::body::Content,
    ) -> EntryFacts<'a> {
        EntryFacts {
            header,
            digest,
            case_ref,
            flags: pb::AuditFlags::default(),
            content: Some(content),
            sequence: 0,
        }
    }

    fn header(id: &str, kind: pb::MessageKind) -> Result<Header, Box<dyn std::error::Error>> {
        Ok(Header {
            message_id: id.parse::<MessageId>()?,
            from: "astra@rs".parse::<NodeAddr>()?,
            to: "lefoe-ibf@at".parse::<NodeAddr>()?,
            created_at_ms: 1_700_000_000_000,
            expires_at_ms: 1_800_000_000_000,
            priority: pb::Priority::Routine,
            kind,
            ciphertext_sha256: [0; 32],
            recipient_key_id: String::new(),
        })
    }

    fn receipt(at_ms: u64) -> pb::SignedReceipt {
        pb::SignedReceipt {
            receipt: pb::Receipt {
                at_ms,
                ..Default::default()
            }
            .encode_to_vec(),
            signature: vec![1; 64],
        }
    }

    #[tokio::test]
    async fn a_received_message_is_recorded_with_the_receipt_signed_for_it_once_for_ever()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let id = "0".repeat(32);
        let referral = header(&id, pb::MessageKind::Referral)?;
        let content = pb::body::Content::Referral(pb::Referral::default());
        let facts = entry_facts(&referral, &[7; 32], "AT-LEFOE-2026-0042", &content);
        let envelope = pb::Envelope::default();
        {
            let store = NodeStore::open(dir.path())?;
            let signed = std::cell::RefCell::new(Vec::new());
            let sign = |log_index, erased| {
                signed.borrow_mut().push((log_index, erased));
                receipt(100 + log_index)
            };
            let first = store
                .record_received(&envelope, &facts, b"body", 1_700_000_000_001, sign)
                .await?;
            assert_eq!(first.receipt, receipt(100));
            assert_eq!((first.log_index, first.duplicate), (0, false));
            assert_eq!(*signed.borrow(), [(0, 0)]);
            // Delivered again: answered from what was recorded, nothing signed anew.
            let sign_again = |_, _| receipt(999);
            let again = store
                .record_received(&envelope, &facts, b"body", 1_700_000_000_002, sign_again)
                .await?;
            assert_eq!(again.receipt, receipt(100));
            assert_eq!((again.log_index, again.duplicate), (0, true));
        }
        let store = NodeStore::open(dir.path())?;
        let after = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_003)
            .await?;
        assert!(
            matches!(after, Received::Answered { receipt: r, log_index: 0 } if r == receipt(100))
        );
        assert_eq!(store.log_len()?, 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_redelivery_is_answered_with_the_first_recorded_receipt_and_a_refused_step_keeps_no_key()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let id = "0".repeat(32);
        let referral = header(&id, pb::MessageKind::Referral)?;
        let content = pb::body::Content::Referral(pb::Referral::default());
        let facts = entry_facts(&referral, &[7; 32], "AT-LEFOE-2026-0042", &content);
        let envelope = pb::Envelope::default();
        let first = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_001)
            .await?;
        assert!(matches!(
            first,
            Received::Stored {
                log_index: 0,
                duplicate: false,
                ..
            }
        ));
        // Delivered again before its receipt was recorded: stored once, signed again.
        let again = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_002)
            .await?;
        assert!(matches!(
            again,
            Received::Stored {
                log_index: 0,
                duplicate: true,
                ..
            }
        ));
        let key = message_key("astra@rs", &id);
        let kept = store.record_delivery_receipt(&key, receipt(1)).await?;
        assert_eq!(kept, receipt(1));
        assert_eq!(
            store.record_delivery_receipt(&key, receipt(2)).await?,
            receipt(1)
        );
        let answered = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_003)
            .await?;
        assert!(
            matches!(answered, Received::Answered { receipt: r, log_index: 0 } if r == receipt(1))
        );
        assert_eq!(store.log_len()?, 1);

        // A consent withdrawal erases the case's content, says how much, and destroys its key.
        let case_key = cases::case_key("astra@rs", "AT-LEFOE-2026-0042");
        assert!(store.has_case_key(&case_key));
        let withdrawal = header(&"1".repeat(32), pb::MessageKind::ConsentWithdrawal)?;
        let content = pb::body::Content::ConsentWithdrawal(pb::ConsentWithdrawal::default());
        let facts = entry_facts(&withdrawal, &[8; 32], "AT-LEFOE-2026-0042", &content);
        let erased = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_004)
            .await?;
        assert!(matches!(
            erased,
            Received::Stored {
                erased_messages: 1,
                duplicate: false,
                ..
            }
        ));
        assert!(!store.has_case_key(&case_key));
        // Delivered again before its receipt was recorded: the same count is signed again.
        let again = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_005)
            .await?;
        assert!(matches!(
            again,
            Received::Stored {
                erased_messages: 1,
                duplicate: true,
                ..
            }
        ));
        let entries = store.log_len()?;

        // Nothing more is taken in the ended case, and no key is made for it again.
        let update = header(&"2".repeat(32), pb::MessageKind::CaseUpdate)?;
        let content = pb::body::Content::CaseUpdate(pb::CaseUpdate::default());
        let facts = entry_facts(&update, &[9; 32], "AT-LEFOE-2026-0042", &content);
        let refused = store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_006)
            .await;
        assert!(matches!(refused, Err(StoreError::Case(_))), "{refused:?}");
        assert!(!store.has_case_key(&case_key));
        assert_eq!(store.log_len()?, entries);
        Ok(())
    }

    /// A change that keeps the writer busy, so that the changes handed in meanwhile run
    /// together in its next batch.
    fn hold_the_writer(
        store: &NodeStore,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + '_ {
        store.change(|_| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        })
    }

    #[tokio::test]
    async fn two_concurrent_illegal_first_steps_of_a_partner_leave_no_key() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let content = pb::body::Content::InfoResponse(pb::InfoResponse::default());
        let (a, b) = (
            header(&"a".repeat(32), pb::MessageKind::InfoResponse)?,
            header(&"b".repeat(32), pb::MessageKind::InfoResponse)?,
        );
        let facts = |header, digest| entry_facts(header, digest, "NEW-1", &content);
        let (fa, fb) = (facts(&a, &[1; 32]), facts(&b, &[2; 32]));
        let envelope = pb::Envelope::default();
        let both = futures_util::future::join(
            store.store_received(&envelope, &fa, b"body", 1_700_000_000_001),
            store.store_received(&envelope, &fb, b"body", 1_700_000_000_002),
        );
        let (held, (ra, rb)) = tokio::join!(hold_the_writer(&store), both);
        held?;
        assert!(matches!(ra, Err(StoreError::Case(_))), "{ra:?}");
        assert!(matches!(rb, Err(StoreError::Case(_))), "{rb:?}");
        assert!(!store.has_case_key(&cases::case_key("astra@rs", "NEW-1")));
        Ok(())
    }

    #[tokio::test]
    async fn concurrent_deliveries_of_one_withdrawal_all_report_what_it_erased() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let envelope = pb::Envelope::default();
        let referral = header(&"0".repeat(32), pb::MessageKind::Referral)?;
        let content = pb::body::Content::Referral(pb::Referral::default());
        let facts = entry_facts(&referral, &[7; 32], "C-1", &content);
        store
            .store_received(&envelope, &facts, b"body", 1_700_000_000_001)
            .await?;
        let withdrawal = header(&"1".repeat(32), pb::MessageKind::ConsentWithdrawal)?;
        let content = pb::body::Content::ConsentWithdrawal(pb::ConsentWithdrawal::default());
        let facts = entry_facts(&withdrawal, &[8; 32], "C-1", &content);
        let all = futures_util::future::join_all(
            (0..16u64)
                .map(|i| store.store_received(&envelope, &facts, b"body", 1_700_000_000_004 + i)),
        );
        let (held, all) = tokio::join!(hold_the_writer(&store), all);
        held?;
        for received in all {
            match received? {
                Received::Stored {
                    erased_messages, ..
                } => assert_eq!(erased_messages, 1),
                other => return Err(format!("unexpected {other:?}").into()),
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_stored_message_records_where_its_content_is_not_the_content() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let referral = header(&"0".repeat(32), pb::MessageKind::Referral)?;
        let content = pb::body::Content::Referral(pb::Referral::default());
        let facts = entry_facts(&referral, &[7; 32], "C-1", &content);
        let body = vec![b'x'; 8192];
        store
            .store_received(&pb::Envelope::default(), &facts, &body, 1_700_000_000_001)
            .await?;
        let key = message_key(referral.from.as_str(), referral.message_id.as_str());
        // The engine rewrites a record with each change to it: 8 KiB of content in it would
        // be copied with every receipt.
        let record = store.engine()?.messages.get(&key)?.ok_or("not stored")?;
        assert!(
            record.len() < 1024,
            "the record holds {} bytes",
            record.len()
        );
        let stored = store.stored_message(&key)?;
        assert!(stored.content.is_empty() && stored.content_place.is_some());
        assert_eq!(store.content(&stored)?, body);
        drop(store);
        let store = NodeStore::open(dir.path())?;
        assert_eq!(
            store.content(&store.stored_message(&key)?)?,
            body,
            "after a reopen"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_message_id_reused_for_another_envelope_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let envelope = pb::Envelope::default();
        let referral = header(&"0".repeat(32), pb::MessageKind::Referral)?;
        let content = pb::body::Content::Referral(pb::Referral::default());
        let facts = |digest| entry_facts(&referral, digest, "C-1", &content);
        store
            .store_received(&envelope, &facts(&[7; 32]), b"body", 1_700_000_000_001)
            .await?;
        let entries = store.log_len()?;
        let reused = store
            .store_received(&envelope, &facts(&[9; 32]), b"other", 1_700_000_000_002)
            .await;
        assert!(matches!(reused, Err(StoreError::IdReused(_))), "{reused:?}");
        assert_eq!(store.log_len()?, entries);
        Ok(())
    }

    #[tokio::test]
    async fn an_idempotency_key_is_kept_with_its_message_and_never_sends_twice() -> TestResult {
        let dir = tempfile::tempdir()?;
        let claim = idempotency::Claim::new("retry-key-0123456789".into(), b"request");
        let other = idempotency::Claim::new(claim.key.clone(), b"another request");
        let content = pb::body::Content::Referral(pb::Referral::default());
        let send = |id: &str| header(id, pb::MessageKind::Referral);
        let (first, second) = (send(&"1".repeat(32))?, send(&"2".repeat(32))?);
        let facts = |header| entry_facts(header, &[7; 32], "RS-ASTRA-1", &content);
        let envelope = pb::Envelope::default();
        {
            let store = NodeStore::open(dir.path())?;
            assert_eq!(store.idempotent(&claim)?, idempotency::Lookup::Unused);
            let index = store
                .record_sent(&envelope, &facts(&first), b"body", 5, "t", Some(&claim))
                .await?;
            let Lookup::Repeat(done) = store.idempotent(&claim)? else {
                return Err("the key was not recorded".into());
            };
            assert_eq!(
                (done.message_id.as_str(), done.log_index),
                (first.message_id.as_str(), index)
            );
            assert_eq!((done.envelope_digest, done.at_ms), ([7; 32], 5));
            assert_eq!(store.idempotent(&other)?, idempotency::Lookup::Other);
            // A second message under the key (a race the admin service loses) stores nothing.
            let (outbox, log) = (store.outbox_len()?, store.log_len()?);
            let again = store
                .record_sent(&envelope, &facts(&second), b"body", 6, "t", Some(&claim))
                .await;
            assert!(
                matches!(again, Err(StoreError::IdempotencyKeyTaken)),
                "{again:?}"
            );
            assert_eq!((store.outbox_len()?, store.log_len()?), (outbox, log));
            assert!(
                store
                    .stored_message(&message_key("astra@rs", &"2".repeat(32)))
                    .is_err()
            );
        }
        let reopened = NodeStore::open(dir.path())?;
        let Lookup::Repeat(done) = reopened.idempotent(&claim)? else {
            return Err("the key did not survive reopening".into());
        };
        assert_eq!(done.message_id, first.message_id.as_str());
        assert_eq!(reopened.outbox_len()?, 1);
        // Kept until its time has passed, then forgotten.
        assert_eq!(reopened.prune_idempotency_keys(5)?, 0);
        assert!(matches!(reopened.idempotent(&claim)?, Lookup::Repeat(_)));
        assert_eq!(reopened.prune_idempotency_keys(6)?, 1);
        assert_eq!(reopened.idempotent(&claim)?, Lookup::Unused);
        Ok(())
    }
}
