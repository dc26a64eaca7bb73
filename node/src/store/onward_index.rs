//! The onward-sharing index: for each H2 message this node received and can still read, the
//! fingerprints [`crate::handling`] keeps of its content, so the check before each send looks
//! up the messages that may hold what it sends instead of reading them all.
//!
//! One tree, [`TREE`], with three kinds of record:
//! - `fingerprint ‖ message key` → nothing: a message holds a piece with that fingerprint;
//! - `M ‖ message key` → its fingerprints one after the other: what to remove on erasure;
//! - `V` → the index's version and a check of the vault secret its fingerprints are keyed
//!   with, written last when the index is built.
//!
//! Records are added in the same transaction that stores the message and removed in the one
//! that erases its case, so the index and the messages never disagree, not even after a crash.
//! A store without the version record (made before the index, or restored with another
//! vault) has its index built again when it opens: one pass over the messages, logged.
//!
//! The short-text fingerprints ([`Shorts`]) are kept in memory as well: a content to be sent
//! looks one up for every run of [`crate::handling::SHORTEST_TEXT_CHARS`] characters it has
//! (about 8,000 for an 8 KiB text, against about 1,600 passage pieces), while the node holds
//! one for each short H2 text it received. The memory is filled from the tree when the store opens and added to
//! before each indexed message is stored; it is not trimmed on erasure, so it may name a
//! fingerprint the tree no longer has (whose lookup then finds nothing), never the other way.

use std::collections::{BTreeSet, HashSet};
use std::sync::{PoisonError, RwLock};

use prost::Message as _;
use sled::transaction::TransactionalTree;
use trm_proto::pb;

use super::combine::Abort;
use super::content::ContentFile;
use super::{INCOMING, NodeStore, StoreError, case_key_of, corrupt};
use crate::handling::{FINGERPRINT_BYTES, Fingerprints, SHORT};
use crate::vault::{Vault, VaultError};

/// The index's tree.
pub(super) const TREE: &str = "onward_sharing";

/// The key of the version record.
const VERSION_KEY: &[u8] = b"V";
/// The version of the fingerprints: a change in how they are made changes it.
const VERSION: u8 = 1;
/// The kind of the records listing a message's fingerprints.
const BY_MESSAGE: u8 = b'M';
/// What the vault secret is asked for.
const PURPOSE: &str = "onward-sharing index";

fn by_message(message_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(message_key.len() + 1);
    key.push(BY_MESSAGE);
    key.extend_from_slice(message_key);
    key
}

fn entry(fingerprint: &[u8], message_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(fingerprint.len() + message_key.len());
    key.extend_from_slice(fingerprint);
    key.extend_from_slice(message_key);
    key
}

/// The version record for a vault: the version, then 8 bytes that tell its secret.
fn version_record(secret: &[u8; 32]) -> Vec<u8> {
    use sha2::Digest as _;
    let check = sha2::Sha256::new()
        .chain_update(b"onward-sharing index check")
        .chain_update(secret)
        .finalize();
    let mut record = vec![VERSION];
    record.extend_from_slice(check.get(..8).unwrap_or_default());
    record
}

/// The short-text fingerprints the index holds, in memory (see the module's documentation):
/// a superset of those in the tree.
#[derive(Debug, Default)]
pub(super) struct Shorts(RwLock<HashSet<[u8; FINGERPRINT_BYTES]>>);

impl Shorts {
    /// Those in `tree`: its short-text records are one range, as their keys begin with the
    /// fingerprint, whose first byte is its kind.
    pub(super) fn load(tree: &sled::Tree) -> Result<Self, StoreError> {
        let mut held = HashSet::new();
        for item in tree.scan_prefix([SHORT]) {
            let (key, _) = item?;
            if let Some(fingerprint) = key
                .get(..FINGERPRINT_BYTES)
                .and_then(|f| <[u8; FINGERPRINT_BYTES]>::try_from(f).ok())
            {
                held.insert(fingerprint);
            }
        }
        Ok(Self(RwLock::new(held)))
    }

    /// Adds the short-text fingerprints of `fingerprints`, about to be indexed.
    pub(super) fn note(&self, fingerprints: &Fingerprints) {
        let shorts = fingerprints.0.iter().filter(|f| is_short(f)).copied();
        let mut held = self.0.write().unwrap_or_else(PoisonError::into_inner);
        held.extend(shorts);
    }

    /// Those of `sought` the index may hold: all but the short-text ones it does not.
    fn possible<'a>(&self, sought: &'a Fingerprints) -> Vec<&'a [u8; FINGERPRINT_BYTES]> {
        let held = self.0.read().unwrap_or_else(PoisonError::into_inner);
        sought
            .0
            .iter()
            .filter(|f| !is_short(f) || held.contains(*f))
            .collect()
    }
}

fn is_short(fingerprint: &[u8; FINGERPRINT_BYTES]) -> bool {
    fingerprint.first() == Some(&SHORT)
}

/// Whether a stored message is one the index covers: received under H2, content kept.
fn covered(stored: &pb::StoredMessage) -> bool {
    stored.direction == INCOMING
        && super::has_content(stored)
        && stored
            .summary
            .as_ref()
            .is_some_and(|s| s.handling_code == i32::from(pb::HandlingCode::H2))
}

/// In a transaction: records the fingerprints of the message under `message_key`.
pub(super) fn add(
    tree: &TransactionalTree,
    message_key: &[u8],
    fingerprints: &Fingerprints,
) -> Result<(), Abort> {
    let mut listed = Vec::with_capacity(fingerprints.0.len() * FINGERPRINT_BYTES);
    for fingerprint in &fingerprints.0 {
        tree.insert(entry(fingerprint, message_key), &[])?;
        listed.extend_from_slice(fingerprint);
    }
    tree.insert(by_message(message_key), listed)?;
    Ok(())
}

/// In a transaction: removes every record of the message under `message_key`.
pub(super) fn remove(tree: &TransactionalTree, message_key: &[u8]) -> Result<(), Abort> {
    if let Some(listed) = tree.remove(by_message(message_key))? {
        for fingerprint in listed.chunks_exact(FINGERPRINT_BYTES) {
            tree.remove(entry(fingerprint, message_key))?;
        }
    }
    Ok(())
}

/// Builds the index of `messages` into `tree` unless it is there, made with this vault's
/// secret: cleared, one pass over the messages, the version record written last, flushed.
pub(super) fn ensure(
    tree: &sled::Tree,
    messages: &sled::Tree,
    vault: &Vault,
    content: &ContentFile,
) -> Result<(), StoreError> {
    let secret = vault.derived_secret(PURPOSE);
    let record = version_record(&secret);
    if tree.get(VERSION_KEY)?.as_deref() == Some(record.as_slice()) {
        return Ok(());
    }
    tracing::info!("building the onward-sharing index of received H2 messages");
    tree.clear()?;
    let (mut indexed, mut unreadable) = (0u64, 0u64);
    for item in messages.iter() {
        let (key, value) = item?;
        let stored =
            pb::StoredMessage::decode(value.as_ref()).map_err(|e| corrupt("messages", e))?;
        if !covered(&stored) {
            continue;
        }
        let Some(content) = body_of(vault, content, &stored)
            .ok()
            .flatten()
            .and_then(|b| b.content)
        else {
            unreadable += 1;
            continue;
        };
        let fingerprints = Fingerprints::kept(&content, &secret);
        let mut batch = sled::Batch::default();
        let mut listed = Vec::with_capacity(fingerprints.0.len() * FINGERPRINT_BYTES);
        for fingerprint in &fingerprints.0 {
            batch.insert(entry(fingerprint, &key), &[]);
            listed.extend_from_slice(fingerprint);
        }
        batch.insert(by_message(&key), listed);
        tree.apply_batch(batch)?;
        indexed += 1;
    }
    tree.insert(VERSION_KEY, record)?;
    tree.flush()?;
    tracing::info!(
        indexed,
        unreadable,
        "built the onward-sharing index of received H2 messages"
    );
    Ok(())
}

/// The verified body of a stored message, `None` when erased.
fn body_of(
    vault: &Vault,
    content: &ContentFile,
    stored: &pb::StoredMessage,
) -> Result<Option<pb::Body>, StoreError> {
    let Some(sealed) = content.sealed(stored)? else {
        return Ok(None);
    };
    let signed_body = match vault.unseal(&case_key_of(stored), &sealed) {
        Ok(signed_body) => signed_body,
        Err(VaultError::Erased) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let envelope = stored.envelope.clone().unwrap_or_default();
    let opened = crate::open::open_stored(&envelope, signed_body)
        .map_err(|e| corrupt("messages", format!("stored message does not open: {e}")))?;
    Ok(Some(opened.body))
}

impl NodeStore {
    /// The secret the onward-sharing index's fingerprints are keyed with.
    pub fn onward_secret(&self) -> [u8; 32] {
        self.vault.derived_secret(PURPOSE)
    }

    /// The fingerprints the index keeps of a received H2 `content`.
    pub(super) fn onward_fingerprints(&self, content: &pb::body::Content) -> Fingerprints {
        Fingerprints::kept(content, &self.onward_secret())
    }

    /// The keys of the messages the index says hold a piece with one of `sought`, in key
    /// order (the order of the messages tree), leaving out those received from `except` (the
    /// addressee: content may go back to its provider) without reading them: a message's key
    /// begins with its sender, so their records under each fingerprint are one range, skipped.
    /// A passage the node holds from many messages of the addressee costs nothing then.
    pub fn onward_candidates(
        &self,
        sought: &Fingerprints,
        except: &str,
    ) -> Result<BTreeSet<Vec<u8>>, StoreError> {
        let engine = self.engine()?;
        let mut found = BTreeSet::new();
        for fingerprint in self.onward_shorts.possible(sought) {
            // The addressee's records: `fingerprint ‖ except ‖ 0 ‖ id`.
            let mut skip_from = fingerprint.to_vec();
            skip_from.extend_from_slice(except.as_bytes());
            skip_from.push(0);
            let mut skip_to = skip_from.clone();
            if let Some(last) = skip_to.last_mut() {
                *last = 1;
            }
            let before = engine.onward.range(fingerprint.to_vec()..skip_from);
            let after = engine.onward.range(skip_to..);
            for item in before.chain(after) {
                let (key, _) = item?;
                if !key.starts_with(fingerprint) {
                    break;
                }
                if let Some(message_key) = key.get(FINGERPRINT_BYTES..) {
                    found.insert(message_key.to_vec());
                }
            }
        }
        Ok(found)
    }

    /// The readable body of the H2 message received under `key` from an organisation other
    /// than `except`: `None` when it is not one, or cannot be read (erased; damaged, which is
    /// logged): it protects nothing it could leak.
    pub fn readable_h2(&self, key: &[u8], except: &str) -> Result<Option<pb::Body>, StoreError> {
        let engine = self.engine()?;
        let Some(value) = engine.messages.get(key)? else {
            return Ok(None);
        };
        let stored =
            pb::StoredMessage::decode(value.as_ref()).map_err(|e| corrupt("messages", e))?;
        if !covered(&stored) || stored.summary.as_ref().is_none_or(|s| s.from == except) {
            return Ok(None);
        }
        match body_of(&self.vault, &engine.content, &stored) {
            Ok(body) => Ok(body),
            Err(e) => {
                tracing::warn!(cause = %e, "an H2 message could not be read for the onward-sharing check");
                Ok(None)
            }
        }
    }

    /// Whether the onward-sharing index covers any message: one look at the first record of
    /// the kind every covered message has.
    pub fn onward_covers_any(&self) -> Result<bool, StoreError> {
        Ok(self
            .engine()?
            .onward
            .scan_prefix([BY_MESSAGE])
            .next()
            .transpose()?
            .is_some())
    }

    /// How many messages the onward-sharing index covers (for tests and the load tool).
    pub fn onward_indexed(&self) -> Result<usize, StoreError> {
        Ok(self.engine()?.onward.scan_prefix([BY_MESSAGE]).count())
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use trm_proto::addr::{MessageId, NodeAddr};
    use trm_proto::envelope::Header;
    use trm_proto::pb::body::Content;

    use super::*;
    use crate::handling::check_onward;
    use crate::store::{EntryFacts, Erasure, message_key};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const OWN: &str = "lefoe-ibf@at";
    const PARTNERS: [&str; 3] = ["astra@rs", "police-rs@rs", "lastrada@ua"];
    const WORDS: [&str; 24] = [
        "the",
        "recruiter",
        "operates",
        "from",
        "a",
        "café",
        "near",
        "bus",
        "station",
        "in",
        "Subotica",
        "alias",
        "Marko",
        "two",
        "women",
        "were",
        "moved",
        "to",
        "Vienna",
        "shelter",
        "medical",
        "care",
        "and",
        "legal",
    ];

    /// A small deterministic generator, so a failure can be replayed.
    struct Dice(u64);

    impl Dice {
        fn next(&mut self, below: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(self.0 >> 33).unwrap_or(0) % below.max(1)
        }

        fn text(&mut self, words: usize) -> String {
            (0..words)
                .map(|_| WORDS.get(self.next(WORDS.len())).copied().unwrap_or("x"))
                .collect::<Vec<_>>()
                .join(if self.next(5) == 0 { "  " } else { " " })
        }
    }

    /// Stores a received referral from `from` in its own case, as the node stores a verified
    /// delivery (its signed body bound to its header), under `code`.
    async fn receive(
        store: &NodeStore,
        n: usize,
        from: &str,
        code: pb::HandlingCode,
        notes: String,
        attachment: Option<Vec<u8>>,
    ) -> TestResult {
        let id = format!("{n:032x}");
        let header = Header {
            message_id: id.parse::<MessageId>()?,
            from: from.parse::<NodeAddr>()?,
            to: OWN.parse::<NodeAddr>()?,
            created_at_ms: 1_700_000_000_000,
            expires_at_ms: 1_800_000_000_000,
            priority: pb::Priority::Routine,
            kind: pb::MessageKind::Referral,
            ciphertext_sha256: [0; 32],
            recipient_key_id: String::new(),
        };
        let content = Content::Referral(pb::Referral {
            notes,
            handling_code: code.into(),
            attachments: attachment
                .map(|content| pb::Attachment {
                    file_name: "scan.pdf".into(),
                    media_type: "application/pdf".into(),
                    content,
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        });
        let case_ref = format!("CASE-{n}");
        let body = pb::Body {
            from: from.into(),
            to: OWN.into(),
            message_id: id.clone(),
            created_at_ms: header.created_at_ms,
            case_ref: case_ref.clone(),
            kind: pb::MessageKind::Referral.into(),
            content: Some(content.clone()),
            ..Default::default()
        };
        let signed_body = pb::SignedBody {
            body: body.encode_to_vec(),
            signature: vec![0; 64],
        }
        .encode_to_vec();
        let envelope = pb::Envelope {
            header: header.to_pb().encode_to_vec(),
            ..Default::default()
        };
        let digest = trm_proto::envelope::digest(&envelope.header);
        let facts = EntryFacts {
            header: &header,
            digest: &digest,
            case_ref: &case_ref,
            flags: crate::audit::flags(&body, pb::Priority::Routine),
            content: Some(&content),
            sequence: 0,
        };
        store
            .store_received(&envelope, &facts, &signed_body, 1_700_000_000_001)
            .await?;
        Ok(())
    }

    /// The readable H2 bodies the check compared before the index, in key order: every one.
    fn all_h2(store: &NodeStore, except: &str) -> Vec<pb::Body> {
        let mut bodies = Vec::new();
        for stored in store
            .incoming_under(pb::HandlingCode::H2)
            .unwrap_or_default()
        {
            if stored.summary.as_ref().is_none_or(|s| s.from == except) {
                continue;
            }
            let Ok(signed_body) = store.content(&stored) else {
                continue;
            };
            let envelope = stored.envelope.clone().unwrap_or_default();
            if let Ok(opened) = crate::open::open_stored(&envelope, signed_body) {
                bodies.push(opened.body);
            }
        }
        bodies
    }

    fn outgoing(notes: String, attachment: Option<Vec<u8>>) -> Content {
        Content::Referral(pb::Referral {
            notes,
            attachments: attachment
                .map(|content| pb::Attachment {
                    file_name: "renamed.pdf".into(),
                    media_type: "application/pdf".into(),
                    content,
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        })
    }

    /// A record of the index: key and value.
    type Record = (Vec<u8>, Vec<u8>);

    /// Every record of the index, for comparing two builds.
    fn records(store: &NodeStore) -> Result<Vec<Record>, StoreError> {
        store
            .engine()?
            .onward
            .iter()
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_send_skips_the_check_only_while_no_readable_h2_message_is_held() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let copied = outgoing(WORDS.join(" "), None);
        assert!(!store.onward_covers_any()?, "an empty store covers nothing");
        receive(
            &store,
            1,
            "astra@rs",
            pb::HandlingCode::H0,
            WORDS.join(" "),
            None,
        )
        .await?;
        assert!(!store.onward_covers_any()?, "H0 content is not protected");
        receive(
            &store,
            2,
            "astra@rs",
            pb::HandlingCode::H2,
            WORDS.join(" "),
            None,
        )
        .await?;
        assert!(store.onward_covers_any()?);
        assert!(
            check_onward_in(&store, &copied, "police-rs@rs")?.is_err(),
            "the H2 text is found once the index covers it"
        );
        store
            .erase_case(Erasure {
                case_key: crate::cases::case_key("astra@rs", "CASE-2"),
                own: OWN.into(),
                at_ms: 1_700_000_000_100,
                reason: "consent withdrawn".into(),
                message_id: String::new(),
                actor: "test".into(),
                idle_since_ms: None,
                scope: crate::store::Scope::Disclosed,
            })
            .await?;
        assert!(
            !store.onward_covers_any()?,
            "the erased case leaves nothing"
        );
        assert!(check_onward_in(&store, &copied, "police-rs@rs")?.is_ok());
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_h2_text_is_found_before_and_after_the_store_reopens() -> TestResult {
        let dir = tempfile::tempdir()?;
        let short = "Marko, café near the bus station";
        let copied = outgoing(format!("{} {short} {}", WORDS.join(" "), "x"), None);
        {
            let store = NodeStore::open(dir.path())?;
            receive(
                &store,
                1,
                "astra@rs",
                pb::HandlingCode::H2,
                short.into(),
                None,
            )
            .await?;
            assert!(
                check_onward_in(&store, &copied, "police-rs@rs")?.is_err(),
                "found in the store that received it"
            );
            assert!(
                check_onward_in(&store, &outgoing(WORDS.join(" "), None), "police-rs@rs")?.is_ok()
            );
        }
        let reopened = NodeStore::open(dir.path())?;
        assert!(
            check_onward_in(&reopened, &copied, "police-rs@rs")?.is_err(),
            "found after the store opened again"
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_index_answers_as_the_full_scan_does_and_forgets_erased_cases() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let mut dice = Dice(16);
        let mut kept: Vec<(String, String)> = Vec::new();
        let mut received = Vec::new();
        for n in 0..240usize {
            let from = PARTNERS.get(dice.next(3)).copied().unwrap_or("astra@rs");
            let code = if dice.next(3) == 0 {
                pb::HandlingCode::H0
            } else {
                pb::HandlingCode::H2
            };
            // Short texts (whole-text rule), long ones (passages), some with attachments.
            let notes = match dice.next(4) {
                0 => dice.text(3),
                1 => {
                    let words = 1 + dice.next(5);
                    dice.text(words)
                }
                _ => {
                    let words = 8 + dice.next(40);
                    dice.text(words)
                }
            };
            let attachment =
                (dice.next(8) == 0).then(|| vec![u8::try_from(n % 251).unwrap_or(0); 16]);
            kept.push((from.to_owned(), notes.clone()));
            received.push(receive(&store, n, from, code, notes, attachment));
        }
        for done in futures_util::future::join_all(received).await {
            done?;
        }
        assert!(store.onward_indexed()? > 100, "most are H2 with content");

        // Three cases erased: their messages leave the index.
        for n in [3usize, 50, 201] {
            let from = kept.get(n).map(|(f, _)| f.clone()).unwrap_or_default();
            store
                .erase_case(Erasure {
                    case_key: crate::cases::case_key(&from, &format!("CASE-{n}")),
                    own: OWN.into(),
                    at_ms: 1_700_000_000_100,
                    reason: "consent withdrawn".into(),
                    message_id: String::new(),
                    actor: "test".into(),
                    idle_since_ms: None,
                    scope: crate::store::Scope::Disclosed,
                })
                .await?;
            let key = message_key(&from, &format!("{n:032x}"));
            assert!(
                !records(&store)?.iter().any(|(k, _)| k.ends_with(&key)),
                "an erased message keeps no record in the index"
            );
        }

        // The full scan reads every H2 message, so its bodies are read once per addressee.
        let scans: Vec<Vec<pb::Body>> = PARTNERS.iter().map(|p| all_h2(&store, p)).collect();
        let (mut refused, mut allowed) = (0, 0);
        for round in 0..400usize {
            let (_, source) = kept.get(dice.next(kept.len())).cloned().unwrap_or_default();
            let chars: Vec<char> = source.chars().collect();
            let take = [10, 16, 30, 39, 40, 41, 60]
                .get(dice.next(7))
                .copied()
                .unwrap_or(40);
            let at = dice.next(chars.len().saturating_sub(take).max(1));
            let piece: String = chars.iter().skip(at).take(take).collect();
            let piece = if dice.next(2) == 0 {
                piece.to_uppercase()
            } else {
                piece
            };
            let notes = match dice.next(3) {
                0 => format!("{} {piece} {}", dice.text(4), dice.text(3)),
                1 => dice.text(10),
                _ => piece,
            };
            let attachment =
                (dice.next(6) == 0).then(|| vec![u8::try_from(dice.next(251)).unwrap_or(0); 16]);
            let content = outgoing(notes, attachment);
            let except = PARTNERS.get(round % 3).copied().unwrap_or("astra@rs");
            let indexed = check_onward_in(&store, &content, except)?;
            let scan = scans.get(round % 3).cloned().unwrap_or_default();
            assert_eq!(indexed, check_onward(&content, scan), "{content:?}");
            if indexed.is_err() {
                refused += 1;
            } else {
                allowed += 1;
            }
        }
        assert!(
            refused > 30 && allowed > 30,
            "{refused} refused, {allowed} allowed"
        );

        // Built again on open when its version record is missing: the same records.
        let before = records(&store)?;
        store.engine()?.onward.remove(VERSION_KEY)?;
        drop(store);
        let reopened = NodeStore::open(dir.path())?;
        assert_eq!(records(&reopened)?, before);
        Ok(())
    }

    use crate::handling::check_onward_in;
}
