//! Checkpoints of the handover log's Merkle tree: C2SP signed notes, signed by the node and
//! cosigned by witnesses.
//!
//! # Format
//!
//! A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is three lines: the origin
//! (`trm/<federation>/<node address>` for a node, see [`node_origin`]), the tree size in decimal
//! and the root hash in standard padded base64. A signed note (c2sp.org/signed-note) is the text,
//! an empty line, and one line per signature: `— <key name> <base64(key ID || signature)>`, where
//! the dash is U+2014 and the key ID is the first four bytes of
//! `SHA-256(key name || "\n" || signature type || public key)`. Two signature types are used:
//!
//! - `0x01`, Ed25519 over the note text: the node's own signature, key name = origin.
//! - `0x04`, a tlog-cosignature/v1 witness cosignature: an 8-byte big-endian Unix time followed by
//!   an Ed25519 signature over `"cosignature/v1\ntime <time>\n"` and the note text. It states
//!   that, at that time, this was the largest tree the witness had seen for the origin, and that
//!   it was consistent with everything the witness had seen before.
//!
//! The format was checked against published signed notes (golang.org/x/mod/sumdb/note and a
//! sum.golang.org checkpoint signed by Go's checksum database key) and against notes and
//! cosignatures made with Python's `cryptography` package; see the tests.
//!
//! **Architecture Invariant:** a node never signs two checkpoints that are inconsistent with each
//! other: [`CheckpointSigner`] signs only with a consistency proof from the last checkpoint it
//! signed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use trm_proto::addr::NodeAddr;

use crate::merkle::{self, Hash, MerkleError};
use crate::note;

/// The header line of the message a tlog-cosignature/v1 signs.
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// Why a checkpoint could not be made, signed, opened or cosigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note does not follow the signed-note format.
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    /// The note text is not a checkpoint this module reads.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A key name is empty or has a space, a '+' or a control character.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces, '+' or controls")]
    KeyName(String),
    /// A verifier key is not `<name>+<key ID>+<base64(type || public key)>`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// Two known keys have the same name and key ID, so a signature cannot be attributed.
    #[error("two known keys share the name {name} and key ID {id:08x}")]
    AmbiguousKey {
        /// The shared key name.
        name: String,
        /// The shared key ID.
        id: u32,
    },
    /// A signature by a known key does not verify, so the whole note is refused.
    #[error("the signature by known key {0} does not verify")]
    InvalidSignature(String),
    /// No signature in the note is by a known key.
    #[error("no signature by a known key")]
    NoKnownSignature,
    /// A checkpoint is for another log than the signer's.
    #[error("checkpoint origin {found:?} is not this log's origin {expected:?}")]
    OriginMismatch {
        /// The signer's origin.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },
    /// A checkpoint is not proved consistent with the last one signed, so it is not signed.
    #[error("checkpoint of size {to} is not proved consistent with the one signed at size {from}")]
    Inconsistent {
        /// The size of the last signed checkpoint.
        from: u64,
        /// The size of the refused checkpoint.
        to: u64,
        /// Why the consistency proof failed.
        #[source]
        source: MerkleError,
    },
    /// A cosignature time beyond what tlog-cosignature allows (2^63 - 1).
    #[error("cosignature time {0} is too large")]
    Timestamp(u64),
}

impl From<note::NoteError> for CheckpointError {
    fn from(e: note::NoteError) -> Self {
        Self::MalformedNote(e.0)
    }
}

/// A checkpoint: a log's origin, tree size and root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which log: `trm/<federation>/<node address>` for a node's handover log.
    pub origin: String,
    /// How many leaves the tree has.
    pub size: u64,
    /// The root hash of the tree.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, size and base64 root hash, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a note text. Extension lines after the root hash are refused: trm's checkpoints
    /// have none, and keeping what a signature covers in view is simpler than ignoring part of it.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let malformed = CheckpointError::MalformedCheckpoint;
        let Some(lines) = body.strip_suffix('\n') else {
            return Err(malformed("the text does not end in a newline"));
        };
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("fewer than three lines"));
        };
        if lines.next().is_some() {
            return Err(malformed("extension lines are not supported"));
        }
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(malformed("the origin is empty or has control characters"));
        }
        // Canonical decimal: digits only, no sign, no leading zero except for "0".
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or(malformed("the size is not a canonical decimal number"))?;
        // The standard engine refuses missing padding and non-zero trailing bits, so a root
        // has exactly one spelling.
        let root = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or(malformed("the root is not a base64 32-byte hash"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

impl Checkpoint {
    /// The checkpoint a signed note states, its text read by the one note parser
    /// ([`note::text`]), without verifying any signature: for notes verified before they were
    /// stored. To trust a note, use [`open`].
    pub fn from_note(signed: &str) -> Result<Self, CheckpointError> {
        Self::parse(note::text(signed)?)
    }
}

/// The origin (and key name) of a node's handover log: `trm/<federation>/<node address>`.
pub fn node_origin(federation: &str, node: &NodeAddr) -> Result<String, CheckpointError> {
    let origin = format!("trm/{federation}/{node}");
    check_key_name(&origin)?;
    Ok(origin)
}

/// Refuses a key name the signed-note format does not allow: empty, or with a Unicode space or
/// a '+'. Control characters are refused too, since a note may not contain them.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    let valid = !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+');
    if valid {
        Ok(())
    } else {
        Err(CheckpointError::KeyName(name.to_owned()))
    }
}

/// What a signature line says, and which signed-note signature type it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureKind {
    /// Type `0x01`: Ed25519 over the note text, the log's own signature.
    Ed25519,
    /// Type `0x04`: a timestamped tlog-cosignature/v1 Ed25519 cosignature by a witness.
    CosignatureV1,
}

impl SignatureKind {
    /// The signature type byte of the signed-note key ID.
    fn type_byte(self) -> u8 {
        match self {
            SignatureKind::Ed25519 => 0x01,
            SignatureKind::CosignatureV1 => 0x04,
        }
    }
}

/// The key ID of a key: the first four bytes, big-endian, of
/// `SHA-256(name || "\n" || type || public key)`.
fn key_id(name: &str, kind: SignatureKind, key: &VerifyingKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([kind.type_byte()]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A key trusted to sign notes: its name, what kind of signature it makes, and the Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    /// The key name in signature lines.
    name: String,
    /// Which signature type the key makes.
    kind: SignatureKind,
    /// The public key.
    key: VerifyingKey,
    /// The key ID derived from the three above.
    id: u32,
}

impl NoteVerifier {
    /// A verifier for `key` under `name`.
    pub fn new(
        name: &str,
        kind: SignatureKind,
        key: VerifyingKey,
    ) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            kind,
            id: key_id(name, kind, &key),
            key,
        })
    }

    /// Parses a verifier key, `<name>+<key ID in hex>+<base64(type || public key)>`, the text
    /// form of golang.org/x/mod/sumdb/note and C2SP signed-note; the key ID must match.
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        let malformed = CheckpointError::MalformedVerifierKey;
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected <name>+<key ID>+<key>"));
        };
        let id = (id.len() == 8)
            .then(|| u32::from_str_radix(id, 16).ok())
            .flatten()
            .ok_or(malformed("the key ID is not 8 hexadecimal digits"))?;
        let material = BASE64
            .decode(material)
            .map_err(|_| malformed("the key is not base64"))?;
        let (kind, key) = match material.split_first() {
            Some((0x01, key)) => (SignatureKind::Ed25519, key),
            Some((0x04, key)) => (SignatureKind::CosignatureV1, key),
            _ => return Err(malformed("the signature type is not 0x01 or 0x04")),
        };
        let key = <[u8; 32]>::try_from(key)
            .ok()
            .and_then(|key| VerifyingKey::from_bytes(&key).ok())
            .ok_or(malformed("the key is not an Ed25519 public key"))?;
        let verifier = Self::new(name, kind, key)?;
        if verifier.id != id {
            return Err(malformed("the key ID does not match the name and key"));
        }
        Ok(verifier)
    }

    /// The verifier key text, as [`NoteVerifier::from_vkey`] reads it.
    pub fn to_vkey(&self) -> String {
        let mut material = vec![self.kind.type_byte()];
        material.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(material))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which signature type the key makes.
    pub fn kind(&self) -> SignatureKind {
        self.kind
    }

    /// The key ID that starts each of this key's signatures.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Checks `signature` (without the key ID) over the note text `text`, refusing weak keys and
    /// malleable signatures (`verify_strict`). Answers the cosignature time, if any.
    fn verify(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, CheckpointError> {
        let invalid = || CheckpointError::InvalidSignature(self.name.clone());
        let (message, signature, time) = match self.kind {
            SignatureKind::Ed25519 => (text.as_bytes().to_vec(), signature, None),
            SignatureKind::CosignatureV1 => {
                let (time, signature) = signature.split_first_chunk::<8>().ok_or_else(invalid)?;
                let time = u64::from_be_bytes(*time);
                let message = cosigned_message(time, text).map_err(|_| invalid())?;
                (message, signature, Some(time))
            }
        };
        let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
        self.key
            .verify_strict(&message, &signature)
            .map_err(|_| invalid())?;
        Ok(time)
    }
}

/// The message a tlog-cosignature/v1 signs: header, time line and note text.
fn cosigned_message(time: u64, text: &str) -> Result<Vec<u8>, CheckpointError> {
    if time > i64::MAX as u64 {
        return Err(CheckpointError::Timestamp(time));
    }
    Ok(format!("{COSIGNATURE_HEADER}time {time}\n{text}").into_bytes())
}

/// One signature line: `— <name> <base64(key ID || signature)>`.
fn signature_line(name: &str, id: u32, signature: &[u8]) -> String {
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.extend_from_slice(signature);
    format!("— {name} {}\n", BASE64.encode(bytes))
}

/// Signs `checkpoint` as a signed note with `key`, an Ed25519 (type 0x01) signature under
/// `key_name`. This checks nothing about earlier checkpoints: a node signs its log's checkpoints
/// through [`CheckpointSigner`], which does.
pub fn sign(
    checkpoint: &Checkpoint,
    key_name: &str,
    key: &SigningKey,
) -> Result<String, CheckpointError> {
    check_key_name(key_name)?;
    let text = checkpoint.body();
    // Refuse to sign what `open` would not read back (an origin with a newline, say).
    Checkpoint::parse(&text)?;
    Ok(sign_note(&text, key_name, key))
}

/// Signs the note text `text` (ending in a newline) with an Ed25519 (type 0x01) signature.
fn sign_note(text: &str, key_name: &str, key: &SigningKey) -> String {
    let id = key_id(key_name, SignatureKind::Ed25519, &key.verifying_key());
    let signature = key.sign(text.as_bytes()).to_bytes();
    format!("{text}\n{}", signature_line(key_name, id, &signature))
}

/// A signature [`open`] verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key name.
    pub name: String,
    /// What kind of signature it is.
    pub kind: SignatureKind,
    /// For a cosignature, the Unix time the witness signed at.
    pub cosigned_at: Option<u64>,
}

/// A checkpoint whose note [`open`] parsed and whose known signatures all verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint the note states.
    checkpoint: Checkpoint,
    /// The signatures by known keys, in note order, each verified.
    signatures: Vec<VerifiedSignature>,
    /// The note text, without signatures.
    text: String,
    /// Every signature line as received, known keys or not, without newlines.
    lines: Vec<String>,
}

impl VerifiedCheckpoint {
    /// The checkpoint the note states.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signatures by known keys, each verified.
    pub fn signatures(&self) -> &[VerifiedSignature] {
        &self.signatures
    }

    /// Whether a known key named `name` signed the note: for a log's own signature, pass the
    /// checkpoint's origin.
    pub fn signed_by(&self, name: &str) -> bool {
        self.signatures.iter().any(|s| s.name == name)
    }

    /// The signed note, with every signature line it was received with.
    pub fn note(&self) -> String {
        let mut note = format!("{}\n", self.text);
        for line in &self.lines {
            note.push_str(line);
            note.push('\n');
        }
        note
    }
}

/// Opens a signed checkpoint note: parses it, verifies every signature by a key in `known`,
/// ignores signatures by other keys, and parses the checkpoint.
///
/// Refuses the note if a known key's signature does not verify, or if no known key signed it
/// (signed-note rules). Which signatures are enough (the log's own, a quorum of witnesses) is
/// the caller's policy: see [`VerifiedCheckpoint::signed_by`].
pub fn open(note: &str, known: &[NoteVerifier]) -> Result<VerifiedCheckpoint, CheckpointError> {
    let (text, lines) = note::split(note)?;
    let checkpoint = Checkpoint::parse(text)?;
    let signatures = verify_signatures(text, &lines, known)?;
    Ok(VerifiedCheckpoint {
        checkpoint,
        signatures,
        text: text.to_owned(),
        lines: lines.into_iter().map(str::to_owned).collect(),
    })
}

/// Verifies the signature lines by known keys over `text`, ignoring the others; at least one
/// must be by a known key.
fn verify_signatures(
    text: &str,
    lines: &[&str],
    known: &[NoteVerifier],
) -> Result<Vec<VerifiedSignature>, CheckpointError> {
    let mut verified: Vec<VerifiedSignature> = Vec::new();
    let mut seen: Vec<(&str, u32)> = Vec::new();
    for line in lines {
        let (name, id, signature) = parse_signature_line(line)?;
        let mut candidates = known.iter().filter(|k| k.name == name && k.id == id);
        let Some(key) = candidates.next() else {
            continue;
        };
        if candidates.next().is_some() {
            return Err(CheckpointError::AmbiguousKey {
                name: name.to_owned(),
                id,
            });
        }
        // A key's repeated signature adds nothing; like the reference, check only the first.
        if seen.contains(&(name, id)) {
            continue;
        }
        seen.push((name, id));
        let cosigned_at = key.verify(text, &signature)?;
        verified.push(VerifiedSignature {
            name: name.to_owned(),
            kind: key.kind,
            cosigned_at,
        });
    }
    if verified.is_empty() {
        return Err(CheckpointError::NoKnownSignature);
    }
    Ok(verified)
}

/// Splits a signature line into key name, key ID and signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), CheckpointError> {
    let malformed = CheckpointError::MalformedNote;
    let Some(rest) = line.strip_prefix("— ") else {
        return Err(malformed(
            "a signature line does not start with an em dash and a space",
        ));
    };
    let Some((name, encoded)) = rest.split_once(' ') else {
        return Err(malformed("a signature line has no signature"));
    };
    check_key_name(name).map_err(|_| malformed("a signature line has an invalid key name"))?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| malformed("a signature is not base64"))?;
    match bytes.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => {
            Ok((name, u32::from_be_bytes(*id), signature.to_vec()))
        }
        _ => Err(malformed("a signature is shorter than five bytes")),
    }
}

/// Adds a witness's tlog-cosignature/v1 to a checkpoint the witness has opened, at Unix time
/// `time`, replacing an earlier cosignature by the same key. The witness must first check that
/// the checkpoint is consistent with the last one it cosigned for the origin.
pub fn cosign(
    checkpoint: &VerifiedCheckpoint,
    witness_name: &str,
    key: &SigningKey,
    time: u64,
) -> Result<String, CheckpointError> {
    check_key_name(witness_name)?;
    let id = key_id(
        witness_name,
        SignatureKind::CosignatureV1,
        &key.verifying_key(),
    );
    let message = cosigned_message(time, &checkpoint.text)?;
    let mut signature = time.to_be_bytes().to_vec();
    signature.extend_from_slice(&key.sign(&message).to_bytes());
    let new_line = signature_line(witness_name, id, &signature);
    let mut note = format!("{}\n", checkpoint.text);
    for line in &checkpoint.lines {
        let same_key = matches!(parse_signature_line(line), Ok((name, line_id, _)) if name == witness_name && line_id == id);
        if !same_key {
            note.push_str(line);
            note.push('\n');
        }
    }
    note.push_str(&new_line);
    Ok(note)
}

/// A log's checkpoint signer that never signs two inconsistent checkpoints: each new checkpoint
/// needs a consistency proof from the last one it signed.
///
/// The caller must store each signed checkpoint durably before publishing its note, and pass
/// the stored one back to [`CheckpointSigner::new`] after a restart; otherwise the signer
/// forgets what it has vouched for.
pub struct CheckpointSigner {
    /// The log's origin, also the key name.
    origin: String,
    /// The log's signing key.
    key: SigningKey,
    /// The last checkpoint signed: size 0 and the empty root before the first.
    last: Checkpoint,
}

impl CheckpointSigner {
    /// A signer for the log `origin` (also the key name), that last signed `last_signed`, or
    /// nothing yet.
    pub fn new(
        origin: &str,
        key: SigningKey,
        last_signed: Option<Checkpoint>,
    ) -> Result<Self, CheckpointError> {
        check_key_name(origin)?;
        let last = last_signed.unwrap_or(Checkpoint {
            origin: origin.to_owned(),
            size: 0,
            root: merkle::EMPTY_ROOT,
        });
        if last.origin != origin {
            return Err(CheckpointError::OriginMismatch {
                expected: origin.to_owned(),
                found: last.origin,
            });
        }
        Ok(Self {
            origin: origin.to_owned(),
            key,
            last,
        })
    }

    /// The last checkpoint signed (size 0 before the first).
    pub fn last_signed(&self) -> &Checkpoint {
        &self.last
    }

    /// The verifier for this signer's notes.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.origin.clone(),
            kind: SignatureKind::Ed25519,
            id: key_id(
                &self.origin,
                SignatureKind::Ed25519,
                &self.key.verifying_key(),
            ),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `next` if `proof` proves it consistent with the last checkpoint signed (see
    /// [`crate::merkle::MerkleTree::consistency_proof`]), and remembers it.
    pub fn sign(&mut self, next: &Checkpoint, proof: &[Hash]) -> Result<String, CheckpointError> {
        if next.origin != self.origin {
            return Err(CheckpointError::OriginMismatch {
                expected: self.origin.clone(),
                found: next.origin.clone(),
            });
        }
        let last = &self.last;
        merkle::verify_consistency(last.size, next.size, &last.root, &next.root, proof).map_err(
            |source| CheckpointError::Inconsistent {
                from: last.size,
                to: next.size,
                source,
            },
        )?;
        let note = sign(next, &self.origin, &self.key)?;
        self.last = next.clone();
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleTree;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn log_verifier(origin: &str, key: &SigningKey) -> NoteVerifier {
        NoteVerifier::new(origin, SignatureKind::Ed25519, key.verifying_key()).expect("valid name")
    }

    fn witness_verifier(name: &str, key: &SigningKey) -> NoteVerifier {
        NoteVerifier::new(name, SignatureKind::CosignatureV1, key.verifying_key())
            .expect("valid name")
    }

    fn tree(leaves: u64, tag: &str) -> MerkleTree {
        MerkleTree::from_leaves((0..leaves).map(|i| format!("{tag} entry {i}")))
    }

    const ORIGIN: &str = "trm/demo/alpha@marri";

    fn checkpoint_of(tree: &MerkleTree) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size: tree.size(),
            root: tree.root(),
        }
    }

    // golang.org/x/mod/sumdb/note `note_test.go` (TestSign, TestOpen, TestNewVerifier): two
    // published keys, a text and its signatures by each.
    const PETER_SKEY: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    /// The signed-note layer alone (the Go vectors are not checkpoints).
    fn open_note(note: &str, known: &[NoteVerifier]) -> Result<Vec<String>, CheckpointError> {
        let (text, lines) = note::split(note)?;
        let verified = verify_signatures(text, &lines, known)?;
        Ok(verified.into_iter().map(|s| s.name).collect())
    }

    #[test]
    fn signs_like_the_go_reference() {
        let material = BASE64.decode(PETER_SKEY).expect("base64");
        let (0x01, seed) = material.split_first().expect("non-empty") else {
            panic!("the Go signer key is of type 0x01");
        };
        let seed: [u8; 32] = seed.try_into().expect("32-byte seed");
        let peter = SigningKey::from_bytes(&seed);
        let verifier = NoteVerifier::from_vkey(PETER_VKEY).expect("published key");
        assert_eq!(verifier.key_id(), 0xc74f20a3);
        assert_eq!(verifier.to_vkey(), PETER_VKEY);
        assert_eq!(
            NoteVerifier::new(
                "PeterNeumann",
                SignatureKind::Ed25519,
                peter.verifying_key()
            ),
            Ok(verifier)
        );
        assert_eq!(
            sign_note(GO_TEXT, "PeterNeumann", &peter),
            format!("{GO_TEXT}\n{PETER_SIG}")
        );
    }

    #[test]
    fn opens_like_the_go_reference() {
        let peter = NoteVerifier::from_vkey(PETER_VKEY).expect("published key");
        let enoch = NoteVerifier::from_vkey(ENOCH_VKEY).expect("published key");
        let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(
            open_note(&both, std::slice::from_ref(&peter)),
            Ok(vec!["PeterNeumann".into()])
        );
        assert_eq!(
            open_note(&both, &[peter.clone(), enoch.clone()]),
            Ok(vec!["PeterNeumann".into(), "EnochRoot".into()])
        );
        assert_eq!(
            open_note(&both, &[]),
            Err(CheckpointError::NoKnownSignature)
        );
        assert!(matches!(
            open_note(
                &format!("{GO_TEXT}\n{ENOCH_SIG}"),
                &[enoch.clone(), enoch.clone()]
            ),
            Err(CheckpointError::AmbiguousKey { .. })
        ));
        // Repeated signatures count once.
        let repeated = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}");
        assert_eq!(
            open_note(&repeated, std::slice::from_ref(&peter)),
            Ok(vec!["PeterNeumann".into()])
        );
        let corrupt = format!("{GO_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            open_note(&corrupt, std::slice::from_ref(&peter)),
            Err(CheckpointError::InvalidSignature("PeterNeumann".into()))
        );
        let too_many = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101));
        assert!(matches!(
            open_note(&too_many, std::slice::from_ref(&peter)),
            Err(CheckpointError::MalformedNote(_))
        ));
        let bad_notes = [
            GO_TEXT.to_owned(),
            format!("{GO_TEXT}\n"),
            format!("{GO_TEXT}\n{}", PETER_SIG.trim_end()),
            format!("\x01{GO_TEXT}\n{PETER_SIG}"),
            format!("{GO_TEXT}\n— Bad Name {}", &PETER_SIG[17..]),
            format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
        ];
        for bad in bad_notes {
            assert!(
                matches!(
                    open_note(&bad, std::slice::from_ref(&peter)),
                    Err(CheckpointError::MalformedNote(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reads_published_verifier_keys_and_refuses_mangled_ones() {
        // transparency-dev/formats `note/note_cosigv1_test.go`: a type 0x01 key whose base64
        // holds a '+', and a real witness's type 0x04 (cosignature/v1) key.
        for (vkey, kind) in [
            (
                "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
                SignatureKind::Ed25519,
            ),
            (
                "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
                SignatureKind::CosignatureV1,
            ),
        ] {
            let verifier = NoteVerifier::from_vkey(vkey).expect("published key");
            assert_eq!(verifier.kind(), kind);
            assert_eq!(verifier.to_vkey(), vkey);
        }
        // As golang.org/x/mod/sumdb/note TestNewVerifier: no part and no changed byte passes.
        let bytes = PETER_VKEY.as_bytes();
        for i in 0..bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let part = std::str::from_utf8(&bytes[i..j]).expect("ASCII");
                    assert!(NoteVerifier::from_vkey(part).is_err(), "{part}");
                }
            }
            let mut changed = bytes.to_vec();
            changed[i] += 1;
            let changed = String::from_utf8(changed).expect("ASCII");
            assert!(NoteVerifier::from_vkey(&changed).is_err(), "{changed}");
        }
    }

    #[test]
    fn opens_a_sum_golang_org_checkpoint() {
        // A checkpoint signed by Go's checksum database, from transparency-dev/trillian-tessera
        // `internal/parse/parse_test.go`, with its published key (cmd/go's built-in GOSUMDB key).
        // The origin has spaces: allowed, though not recommended, by tlog-checkpoint.
        let key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
        let note = "go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n\
                    — sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=\n";
        let known = [NoteVerifier::from_vkey(key).expect("published key")];
        let opened = open(note, &known).expect("genuine checkpoint");
        assert_eq!(opened.checkpoint().origin, "go.sum database tree");
        assert_eq!(opened.checkpoint().size, 31700353);
        assert_eq!(
            hex::encode(opened.checkpoint().root),
            "a88352d464458561f076451ea8b1283f8c843244c1073c41906c0642556555cb"
        );
        assert!(opened.signed_by("sum.golang.org"));
        assert_eq!(opened.note(), note);
        let changed = note.replace("31700353", "31700354");
        assert_eq!(
            open(&changed, &known).map(|_| ()),
            Err(CheckpointError::InvalidSignature("sum.golang.org".into()))
        );
    }

    #[test]
    fn matches_an_independent_implementation() {
        // Made with Python's `cryptography` 48 (Ed25519) and `hashlib`, not with this module:
        // the log key's seed is 32 bytes of 0x01, the witness key's 32 bytes of 0x07, the tree
        // is the 8-leaf RFC 6962 test tree (see `merkle`), and the cosignature time 1700000000.
        // Key IDs are SHA-256(name || "\n" || type || public key)[:4], type 0x01 for the log and
        // 0x04 for the witness; the cosignature signs "cosignature/v1\ntime 1700000000\n" + text.
        const LOG_VKEY: &str =
            "trm/demo/alpha@marri+3aeb7ada+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";
        const WITNESS_VKEY: &str =
            "witness.example/w1+aa4a09d1+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
        const SIGNED: &str = "trm/demo/alpha@marri\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\
            — trm/demo/alpha@marri Out62lMUHDSUS664XrjMROmvjGdGLxHMi0vDGBocXy/42GO9hP2NuZhsHx/agcgzigrZLuXEsylJTktUUeXBQXVr8gk=\n";
        const COSIGNATURE: &str = "— witness.example/w1 qkoJ0QAAAABlU/EAUHeIuCk/HeFjdhTvY6l5T6QhhnCt1Fv+z8VSUfJMQornATA0qiVmZafWI2KR/eOMJuQS7nAt8zas2xvlNDTCAQ==\n";

        let (log_key, witness_key) = (key(1), key(7));
        let log = log_verifier(ORIGIN, &log_key);
        let witness = witness_verifier("witness.example/w1", &witness_key);
        assert_eq!(log.to_vkey(), LOG_VKEY);
        assert_eq!(witness.to_vkey(), WITNESS_VKEY);

        let checkpoint = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: 8,
            root: merkle::MerkleTree::from_leaves(
                [
                    "",
                    "00",
                    "10",
                    "2021",
                    "3031",
                    "40414243",
                    "5051525354555657",
                ]
                .iter()
                .chain(&["606162636465666768696a6b6c6d6e6f"])
                .map(|leaf| hex::decode(leaf).expect("hex")),
            )
            .root(),
        };
        assert_eq!(sign(&checkpoint, ORIGIN, &log_key), Ok(SIGNED.to_owned()));

        let opened = open(SIGNED, std::slice::from_ref(&log)).expect("log signature");
        let cosigned = cosign(&opened, "witness.example/w1", &witness_key, 1_700_000_000);
        assert_eq!(cosigned, Ok(format!("{SIGNED}{COSIGNATURE}")));

        let both = open(&format!("{SIGNED}{COSIGNATURE}"), &[log, witness]).expect("both");
        assert_eq!(both.checkpoint(), &checkpoint);
        assert_eq!(
            both.signatures()[1],
            VerifiedSignature {
                name: "witness.example/w1".into(),
                kind: SignatureKind::CosignatureV1,
                cosigned_at: Some(1_700_000_000),
            }
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        let log_key = key(1);
        let log = log_verifier(ORIGIN, &log_key);
        let checkpoint = checkpoint_of(&tree(1000, "a"));
        let note = sign(&checkpoint, ORIGIN, &log_key).expect("signs");
        let opened = open(&note, std::slice::from_ref(&log)).expect("opens");
        assert_eq!(opened.checkpoint(), &checkpoint);
        assert!(opened.signed_by(ORIGIN));
        assert_eq!(opened.note(), note);

        let root = BASE64.encode(checkpoint.root);
        let mut other_root = checkpoint.root;
        other_root[31] ^= 1;
        let (signature, signature_at) = {
            let line = note.lines().last().expect("a signature line");
            let encoded = line.rsplit(' ').next().expect("a signature");
            (encoded, note.rfind(encoded).expect("in the note"))
        };
        let mut flipped = BASE64.decode(signature).expect("base64");
        flipped[10] ^= 1;
        let tampered = [
            note.replace("\n1000\n", "\n1001\n"),
            note.replace("\n1000\n", "\n999\n"),
            note.replace(&root, &BASE64.encode(other_root)),
            note.replace("trm/demo/alpha@marri\n", "trm/demo/alphb@marri\n"),
            format!("{}{}\n", &note[..signature_at], BASE64.encode(flipped)),
        ];
        for note in tampered {
            assert_eq!(
                open(&note, std::slice::from_ref(&log)).map(|_| ()),
                Err(CheckpointError::InvalidSignature(ORIGIN.into())),
                "{note}"
            );
        }

        // Another key under the same name is an unknown key: ignored, so nothing verifies.
        let impostor = sign(&checkpoint, ORIGIN, &key(2)).expect("signs");
        assert_eq!(
            open(&impostor, std::slice::from_ref(&log)).map(|_| ()),
            Err(CheckpointError::NoKnownSignature)
        );
        // An unknown key's line beside the log's is ignored.
        let stranger = sign(&checkpoint, "stranger.example", &key(3)).expect("signs");
        let extra = format!("{note}{}", stranger.lines().last().expect("line"));
        let opened = open(&format!("{extra}\n"), std::slice::from_ref(&log)).expect("opens");
        assert_eq!(opened.signatures().len(), 1);
        // A log signature checked as a cosignature has another key ID: unknown.
        let as_witness = witness_verifier(ORIGIN, &log_key);
        assert_eq!(
            open(&note, &[as_witness]).map(|_| ()),
            Err(CheckpointError::NoKnownSignature)
        );
    }

    #[test]
    fn checkpoint_text_is_canonical() {
        let good = "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
        assert!(Checkpoint::parse(good).is_ok());
        assert_eq!(
            Checkpoint::parse("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"),
            Ok(Checkpoint {
                origin: "o".into(),
                size: 0,
                root: merkle::EMPTY_ROOT,
            })
        );
        for bad in [
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
            "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
            "o\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
            "o\n-8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
            "o\n\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
            "o\n18446744073709551616\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n",
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n",
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==\n",
            "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nextension\n",
            "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
            "o\n8\n",
        ] {
            assert!(
                matches!(
                    Checkpoint::parse(bad),
                    Err(CheckpointError::MalformedCheckpoint(_))
                ),
                "{bad:?}"
            );
        }
        let newline_origin = Checkpoint {
            origin: "a\nb".into(),
            size: 1,
            root: merkle::EMPTY_ROOT,
        };
        assert!(sign(&newline_origin, ORIGIN, &key(1)).is_err());
    }

    #[test]
    fn node_origins() {
        let node: NodeAddr = "alpha@marri".parse().expect("node address");
        assert_eq!(node_origin("demo", &node), Ok(ORIGIN.to_owned()));
        assert!(matches!(
            node_origin("my federation", &node),
            Err(CheckpointError::KeyName(_))
        ));
        assert!(matches!(
            node_origin("a+b", &node),
            Err(CheckpointError::KeyName(_))
        ));
    }

    #[test]
    fn a_new_cosignature_replaces_the_witness_s_earlier_one() {
        let (log_key, witness_key) = (key(1), key(7));
        let log = log_verifier(ORIGIN, &log_key);
        let witness = witness_verifier("w.example", &witness_key);
        let note = sign(&checkpoint_of(&tree(5, "a")), ORIGIN, &log_key).expect("signs");
        let opened = open(&note, std::slice::from_ref(&log)).expect("opens");
        let first = cosign(&opened, "w.example", &witness_key, 100).expect("cosigns");
        let reopened = open(&first, &[log.clone(), witness.clone()]).expect("opens");
        let second = cosign(&reopened, "w.example", &witness_key, 200).expect("cosigns");
        assert_eq!(
            second.lines().filter(|l| l.contains("w.example")).count(),
            1
        );
        let last = open(&second, &[log, witness]).expect("opens");
        assert_eq!(last.signatures()[1].cosigned_at, Some(200));
        assert_eq!(
            cosign(&opened, "w.example", &witness_key, 1 << 63),
            Err(CheckpointError::Timestamp(1 << 63))
        );
    }

    #[test]
    fn the_signer_refuses_inconsistent_checkpoints() {
        let log_key = key(1);
        let mut signer = CheckpointSigner::new(ORIGIN, log_key.clone(), None).expect("signer");
        let verifier = signer.verifier();
        let history = tree(40, "a");
        let at = |size: u64| Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: history.root_at(size).expect("size reached"),
        };
        let proof = |from: u64, to: u64| history.consistency_proof(from, to).expect("sizes");

        let note = signer.sign(&at(3), &proof(0, 3)).expect("first checkpoint");
        assert_eq!(
            open(&note, std::slice::from_ref(&verifier)).map(|o| o.checkpoint().size),
            Ok(3)
        );
        signer.sign(&at(17), &proof(3, 17)).expect("extends 3");
        assert_eq!(signer.sign(&at(17), &[]), sign(&at(17), ORIGIN, &log_key));
        assert!(matches!(
            signer.sign(&at(12), &[]),
            Err(CheckpointError::Inconsistent {
                from: 17,
                to: 12,
                source: MerkleError::SizesReversed { .. }
            })
        ));
        // A fork: a tree of 30 leaves whose first 17 are not the signed ones.
        let fork = tree(30, "b");
        let forked = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: 30,
            root: fork.root(),
        };
        for forged in [
            proof(17, 30),
            fork.consistency_proof(17, 30).expect("sizes"),
        ] {
            assert!(matches!(
                signer.sign(&forked, &forged),
                Err(CheckpointError::Inconsistent {
                    from: 17,
                    to: 30,
                    ..
                })
            ));
        }
        // The wrong proof for a genuine extension is refused too.
        assert!(matches!(
            signer.sign(&at(30), &proof(16, 30)),
            Err(CheckpointError::Inconsistent { .. })
        ));
        let mut elsewhere = at(30);
        elsewhere.origin = "trm/demo/beta@marri".into();
        assert!(matches!(
            signer.sign(&elsewhere, &proof(17, 30)),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        assert_eq!(signer.last_signed(), &at(17));

        // After a restart, the restored last checkpoint still binds the signer.
        let mut restarted =
            CheckpointSigner::new(ORIGIN, log_key, Some(signer.last_signed().clone()))
                .expect("signer");
        assert!(
            restarted
                .sign(&forked, &fork.consistency_proof(17, 30).expect("sizes"))
                .is_err()
        );
        restarted.sign(&at(40), &proof(17, 40)).expect("extends 17");
        assert!(matches!(
            CheckpointSigner::new(ORIGIN, key(1), Some(elsewhere)),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }
}
