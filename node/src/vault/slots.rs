//! Case keys in slots of one file: a new case's key costs one write into a file that is already
//! there and its share of a group sync, not a new file of its own.
//!
//! A key made for its own file cost, on every new case, a new inode, a write, a rename into
//! place under the folder's lock, an `fsync` of the file and one of the folder: a third of the
//! addressee's CPU while it drained a queue of new cases (BENCHMARKS.md). Here the key goes into
//! the next slot of `case-keys/slots`, and the callers making keys at the same time share one
//! `fdatasync` (a group sync: the first one to find no sync running syncs everything written so
//! far, the others wait for it).
//!
//! A slot is [`SLOT`] bytes: the key's name (the same salted hash that names a key file), the
//! 32-byte key, and a check of both ([`CHECK`] bytes of a SHA-256). A slot of zeros is an erased
//! key: erasing overwrites the slot in place with zeros and syncs it, as a key file was
//! overwritten with zeros before it was removed. A slot whose check fails is a write that a crash
//! cut short: it was never acknowledged, so it is skipped (and the place is written over).
//!
//! Each key's name and where its slot is are kept in memory (read once when the vault opens:
//! 40 bytes and a hash table's overhead per key); the keys themselves are read from their slot
//! when they are needed. Erased slots are not used again: the file grows by one slot per key made.
//!
//! One process makes keys in a data folder: the node, which holds its store's lock. Another
//! handle on the folder (a test, a tool reading an offline node) only reads.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};
use trm_storage::AppendFile;
use zeroize::Zeroizing;

use super::VaultError;

/// The slots' file in the vault's folder.
pub(super) const FILE: &str = "slots";

/// The bytes of a key's name.
const NAME: usize = 32;

/// The bytes of a key.
const KEY: usize = 32;

/// The bytes of a slot's check.
const CHECK: usize = 8;

/// The bytes of one slot: name, key, check.
pub(super) const SLOT: usize = NAME + KEY + CHECK;

/// The keys' slots in one file.
pub(super) struct Slots {
    file: AppendFile,
    /// Where each key's slot is, by the key's name.
    index: Mutex<HashMap<[u8; NAME], u64>>,
}

/// The check of a slot's name and key.
fn check(name: &[u8], key: &[u8]) -> [u8; CHECK] {
    let digest = Sha256::new()
        .chain_update(b"trm case key slot\0")
        .chain_update(name)
        .chain_update(key)
        .finalize();
    digest.first_chunk::<CHECK>().copied().unwrap_or_default()
}

impl Slots {
    /// The slots in `dir` (the vault's folder), the file made (mode 0600, the folder synced)
    /// when there is none, and read once to find every key's slot.
    pub(super) fn open(dir: &Path) -> Result<Self, VaultError> {
        let path = dir.join(FILE);
        let mut index = HashMap::new();
        let file = AppendFile::open(&path, |file| {
            let (found, end) = Self::read_index(file)?;
            index = found;
            Ok(end)
        })
        .map_err(|source| VaultError::Io { path, source })?;
        Ok(Self {
            file,
            index: Mutex::new(index),
        })
    }

    /// Every whole slot with a valid check, and where the next one goes (after the last whole
    /// slot: a slot cut short is written over).
    fn read_index(file: &File) -> std::io::Result<(HashMap<[u8; NAME], u64>, u64)> {
        let len = file.metadata()?.len();
        let whole = len - len % SLOT as u64;
        let mut index = HashMap::new();
        let mut skipped = 0u64;
        let mut chunk = Zeroizing::new(vec![0u8; SLOT * 4096]);
        let mut at = 0u64;
        while at < whole {
            let take = usize::try_from((whole - at).min(chunk.len() as u64)).unwrap_or(SLOT);
            let Some(buffer) = chunk.get_mut(..take) else {
                break;
            };
            file.read_exact_at(buffer, at)?;
            for (n, slot) in buffer.chunks_exact(SLOT).enumerate() {
                let (name, rest) = slot.split_at(NAME);
                let (key, sum) = rest.split_at(KEY);
                if slot.iter().all(|b| *b == 0) {
                    continue;
                }
                if sum != check(name, key) {
                    skipped += 1;
                    continue;
                }
                let mut named = [0u8; NAME];
                named.copy_from_slice(name);
                index.insert(named, at + (n * SLOT) as u64);
            }
            at += take as u64;
        }
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "case key slots whose check fails (writes cut short by a crash) are skipped"
            );
        }
        Ok((index, whole))
    }

    fn index(&self) -> MutexGuard<'_, HashMap<[u8; NAME], u64>> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn io(&self, source: std::io::Error) -> VaultError {
        VaultError::Io {
            path: self.file.path().to_path_buf(),
            source,
        }
    }

    /// Whether a key named `name` has a slot.
    pub(super) fn contains(&self, name: &[u8; NAME]) -> bool {
        self.index().contains_key(name)
    }

    /// The key named `name`, read from its slot; `None` when it has none.
    pub(super) fn get(
        &self,
        name: &[u8; NAME],
    ) -> Result<Option<Zeroizing<[u8; KEY]>>, VaultError> {
        let Some(at) = self.index().get(name).copied() else {
            return Ok(None);
        };
        let mut slot = Zeroizing::new([0u8; SLOT]);
        self.file
            .file()
            .read_exact_at(slot.as_mut_slice(), at)
            .map_err(|e| self.io(e))?;
        let (stored, rest) = slot.split_at(NAME);
        let (key, sum) = rest.split_at(KEY);
        if stored != name || sum != check(stored, key) {
            return Err(VaultError::Format(self.file.path().to_path_buf()));
        }
        let mut out = Zeroizing::new([0u8; KEY]);
        out.copy_from_slice(key);
        Ok(Some(out))
    }

    /// Writes the key named `name` into the next slot and returns once it is on disk (a group
    /// sync, shared with the keys made at the same time). Blocking. The caller holds the case's
    /// lock, so a name is added once. After a failed sync no more keys are made until the node
    /// starts again ([`AppendFile`]).
    pub(super) fn add(&self, name: &[u8; NAME], key: &[u8; KEY]) -> Result<(), VaultError> {
        let slot = Zeroizing::new([name.as_slice(), key, &check(name, key)].concat());
        let at = self.file.append_synced(slot.as_slice()).map_err(|e| {
            tracing::error!(error = %e, path = %self.file.path().display(),
                "writing a case key's slot failed");
            self.io(e)
        })?;
        self.index().insert(*name, at);
        Ok(())
    }

    /// Overwrites the key's slot with zeros and syncs it; whether it had one. Blocking. The
    /// caller holds the case's lock.
    pub(super) fn erase(&self, name: &[u8; NAME]) -> Result<bool, VaultError> {
        let Some(at) = self.index().get(name).copied() else {
            return Ok(false);
        };
        let file = self.file.file();
        file.write_all_at(&[0u8; SLOT], at)
            .and_then(|()| file.sync_data())
            .map_err(|e| self.io(e))?;
        // Forgotten only once the zeros are on disk: an erasure that failed is tried again.
        self.index().remove(name);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: u8) -> [u8; NAME] {
        [n; NAME]
    }

    #[test]
    fn keys_read_back_after_a_reopen_and_an_erased_slot_is_zeros_on_disk()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let slots = Slots::open(dir.path())?;
        let (one, two) = ([7u8; KEY], [9u8; KEY]);
        slots.add(&name(1), &one)?;
        slots.add(&name(2), &two)?;
        assert!(slots.erase(&name(1))?);
        assert!(!slots.erase(&name(1))?, "erasing twice finds nothing");
        let again = Slots::open(dir.path())?;
        assert_eq!(again.get(&name(1))?, None);
        assert_eq!(again.get(&name(2))?.as_deref(), Some(&two));
        let bytes = std::fs::read(dir.path().join(FILE))?;
        assert_eq!(bytes.len(), 2 * SLOT);
        assert!(bytes[..SLOT].iter().all(|b| *b == 0), "the erased slot");
        assert!(!bytes.windows(KEY).any(|w| w == one), "the key is nowhere");
        Ok(())
    }

    #[test]
    fn a_slot_cut_short_or_altered_is_skipped_and_written_over()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let slots = Slots::open(dir.path())?;
        slots.add(&name(1), &[1; KEY])?;
        slots.add(&name(2), &[2; KEY])?;
        drop(slots);
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path)?;
        // The second slot's key altered, then half of a third slot, as a crash leaves it.
        bytes[SLOT + NAME] ^= 1;
        bytes.extend_from_slice(&[3; SLOT / 2]);
        std::fs::write(&path, &bytes)?;
        let slots = Slots::open(dir.path())?;
        assert_eq!(slots.get(&name(1))?.as_deref(), Some(&[1; KEY]));
        assert_eq!(slots.get(&name(2))?, None, "its check fails");
        slots.add(&name(3), &[3; KEY])?;
        assert_eq!(std::fs::metadata(&path)?.len(), 3 * SLOT as u64);
        assert_eq!(
            Slots::open(dir.path())?.get(&name(3))?.as_deref(),
            Some(&[3; KEY])
        );
        Ok(())
    }

    #[test]
    fn keys_made_at_once_on_many_threads_are_all_there_after_a_reopen()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let slots = Slots::open(dir.path())?;
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8u8)
                .map(|thread| {
                    let slots = &slots;
                    scope.spawn(move || {
                        for n in 0..25u8 {
                            let mut named = [thread; NAME];
                            named[1] = n;
                            slots.add(&named, &[n; KEY]).map_err(|e| e.to_string())?;
                        }
                        Ok::<_, String>(())
                    })
                })
                .collect();
            threads
                .into_iter()
                .try_for_each(|t| t.join().map_err(|_| "a thread panicked".to_owned())?)
        })?;
        let again = Slots::open(dir.path())?;
        for thread in 0..8u8 {
            for n in 0..25u8 {
                let mut named = [thread; NAME];
                named[1] = n;
                assert_eq!(again.get(&named)?.as_deref(), Some(&[n; KEY]));
            }
        }
        Ok(())
    }
}
