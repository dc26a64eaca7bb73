//! Sealed content in a file of its own, outside the storage engine's trees.
//!
//! A stored message's content (its signed body encrypted to the case key, about 8 KiB for a
//! referral) used to sit inside the message's record, and a sent message's whole envelope inside
//! its outbox record. The storage engine then copied them again with every change to the record
//! (each receipt adds evidence) and every rewrite or split of the pages around them: most of a
//! node's CPU while it stored messages (BENCHMARKS.md). Here each is written once, at the end of
//! `sealed-content` in the store's folder, and the records keep only where it is
//! (`StoredMessage.content_place`, `OutboxItem.envelope_place`). A send writes its envelope and
//! its content together, with one sync.
//!
//! A record in the file is a 4-byte length (little-endian), an 8-byte check (the first bytes of
//! a SHA-256 of the record's offset and its bytes) and the bytes. The check catches a place that
//! does not point at the record it names and a record damaged on disk, which are refused with a
//! precise error rather than handed to decryption or decoding; a place past the file's end is
//! refused before anything is allocated for it.
//!
//! **Durability.** The bytes are on disk (a sync shared by the writers of the moment,
//! [`AppendFile`]) before the change that records their place is handed to the writer thread,
//! so no committed record points at bytes that a crash lost. Bytes whose change never committed
//! (a refused step, a crash between the two) stay in the file unreferenced.
//!
//! **Erasure** clears the place in the message's record, and once that is on disk the record in
//! the file is made a hole, which reads as zeros and whose whole blocks the file system takes
//! back ([`ContentFile::wipe`]); so is an envelope once the broker has it and its outbox record
//! is gone. Offsets are never reused: the file's length grows with every message stored and
//! every envelope sent; the disk it takes grows with what is still named and with the blocks
//! that wiped records share with their neighbours.

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

/// Makes `length` bytes at `offset` a hole: the blocks wholly inside are given back to the file
/// system, the parts of the blocks at either end (shared with the records beside it) become
/// zeros, and the file keeps its length. For records of about 8 KiB, that gives back about
/// half of what they took on disk.
fn release(file: &std::fs::File, offset: u64, length: u64) -> std::io::Result<()> {
    use nix::fcntl::{FallocateFlags, fallocate};
    let (Ok(offset), Ok(length)) = (i64::try_from(offset), i64::try_from(length)) else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    fallocate(
        file,
        FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE,
        offset,
        length,
    )
    .map_err(std::io::Error::from)
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

    /// Writes `records` at the end of the file and returns where each is, once they are all
    /// on disk (one write, one sync). Blocking.
    pub(super) fn put(&self, records: &[&[u8]]) -> Result<Vec<pb::ContentPlace>, StoreError> {
        let mut lengths = Vec::with_capacity(records.len());
        for record in records {
            lengths.push(
                u32::try_from(record.len())
                    .map_err(|_| self.failed(std::io::Error::other("a record over 4 GiB")))?,
            );
        }
        let mut places = Vec::with_capacity(records.len());
        // The offset is in the check, and known only under the file's lock: each record is
        // checked for the place it will take, and written there or not at all.
        self.file
            .append_with(|start| {
                let mut bytes = Vec::new();
                for (record, length) in records.iter().zip(&lengths) {
                    let offset = start + bytes.len() as u64;
                    bytes.extend_from_slice(&length.to_le_bytes());
                    bytes.extend_from_slice(&check(offset, record));
                    bytes.extend_from_slice(record);
                    places.push(pb::ContentPlace {
                        offset,
                        length: *length,
                    });
                }
                bytes
            })
            .map_err(|e| self.failed(e))?;
        Ok(places)
    }

    /// Wipes the record at `place` once no record names it (an erasure cleared it, or the
    /// broker has the envelope): the record is made a hole, which reads as zeros and whose whole
    /// blocks go back to the file system ([`release`]), or, where the file system cannot make
    /// holes, it is overwritten with zeros.
    /// The record is checked first, so a place that does not name a whole record wipes nothing
    /// (a second wipe of one place finds zeros). Not synced: the change reaches the disk with the
    /// file's next sync or the kernel's writeback; until then, the bytes are under a key that is
    /// destroyed or not this node's.
    pub(super) fn wipe(&self, place: &pb::ContentPlace) -> Result<(), StoreError> {
        if self.read(place).is_err() {
            return Ok(());
        }
        let whole = (LENGTH + CHECK) as u64 + u64::from(place.length);
        match release(self.file.file(), place.offset, whole) {
            Ok(()) => Ok(()),
            Err(_) => self
                .file
                .file()
                .write_all_at(
                    &vec![0u8; usize::try_from(whole).unwrap_or_default()],
                    place.offset,
                )
                .map_err(|e| self.failed(e)),
        }
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
        let [one, two] = <[_; 2]>::try_from(content.put(&[b"first sealed", &[7u8; 9000]])?)
            .map_err(|_| "two places")?;
        drop(content);
        let content = ContentFile::open(dir.path())?;
        assert_eq!(content.read(&one)?, b"first sealed");
        assert_eq!(content.read(&two)?, vec![7u8; 9000]);
        let three = *content
            .put(&[b"after the reopen"])?
            .first()
            .ok_or("a place")?;
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

        // A place that names no whole record wipes nothing; a record wiped is zeros, once.
        content.wipe(&pb::ContentPlace {
            offset: one.offset,
            length: one.length + 1,
        })?;
        assert_eq!(content.read(&one)?, b"first sealed");
        content.wipe(&one)?;
        content.wipe(&one)?;
        let bytes = std::fs::read(&path)?;
        assert!(bytes[..12 + 12].iter().all(|b| *b == 0), "the wiped record");
        assert!(content.read(&one).is_err());
        assert_eq!(content.read(&three)?, b"after the reopen");
        Ok(())
    }

    /// Wiped records give their disk back: the file keeps its length, so every other place
    /// still reads, and takes no more than the blocks of the records still named and those
    /// the wiped ones share with their neighbours (one 4 KiB block in two, for 8 KiB records).
    #[test]
    fn wiped_records_give_their_disk_back_and_the_others_still_read()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir()?;
        let content = ContentFile::open(dir.path())?;
        let record = vec![5u8; 8 * 1024];
        let records: Vec<&[u8]> = (0..64).map(|_| record.as_slice()).collect();
        let places = content.put(&records)?;
        let path = dir.path().join(FILE);
        let before = std::fs::metadata(&path)?;
        let (kept, wiped) = places.split_first().ok_or("places")?;
        for place in wiped {
            content.wipe(place)?;
        }
        content.file.file().sync_all()?;
        let after = std::fs::metadata(&path)?;
        assert_eq!(after.len(), before.len(), "the file keeps its length");
        // `blocks` counts 512-byte units: 64 records took at least 512 KiB.
        assert!(
            before.blocks() * 512 >= 64 * 8 * 1024,
            "{} blocks",
            before.blocks()
        );
        assert!(
            after.blocks() * 10 <= before.blocks() * 6,
            "{} blocks before, {} after",
            before.blocks(),
            after.blocks()
        );
        assert_eq!(content.read(kept)?, record);
        let bytes = std::fs::read(&path)?;
        let kept_end = usize::try_from(kept.offset)? + 12 + record.len();
        assert!(
            bytes[kept_end..].iter().all(|b| *b == 0),
            "wiped records read as zeros"
        );
        for place in wiped {
            assert!(
                content.read(place).is_err(),
                "a wiped record no longer reads"
            );
        }
        Ok(())
    }
}
