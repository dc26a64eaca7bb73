//! Sealed content in a file of its own, outside the storage engine's trees.
//!
//! A stored message's content (its signed body encrypted to the case key, about 8 KiB for a
//! referral) used to sit inside the message's record. The storage engine then copied it again
//! with every change to the record (each receipt adds evidence) and every rewrite or split of the
//! pages around it: most of a node's CPU while it stored messages (BENCHMARKS.md). Here it is
//! written once, at the end of `sealed-content` in the store's folder, and the record keeps only
//! where it is (`StoredMessage.content_place`).
//!
//! A record in the file is a 4-byte length (little-endian), an 8-byte check (the first bytes of
//! a SHA-256 of the record's offset and its bytes) and the bytes. The check catches a place that
//! does not point at the record it names and a record damaged on disk, which are refused with a
//! precise error rather than handed to decryption.
//!
//! **Durability.** The content is on disk (a sync shared by the writers of the moment,
//! [`AppendFile`]) before the change that records its place is handed to the writer thread, so
//! no committed record points at content that a crash lost. Content whose change never
//! committed (a refused step, a crash between the two) stays in the file unreferenced.
//!
//! **Erasure** clears the place in the record; the bytes stay in the file, encrypted to a key
//! that the erasure destroys, as they also stay in the engine's own log until it reuses the
//! space. Nothing is taken out of the file: it grows with every message stored.

use std::borrow::Cow;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use sha2::{Digest, Sha256};
use trm_proto::pb;
use trm_storage::AppendFile;

use super::StoreError;

/// The file of sealed content in the store's folder.
pub(super) const FILE: &str = "sealed-content";

/// The bytes of a record's length.
const LENGTH: usize = 4;

/// The bytes of a record's check.
const CHECK: usize = 8;

/// The sealed content of the store's messages.
pub(super) struct ContentFile {
    file: AppendFile,
}

/// The check of the record at `offset` holding `bytes`.
fn check(offset: u64, bytes: &[u8]) -> [u8; CHECK] {
    let digest = Sha256::new()
        .chain_update(b"trm sealed content\0")
        .chain_update(offset.to_be_bytes())
        .chain_update(bytes)
        .finalize();
    digest.first_chunk::<CHECK>().copied().unwrap_or_default()
}

impl ContentFile {
    /// The file in the store's folder `dir`, made when there is none.
    pub(super) fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(FILE);
        let file = AppendFile::open(&path, |file| Ok(file.metadata()?.len()))
            .map_err(|source| StoreError::Content { path, source })?;
        Ok(Self { file })
    }

    fn failed(&self, source: std::io::Error) -> StoreError {
        StoreError::Content {
            path: self.file.path().to_path_buf(),
            source,
        }
    }

    fn corrupt(&self, offset: u64, problem: &str) -> StoreError {
        StoreError::Corrupt {
            tree: FILE,
            message: format!("the record at {offset}: {problem}"),
        }
    }

    /// Writes `sealed` at the end of the file and returns where it is, once it is on disk.
    /// Blocking.
    pub(super) fn put(&self, sealed: &[u8]) -> Result<pb::ContentPlace, StoreError> {
        let length = u32::try_from(sealed.len())
            .map_err(|_| self.failed(std::io::Error::other("content over 4 GiB")))?;
        // The offset is in the check, and known only under the file's lock: the record is
        // checked for the place it will take, and written there or not at all.
        let offset = self
            .file
            .append_with(|offset| {
                [
                    length.to_le_bytes().as_slice(),
                    &check(offset, sealed),
                    sealed,
                ]
                .concat()
            })
            .map_err(|e| self.failed(e))?;
        Ok(pb::ContentPlace { offset, length })
    }

    /// The sealed content of `stored`, from its record or from this file; `None` once erased.
    pub(super) fn sealed<'a>(
        &self,
        stored: &'a pb::StoredMessage,
    ) -> Result<Option<Cow<'a, [u8]>>, StoreError> {
        if let Some(place) = &stored.content_place {
            return self.read(place).map(|bytes| Some(Cow::Owned(bytes)));
        }
        Ok((!stored.content.is_empty()).then_some(Cow::Borrowed(stored.content.as_slice())))
    }

    /// The bytes at `place`, checked.
    pub(super) fn read(&self, place: &pb::ContentPlace) -> Result<Vec<u8>, StoreError> {
        let offset = place.offset;
        let size = self
            .file
            .file()
            .metadata()
            .map_err(|e| self.failed(e))?
            .len();
        // Checked before anything is allocated: a damaged place cannot ask for 4 GiB.
        let whole = ((LENGTH + CHECK) as u64).saturating_add(u64::from(place.length));
        if offset.saturating_add(whole) > size {
            return Err(self.corrupt(offset, "past the file's end"));
        }
        let length = usize::try_from(place.length).unwrap_or(usize::MAX);
        let mut record = vec![0u8; LENGTH + CHECK + length];
        self.file
            .file()
            .read_exact_at(&mut record, offset)
            .map_err(|e| self.failed(e))?;
        let (header, bytes) = record.split_at(LENGTH + CHECK);
        let (written, sum) = header.split_at(LENGTH);
        if written != place.length.to_le_bytes() {
            return Err(self.corrupt(offset, "its length is not the one its message records"));
        }
        if sum != check(offset, bytes) {
            return Err(self.corrupt(offset, "its check fails"));
        }
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_reads_back_after_a_reopen_and_a_wrong_or_damaged_place_is_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let content = ContentFile::open(dir.path())?;
        let one = content.put(b"first sealed")?;
        let two = content.put(&[7u8; 9000])?;
        drop(content);
        let content = ContentFile::open(dir.path())?;
        assert_eq!(content.read(&one)?, b"first sealed");
        assert_eq!(content.read(&two)?, vec![7u8; 9000]);
        let three = content.put(b"after the reopen")?;
        assert_eq!(three.offset, two.offset + 12 + 9000);

        let shifted = pb::ContentPlace {
            offset: two.offset,
            length: one.length,
        };
        let refused = content.read(&shifted).err().map(|e| e.to_string());
        assert!(
            refused.is_some_and(|e| e.contains("length")),
            "a wrong length"
        );
        for past in [(three.offset + 1_000, 4), (three.offset, u32::MAX)] {
            let past = pb::ContentPlace {
                offset: past.0,
                length: past.1,
            };
            let refused = content.read(&past).err().map(|e| e.to_string());
            assert!(refused.is_some_and(|e| e.contains("past the file's end")));
        }

        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path)?;
        let inside = usize::try_from(two.offset)? + 12 + 100;
        bytes[inside] ^= 1;
        std::fs::write(&path, &bytes)?;
        let refused = content.read(&two).err().map(|e| e.to_string());
        assert!(
            refused.is_some_and(|e| e.contains("check fails")),
            "a damaged byte"
        );
        assert_eq!(
            content.read(&one)?,
            b"first sealed",
            "the others still read"
        );
        Ok(())
    }
}
