//! The backup archive's format. Everything is inside one age encryption (to the recovery
//! recipient): the line `trm-node-backup 1`, then a length-delimited `BackupManifest`, then
//! one length-delimited `BackupFile` per file, in the manifest's order. The manifest names the
//! node, the federation, when the snapshot was taken, the handover log's length and head, and
//! every file's path, size and SHA-256; reading checks all of it before anything is written.
//!
//! Paths are relative and `/`-separated, under `config/`, `keys/` or `data/` only, with no
//! `.` or `..` part, so a restore never writes outside its folder.

use std::io::{Read, Write};
use std::path::Path;

use prost::Message as _;
use sha2::{Digest as _, Sha256};
use trm_proto::pb;

use super::BackupError;

/// The archive's first line.
pub const MAGIC: &[u8] = b"trm-node-backup 1\n";

/// The format written, in the manifest.
pub const FORMAT: u32 = 1;

/// The top-level folders an archive's paths may start with.
const TOP: [&str; 3] = ["config", "keys", "data"];

/// An archive's manifest and files, checked against each other.
#[derive(Debug, Clone)]
pub struct Contents {
    /// What the archive says it holds.
    pub manifest: pb::BackupManifest,
    /// The files, in the manifest's order.
    pub files: Vec<pb::BackupFile>,
}

impl Contents {
    /// The contents of the file at `path`, if the archive has one.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.data.as_slice())
    }
}

/// The manifest entry of a file.
fn listed(file: &pb::BackupFile) -> pb::ManifestFile {
    pb::ManifestFile {
        path: file.path.clone(),
        size: file.data.len() as u64,
        sha256: Sha256::digest(&file.data).to_vec(),
    }
}

/// The manifest of `files`, with the snapshot's facts.
pub fn manifest(
    node: &str,
    federation: &str,
    snapshot: &pb::NodeSnapshot,
    files: &[pb::BackupFile],
) -> pb::BackupManifest {
    pb::BackupManifest {
        format: FORMAT,
        node: node.to_owned(),
        federation: federation.to_owned(),
        taken_at_ms: snapshot.taken_at_ms,
        log_entries: snapshot.log_entries,
        log_head: snapshot.log_head.clone(),
        software_version: env!("CARGO_PKG_VERSION").to_owned(),
        files: files.iter().map(listed).collect(),
        erased_cases: snapshot.erased_cases,
    }
}

/// Why a path may not be in an archive, if it may not.
pub fn path_problem(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let top_ok = parts.first().is_some_and(|top| TOP.contains(top));
    let parts_ok = parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\\'));
    (!top_ok || !parts_ok)
        .then(|| format!("file path {path:?} is not a relative path under config/, keys/ or data/"))
}

/// Encrypts the archive of `manifest` and `files` to `recipient` as it writes it to `out`,
/// and returns `out` once the encryption is finished.
pub fn write<W: Write>(
    out: W,
    recipient: &age::x25519::Recipient,
    manifest: &pb::BackupManifest,
    files: &[pb::BackupFile],
) -> std::io::Result<W> {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(std::io::Error::other)?;
    let mut sealed = encryptor.wrap_output(out)?;
    sealed.write_all(MAGIC)?;
    sealed.write_all(&manifest.encode_length_delimited_to_vec())?;
    for file in files {
        sealed.write_all(&file.encode_length_delimited_to_vec())?;
    }
    sealed.finish()
}

/// Decrypts the archive read from `input` (the file `from`) with `identities` (from the file
/// `identity`) and checks it: magic line, format, every manifest file present once with its
/// size and hash, nothing else, every path safe.
pub fn read(
    input: impl Read,
    identities: &[age::x25519::Identity],
    from: &Path,
    identity: &Path,
) -> Result<Contents, BackupError> {
    let damaged = |problem: String| BackupError::Damaged {
        path: from.to_owned(),
        problem,
    };
    let decryptor = age::Decryptor::new(std::io::BufReader::new(input))
        .map_err(|e| damaged(format!("not an age file ({e})")))?;
    let mut plain = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => BackupError::WrongKey {
                from: from.to_owned(),
                identity: identity.to_owned(),
            },
            other => damaged(other.to_string()),
        })?;
    let mut bytes = Vec::new();
    plain
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(format!("decryption failed part way ({e})")))?;
    let mut rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| damaged("it does not start with the trm backup line".into()))?;
    let manifest = pb::BackupManifest::decode_length_delimited(&mut rest)
        .map_err(|e| damaged(format!("its manifest does not decode ({e})")))?;
    if manifest.format != FORMAT {
        return Err(damaged(format!(
            "it has format {}; this trm-node reads format {FORMAT}",
            manifest.format
        )));
    }
    let mut files = Vec::with_capacity(manifest.files.len());
    for expected in &manifest.files {
        if rest.is_empty() {
            return Err(damaged(format!("file {} is missing", expected.path)));
        }
        let file = pb::BackupFile::decode_length_delimited(&mut rest)
            .map_err(|e| damaged(format!("a file record does not decode ({e})")))?;
        if let Some(problem) = path_problem(&file.path) {
            return Err(damaged(problem));
        }
        if listed(&file) != *expected {
            return Err(damaged(format!(
                "file {} does not match the manifest (expected {}, its size or SHA-256 differs)",
                file.path, expected.path
            )));
        }
        if files.iter().any(|f: &pb::BackupFile| f.path == file.path) {
            return Err(damaged(format!("file {} appears twice", file.path)));
        }
        files.push(file);
    }
    if !rest.is_empty() {
        return Err(damaged(
            "it holds more than its manifest lists (trailing data)".into(),
        ));
    }
    Ok(Contents { manifest, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (pb::BackupManifest, Vec<pb::BackupFile>) {
        let files = vec![
            pb::BackupFile {
                path: "keys/age.key".into(),
                data: b"AGE-SECRET-KEY-1 example".to_vec(),
            },
            pb::BackupFile {
                path: "data/store".into(),
                data: vec![1, 2, 3],
            },
        ];
        let snapshot = pb::NodeSnapshot {
            taken_at_ms: 5,
            log_entries: 2,
            log_head: vec![7; 32],
            files: Vec::new(),
            erased_cases: 1,
            paused_us: 40,
        };
        (
            manifest("astra@marri", "trm-test", &snapshot, &files),
            files,
        )
    }

    #[test]
    fn an_archive_reads_back_only_with_its_key() -> Result<(), Box<dyn std::error::Error>> {
        let key = age::x25519::Identity::generate();
        let (manifest, files) = sample();
        let sealed = write(Vec::new(), &key.to_public(), &manifest, &files)?;
        assert!(
            !sealed.windows(10).any(|w| w == b"AGE-SECRET"),
            "the archive is encrypted"
        );
        let (from, identity) = (Path::new("b.age"), Path::new("r.key"));
        let contents = read(sealed.as_slice(), &[key], from, identity)?;
        assert_eq!(contents.manifest, manifest);
        assert_eq!(contents.file("data/store"), Some(&[1u8, 2, 3][..]));
        let other = age::x25519::Identity::generate();
        let refused = read(sealed.as_slice(), &[other], from, identity);
        assert!(matches!(refused, Err(BackupError::WrongKey { .. })));
        Ok(())
    }

    #[test]
    fn a_file_that_differs_from_its_manifest_or_escapes_is_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let key = age::x25519::Identity::generate();
        let (manifest, mut files) = sample();
        if let Some(file) = files.get_mut(1) {
            file.data.push(4);
        }
        let sealed = write(Vec::new(), &key.to_public(), &manifest, &files)?;
        let refused = read(sealed.as_slice(), &[key], Path::new("b"), Path::new("k"));
        match refused {
            Err(BackupError::Damaged { problem, .. }) => {
                assert!(problem.contains("data/store"), "{problem}");
            }
            other => panic!("expected a damaged archive, got {other:?}"),
        }
        for bad in [
            "../x",
            "data/../../x",
            "/etc/passwd",
            "other/x",
            "data",
            "data//x",
        ] {
            assert!(path_problem(bad).is_some(), "{bad}");
        }
        assert!(path_problem("data/case-keys/salt").is_none());
        Ok(())
    }
}
