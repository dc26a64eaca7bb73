//! The handover log exported for offline audit: a `trm.v1.LogBundle` (`audit.proto`) with every
//! checkpoint the node signed, what it witnessed of its partners' logs (cosigned checkpoints and
//! fork evidence, see [`crate::witness`]) and its entries' exact stored bytes, produced in
//! pieces so that a log of millions of entries is never encoded in one buffer (concatenated
//! pieces decode as one bundle).
//!
//! A bundle is metadata only by construction. A `LogEntry` holds its index and the previous
//! entry's hash, a time, an event, a message id (random), the counterparty's organisation
//! address, the message kind, a keyed tag of the case reference (never the reference, which
//! links across countries: see [`trm_log::pseudonym`]), the envelope and receipt digests, yes/no
//! audit flags and a handling code, the account pseudonym that caused it (`node` for the
//! daemon), and for refusals a reason. No entry holds a name or any message content: those
//! exist only inside sealed envelopes, which the log never stores.
//!
//! A bundle is made for an audience: beside the entries it names each entry's case by a
//! pseudonym derived from the node's log key and the audience's name, the same for one case
//! throughout the bundle and unrelated across audiences. Entries written by earlier versions
//! still hold the raw reference in their hashed bytes (they cannot change without breaking the
//! chain); their pseudonym is derived from the same tag, so one case has one pseudonym whatever
//! version wrote its entries. Witnessed checkpoints are partners' signed notes (origin, size, root) with this node's
//! cosignature; fork evidence adds two such notes and the partner's signed receipt (metadata).
//! The entries must be exported byte for byte, since the chain and the tree hash those
//! bytes; nothing is re-encoded or filtered.

use prost::Message;
use trm_log::pseudonym::{self, LogKey};
use trm_proto::addr::NodeAddr;
use trm_proto::pb;

use crate::handover_log::LogError;
use crate::store::{NodeStore, StoreError};
use crate::witness::WitnessError;

/// The bundle format this node writes.
pub use trm_log::BUNDLE_FORMAT;

/// The audience of an export that names none.
pub const DEFAULT_AUDIENCE: &str = "audit";

/// A piece holds entries until it reaches about this many bytes.
const PIECE_BYTES: usize = 1 << 20;

/// How many entries one read takes from the log.
const READ_BATCH: usize = 1024;

/// The longest audience name.
const MAX_AUDIENCE: usize = 64;

/// `audience` if it is a name an export may be made for: empty (the default audience), or 1 to
/// 64 characters without control characters.
pub fn audience(audience: &str) -> Result<&str, String> {
    if audience.chars().count() > MAX_AUDIENCE {
        return Err(format!("at most {MAX_AUDIENCE} characters"));
    }
    if audience.chars().any(char::is_control) {
        return Err("no control characters".into());
    }
    Ok(if audience.trim().is_empty() {
        DEFAULT_AUDIENCE
    } else {
        audience
    })
}

/// The pieces of one bundle, in order: first the header (node, federation, time, checkpoints,
/// fork evidence), then the witnessed checkpoints and the entries, about [`PIECE_BYTES`] at a
/// time.
pub struct BundlePieces {
    /// Where the entries are read from.
    store: NodeStore,
    /// The header piece, until it is taken.
    header: Option<pb::LogBundle>,
    /// The witnessed checkpoints not yet put in a piece, last first.
    witnessed: Vec<String>,
    /// The next entry to export.
    next: u64,
    /// How many entries the bundle holds.
    end: u64,
    /// The key that names cases for this bundle's audience.
    audience_key: [u8; 32],
    /// The node's log key, for the tags of entries written before tags.
    log_key: LogKey,
}

impl BundlePieces {
    /// Starts an export of the log as it is now, with every stored checkpoint.
    pub fn new(
        store: &NodeStore,
        federation: &str,
        node: &NodeAddr,
        audience: &str,
        now_ms: u64,
    ) -> Result<Self, StoreError> {
        let audience = if audience.is_empty() {
            DEFAULT_AUDIENCE
        } else {
            audience
        };
        let log_key = store.log_key()?;
        let witness = store.witness()?;
        let forks = witness.forks().map_err(witness_error)?;
        let mut witnessed = witness.witnessed().map_err(witness_error)?;
        witnessed.reverse();
        // Checkpoints first, then the length: the log only grows, so it then holds every entry
        // the checkpoints cover.
        let checkpoints = store
            .checkpoints()?
            .into_iter()
            .map(|(_, note)| note)
            .collect();
        let end = store.log_len()?;
        Ok(Self {
            store: store.clone(),
            header: Some(pb::LogBundle {
                format: BUNDLE_FORMAT,
                federation: federation.to_owned(),
                node: node.to_string(),
                exported_at_ms: now_ms,
                checkpoints,
                entries: Vec::new(),
                witnessed: Vec::new(),
                forks,
                audience: audience.to_owned(),
                case_pseudonyms: Vec::new(),
            }),
            witnessed,
            next: 0,
            end,
            audience_key: pseudonym::audience_key(&log_key, audience),
            log_key,
        })
    }

    /// How many entries the bundle holds.
    pub fn entries(&self) -> u64 {
        self.end
    }

    /// The next encoded piece, or `None` after the last.
    pub fn next_piece(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(header) = self.header.take() {
            return Ok(Some(header.encode_to_vec()));
        }
        if !self.witnessed.is_empty() {
            let mut piece = pb::LogBundle::default();
            let mut bytes = 0;
            while bytes < PIECE_BYTES
                && let Some(note) = self.witnessed.pop()
            {
                bytes += note.len();
                piece.witnessed.push(note);
            }
            return Ok(Some(piece.encode_to_vec()));
        }
        if self.next >= self.end {
            return Ok(None);
        }
        let mut piece = pb::LogBundle::default();
        let mut bytes = 0;
        while self.next < self.end && bytes < PIECE_BYTES {
            let want = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
            let batch = self
                .store
                .log_entry_bytes(self.next, want.min(READ_BATCH))?;
            if batch.is_empty() {
                return Err(StoreError::Log(LogError::Broken {
                    index: self.next,
                    problem: format!("entry {} is missing", self.next),
                }));
            }
            self.next += batch.len() as u64;
            bytes += batch.iter().map(Vec::len).sum::<usize>();
            piece
                .case_pseudonyms
                .extend(batch.iter().map(|entry| self.case_pseudonym(entry)));
            piece.entries.extend(batch);
        }
        Ok(Some(piece.encode_to_vec()))
    }
}

impl BundlePieces {
    /// The audience's pseudonym of the case of `entry` (its stored bytes): empty when it names
    /// no case or does not decode (the auditor reports the latter).
    fn case_pseudonym(&self, entry: &[u8]) -> String {
        let Ok(entry) = pb::LogEntry::decode(entry) else {
            return String::new();
        };
        let tag = if entry.case_tag.is_empty() && !entry.case_ref.is_empty() {
            pseudonym::case_tag(&self.log_key, &entry.case_ref)
        } else {
            entry.case_tag
        };
        if tag.is_empty() {
            return String::new();
        }
        pseudonym::pseudonym(&self.audience_key, &tag)
    }
}

/// A witness-store failure, as the store failure it is.
fn witness_error(e: WitnessError) -> StoreError {
    match e {
        WitnessError::Store(e) => e,
        WitnessError::Cosign(e) => StoreError::Corrupt {
            tree: crate::store::WITNESS_NOTES_TREE,
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pseudonyms of a bundle of `store`'s log for `audience`, one per entry.
    fn pseudonyms(
        store: &NodeStore,
        audience: &str,
    ) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let node: NodeAddr = "lefoe@marri".parse()?;
        let mut pieces = BundlePieces::new(store, "fed", &node, audience, 1)?;
        let mut encoded = Vec::new();
        while let Some(piece) = pieces.next_piece()? {
            encoded.extend(piece);
        }
        let bundle = pb::LogBundle::decode(encoded.as_slice())?;
        assert_eq!(bundle.audience, super::audience(audience)?);
        assert_eq!(bundle.case_pseudonyms.len(), bundle.entries.len());
        Ok(bundle.case_pseudonyms)
    }

    /// One case, one pseudonym per audience, whether its entry holds the tag or (written by an
    /// earlier version) the raw reference; another audience's pseudonyms are others.
    #[test]
    fn a_case_has_one_pseudonym_per_audience_old_entries_included()
    -> Result<(), Box<dyn std::error::Error>> {
        use crate::store::danger;
        let dir = tempfile::tempdir()?;
        let entry = |id: &str, case_ref: &str| pb::LogEntry {
            message_id: id.into(),
            case_ref: case_ref.into(),
            ..Default::default()
        };
        danger::danger_replace_log(
            dir.path(),
            &[
                entry("m0", "AT-X-2026-1"),
                entry("m1", "AT-X-2026-1"),
                entry("m2", "AT-X-2026-2"),
                entry("m3", ""),
            ],
        )?;
        // Entry 1 as earlier versions wrote it: the raw reference, no tag.
        let bytes = danger::danger_read_log_entry(dir.path(), 1)?.ok_or("entry 1")?;
        let mut old = pb::LogEntry::decode(bytes.as_slice())?;
        assert!(old.case_ref.is_empty() && !old.case_tag.is_empty());
        old.case_tag.clear();
        old.case_ref = "AT-X-2026-1".into();
        danger::danger_overwrite_log_entry(dir.path(), 1, &old.encode_to_vec())?;

        let store = NodeStore::open(dir.path())?;
        let court = pseudonyms(&store, "court")?;
        assert_eq!(court[0], court[1]);
        assert_ne!(court[0], court[2]);
        assert_eq!(court[3], "");
        assert_eq!(pseudonyms(&store, "court")?, court);
        let ministry = pseudonyms(&store, "ministry")?;
        assert_eq!(ministry[0], ministry[1]);
        assert!(court.iter().take(3).all(|p| !ministry.contains(p)));
        assert_eq!(
            pseudonyms(&store, "")?,
            pseudonyms(&store, DEFAULT_AUDIENCE)?
        );
        Ok(())
    }

    #[test]
    fn an_audience_name_is_short_and_plain() {
        assert_eq!(audience(""), Ok(DEFAULT_AUDIENCE));
        assert_eq!(audience("  "), Ok(DEFAULT_AUDIENCE));
        assert_eq!(
            audience("Bundesministerium für Inneres"),
            Ok("Bundesministerium für Inneres")
        );
        assert!(audience("court\nministry").is_err());
        assert!(audience(&"x".repeat(65)).is_err());
    }

    #[tokio::test]
    async fn concatenated_pieces_decode_as_the_whole_bundle()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        // Enough entries for several pieces.
        let reason = "x".repeat(600);
        for i in 0..3000u64 {
            let header = pb::EnvelopeHeader {
                message_id: format!("{i:032x}"),
                from: "astra@marri".into(),
                ..Default::default()
            };
            store.record_refused(&header, &[1; 32], i, &reason).await?;
        }
        store.record_checkpoint(0, "a note\n").await?;
        let node: NodeAddr = "lefoe@marri".parse()?;
        let mut pieces = BundlePieces::new(&store, "fed", &node, "", 42)?;
        assert_eq!(pieces.entries(), 3000);
        let mut encoded = Vec::new();
        let mut count = 0;
        while let Some(piece) = pieces.next_piece()? {
            assert!(piece.len() < 4 << 20);
            encoded.extend(piece);
            count += 1;
        }
        assert!(count > 2, "{count} pieces");
        let bundle = pb::LogBundle::decode(encoded.as_slice())?;
        assert_eq!(bundle.format, BUNDLE_FORMAT);
        assert_eq!(bundle.node, "lefoe@marri");
        assert_eq!(bundle.federation, "fed");
        assert_eq!(bundle.exported_at_ms, 42);
        assert_eq!(bundle.checkpoints, ["a note\n"]);
        assert_eq!(bundle.entries, store.log_entry_bytes(0, 5000)?);
        assert_eq!(bundle.audience, DEFAULT_AUDIENCE);
        // One pseudonym per entry: these refusals name no case.
        assert_eq!(bundle.case_pseudonyms.len(), 3000);
        assert!(bundle.case_pseudonyms.iter().all(String::is_empty));
        Ok(())
    }
}
