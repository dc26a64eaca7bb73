//! The content vault: each case's content is kept encrypted to that case's own key, so it can be
//! erased for good by destroying that key (crypto-shredding).
//!
//! A case key ([`case_key`]: 32 random bytes for XChaCha20-Poly1305, or, made by an earlier
//! version, an age X25519 identity) is named by the SHA-256 of a random per-node salt
//! (`case-keys/salt`, made once) and the case's store key (counterparty and case reference), so
//! names say nothing about the case, not even to someone who guesses a case reference. A key
//! made now is in a slot of `<data dir>/case-keys/slots` ([`slots`], mode 0600), with its name;
//! a key made by an earlier version, or restored from a backup, is in its own file,
//! `<data dir>/case-keys/<name in hex>.key` (written with
//! [`trm_storage::fs::write_atomically`]). Either is on disk before any content encrypted to it
//! is stored. Erasing overwrites the slot, or the file, with zeros and syncs it (a file is then
//! removed and its folder synced): the store may keep old copies of the ciphertext until it
//! compacts, but nothing can decrypt them any more, and the node's long-term key cannot either
//! (the envelope's own ciphertext is not kept; see [`crate::store`]).
//!
//! Keys in use are kept in memory (at most [`CACHED_KEYS`]), so sealing and opening do not
//! read the key's slot or file each time; a key dropped from memory is zeroized (either kind's
//! secret is, on drop). Making, reading and destroying a case's key take that case's lock (one
//! of [`LOCKS`], chosen by the key's name), not one lock for the node, and
//! [`Vault::seal_off_runtime`] reads or makes a key on a blocking thread, never on the async
//! runtime. Erasing takes the key out of memory before its file is destroyed, under the case's
//! lock, so no reader can put it back.
//!
//! **Two keys per case, one per party's disclosures.** What the case's partner disclosed to
//! this node (the messages it received) is kept under the key named by the case's store key
//! itself; what this node authored (the messages it sent) under the key named by
//! [`authored`]. A consent withdrawal erases the first only: the partner's disclosures, not
//! what this node wrote under its own legal basis. Retention erases both. A case stored before
//! the parts were split has one key, the first: its authored messages are read with it until a
//! withdrawal moves them to their own key ([`Vault::reseal`]) before it is destroyed.
//!
//! **Architecture Invariant:** content at rest is only ever encrypted to a case key, never to
//! the node's own key; a case whose keys are gone has no readable content anywhere.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use age::secrecy::{ExposeSecret as _, SecretString};
use case_key::CaseKey;
use sha2::{Digest, Sha256};
use slots::Slots;
use trm_storage::fs;

mod case_key;
mod slots;

/// The folder under the data folder that holds case keys.
pub const FOLDER: &str = "case-keys";

/// The salt's file in [`FOLDER`].
const SALT: &str = "salt";

/// How many case keys are kept in memory at most.
pub const CACHED_KEYS: usize = 10_000;

/// How many locks the cases share: a case takes the one its key's name falls on, so two
/// cases rarely wait for each other.
pub const LOCKS: usize = 64;

/// Why the vault failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The case's key is gone: its content was erased.
    #[error("the content of this case was erased (its key is destroyed)")]
    Erased,
    /// A key file could not be read, written or removed.
    #[error("case key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file does not hold an age identity.
    #[error("case key {0} is not an age identity")]
    Format(PathBuf),
    /// Encryption or decryption failed.
    #[error("case content: {0}")]
    Crypto(String),
    /// The blocking thread that makes a key stopped before answering.
    #[error("case key: the thread making it stopped: {0}")]
    Stopped(String),
}

/// What a case key's id is prefixed with for the part of a case this node authored. A case's
/// store key starts with its counterparty's address, which holds no NUL, so no case's own key
/// id starts with it.
const AUTHORED: &[u8] = b"authored\0";

/// The id of the key that keeps what this node authored in the case stored under `case_key`
/// (see [`crate::cases::case_key`]); what the partner disclosed is under `case_key` itself.
pub fn authored(case_key: &[u8]) -> Vec<u8> {
    [AUTHORED, case_key].concat()
}

/// Case keys in memory, by the name of their file: at most [`CACHED_KEYS`]; when full, the
/// tenth used longest ago is dropped (and zeroized with it).
#[derive(Default)]
struct KeyCache {
    keys: HashMap<[u8; 32], (Arc<CaseKey>, u64)>,
    /// A counter that orders uses.
    clock: u64,
}

impl KeyCache {
    fn get(&mut self, name: &[u8; 32]) -> Option<Arc<CaseKey>> {
        self.clock = self.clock.wrapping_add(1);
        let clock = self.clock;
        self.keys.get_mut(name).map(|(key, used)| {
            *used = clock;
            Arc::clone(key)
        })
    }

    fn put(&mut self, name: [u8; 32], key: Arc<CaseKey>) {
        if self.keys.len() >= CACHED_KEYS && !self.keys.contains_key(&name) {
            let mut uses: Vec<u64> = self.keys.values().map(|(_, used)| *used).collect();
            let tenth = (CACHED_KEYS / 10).max(1);
            let at = tenth.min(uses.len().saturating_sub(1));
            let (_, cut, _) = uses.select_nth_unstable(at);
            let cut = *cut;
            self.keys.retain(|_, (_, used)| *used > cut);
        }
        self.clock = self.clock.wrapping_add(1);
        self.keys.insert(name, (key, self.clock));
    }

    fn remove(&mut self, name: &[u8; 32]) {
        self.keys.remove(name);
    }
}

/// The case keys of one node.
pub struct Vault {
    dir: PathBuf,
    salt: [u8; 32],
    /// Serialise making, reading into memory and destroying each case's key, so two messages
    /// of a new case share one key and an erased key is never put back in memory.
    locks: [Mutex<()>; LOCKS],
    /// Keys in use.
    cache: Mutex<KeyCache>,
    /// The keys made now, in slots of one file.
    slots: Slots,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("dir", &self.dir).finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

fn written(error: fs::WriteError) -> VaultError {
    VaultError::Io {
        path: error.path,
        source: error.source,
    }
}

/// The name of the file that holds the key named `name` alone (in [`FOLDER`]).
fn file_name(name: &[u8; 32]) -> String {
    format!("{}.key", hex::encode(name))
}

/// The folder's salt, made (and synced) the first time.
fn salt(dir: &Path) -> Result<[u8; 32], VaultError> {
    let path = dir.join(SALT);
    match std::fs::read(&path) {
        Ok(bytes) => {
            return <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| VaultError::Format(path.clone()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path)(e)),
    }
    let salt: [u8; 32] = rand::random();
    fs::write_atomically(&path, &salt, fs::PRIVATE).map_err(written)?;
    Ok(salt)
}

impl Vault {
    /// The vault in `data_dir`, creating its folder (mode 0700) if needed.
    pub fn open(data_dir: &Path) -> Result<Self, VaultError> {
        let dir = data_dir.join(FOLDER);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&dir))?;
        }
        let salt = salt(&dir)?;
        let slots = Slots::open(&dir)?;
        Ok(Self {
            dir,
            salt,
            locks: std::array::from_fn(|_| Mutex::new(())),
            cache: Mutex::default(),
            slots,
        })
    }

    /// A secret of this node's vault for other records kept about case content (the
    /// onward-sharing index), derived from the salt for `purpose`: it goes with the case keys
    /// (a backup holds it), never with the store.
    pub fn derived_secret(&self, purpose: &str) -> [u8; 32] {
        let mut secret = Sha256::new();
        secret.update(b"trm vault secret\0");
        secret.update(purpose.as_bytes());
        secret.update(b"\0");
        secret.update(self.salt);
        secret.finalize().into()
    }

    /// The name of the case's key file, without its extension.
    fn name(&self, case_key: &[u8]) -> [u8; 32] {
        let mut name = Sha256::new();
        name.update(self.salt);
        name.update(case_key);
        name.finalize().into()
    }

    /// The file a key of the case stored under `case_key` (see [`crate::cases::case_key`]) is
    /// in when it is not in a slot: made by an earlier version, or restored from a backup.
    pub fn key_path(&self, case_key: &[u8]) -> PathBuf {
        self.path_of(&self.name(case_key))
    }

    fn path_of(&self, name: &[u8; 32]) -> PathBuf {
        self.dir.join(file_name(name))
    }

    /// The lock of the case whose key file is `name`.
    fn lock(&self, name: &[u8; 32]) -> MutexGuard<'_, ()> {
        let [first, ..] = name;
        let [any, ..] = &self.locks;
        self.locks
            .get(usize::from(*first) % LOCKS)
            .unwrap_or(any)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> MutexGuard<'_, KeyCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The case's key from memory, if it is there.
    fn cached(&self, name: &[u8; 32]) -> Option<Arc<CaseKey>> {
        self.cache().get(name)
    }

    /// Reads the case's key from its slot or its file, and keeps it in memory; call under the
    /// case's lock.
    fn read(&self, name: &[u8; 32]) -> Result<Option<Arc<CaseKey>>, VaultError> {
        let Some(key) = self.read_from_disk(name)? else {
            return Ok(None);
        };
        let key = Arc::new(key);
        self.cache().put(*name, Arc::clone(&key));
        Ok(Some(key))
    }

    /// The case's key from its slot or its file.
    fn read_from_disk(&self, name: &[u8; 32]) -> Result<Option<CaseKey>, VaultError> {
        if let Some(key) = self.slots.get(name)? {
            return Ok(Some(CaseKey::Symmetric(key)));
        }
        let path = self.path_of(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => SecretString::from(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        CaseKey::parse(&path, &text).map(Some)
    }

    /// The case's key, from memory, its slot or its file, or `None` when it has none.
    fn existing(&self, name: &[u8; 32]) -> Result<Option<Arc<CaseKey>>, VaultError> {
        if let Some(key) = self.cached(name) {
            return Ok(Some(key));
        }
        let _case = self.lock(name);
        if let Some(key) = self.cached(name) {
            return Ok(Some(key));
        }
        self.read(name)
    }

    /// The case's key, created and on disk before this returns. Blocks on the disk when the
    /// key is not in memory.
    fn key_for(&self, case_key: &[u8]) -> Result<Arc<CaseKey>, VaultError> {
        let name = self.name(case_key);
        if let Some(key) = self.cached(&name) {
            return Ok(key);
        }
        let _case = self.lock(&name);
        if let Some(key) = self.cached(&name) {
            return Ok(key);
        }
        if let Some(key) = self.read(&name)? {
            return Ok(key);
        }
        let bytes = case_key::random_key();
        self.slots.add(&name, &bytes)?;
        let key = Arc::new(CaseKey::Symmetric(bytes));
        self.cache().put(name, Arc::clone(&key));
        Ok(key)
    }

    /// Encrypts `plaintext` to the case's key, creating the key if the case has none.
    /// Blocking when the key is not in memory: on the async runtime, use
    /// [`Vault::seal_off_runtime`].
    pub fn seal(&self, case_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.key_for(case_key)?.encrypt(plaintext)
    }

    /// [`Vault::seal`] for async callers: a key in memory is used at once; reading or making
    /// one (a read, or a write and a sync) runs on a blocking thread.
    pub async fn seal_off_runtime(
        self: &Arc<Self>,
        case_key: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let name = self.name(case_key);
        let key = match self.cached(&name) {
            Some(key) => key,
            None => {
                let vault = Arc::clone(self);
                let case_key = case_key.to_vec();
                tokio::task::spawn_blocking(move || vault.key_for(&case_key))
                    .await
                    .map_err(|e| VaultError::Stopped(e.to_string()))??
            }
        };
        key.encrypt(plaintext)
    }

    /// Decrypts content stored for the case; [`VaultError::Erased`] once its key is destroyed.
    pub fn unseal(&self, case_key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let key = self
            .existing(&self.name(case_key))?
            .ok_or(VaultError::Erased)?;
        key.decrypt(ciphertext)
    }

    /// Decrypts content kept under the first of `ids` whose key opens it (a message may be
    /// under its part's own key or, stored before the parts were split, under the case's one
    /// key). [`VaultError::Erased`] when none of them has a key any more.
    pub fn unseal_any(&self, ids: &[&[u8]], ciphertext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut last = VaultError::Erased;
        for id in ids {
            match self.unseal(id, ciphertext) {
                Ok(plaintext) => return Ok(plaintext),
                Err(VaultError::Erased) => {}
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Moves content from the key `from` to the key `to` (made if needed): `Some` with the
    /// content encrypted to `to` when `from` opens it, `None` when it is not under `from` (or
    /// `from` is gone). For the authored messages of a case stored under one key, before that
    /// key is destroyed by a withdrawal. Blocking.
    pub fn reseal(
        &self,
        ciphertext: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> Result<Option<Vec<u8>>, VaultError> {
        let Some(key) = self.existing(&self.name(from))? else {
            return Ok(None);
        };
        let Ok(plaintext) = key.decrypt(ciphertext) else {
            return Ok(None);
        };
        let plaintext: age::secrecy::SecretSlice<u8> = plaintext.into();
        self.seal(to, plaintext.expose_secret()).map(Some)
    }

    /// Whether the case's key is in memory now (for tests of erasure).
    #[cfg(test)]
    fn in_memory(&self, case_key: &[u8]) -> bool {
        self.cached(&self.name(case_key)).is_some()
    }

    /// The case's symmetric key's bytes, as its slot holds them (for tests of erasure).
    #[cfg(test)]
    fn key_bytes(&self, case_key: &[u8]) -> Option<Vec<u8>> {
        match self.read_from_disk(&self.name(case_key)) {
            Ok(Some(CaseKey::Symmetric(key))) => Some(key.to_vec()),
            _ => None,
        }
    }

    /// The salt and the keys of `cases` that have one, each as the file that holds it alone
    /// (`(file name, bytes)` in [`FOLDER`], a key in a slot written out as its file would
    /// hold it), read under the locks that making and destroying keys take (for a backup; a
    /// restored node reads them from their files).
    pub fn copy_keys<'a>(
        &self,
        cases: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<(String, Vec<u8>)>, VaultError> {
        let _all: Vec<MutexGuard<'_, ()>> = self
            .locks
            .iter()
            .map(|l| l.lock().unwrap_or_else(PoisonError::into_inner))
            .collect();
        let mut files = vec![(SALT.to_owned(), self.salt.to_vec())];
        for case_key in cases {
            let name = self.name(case_key);
            if let Some(key) = self.read_from_disk(&name)? {
                files.push((
                    file_name(&name),
                    key.file_text().expose_secret().as_bytes().to_vec(),
                ));
            }
        }
        Ok(files)
    }

    /// What the case's key file holds, or would hold for a key in a slot (as a backup holds
    /// it); `None` when the case has no key. For tests of erasure and backups.
    pub fn key_text(&self, case_key: &[u8]) -> Result<Option<SecretString>, VaultError> {
        Ok(self
            .read_from_disk(&self.name(case_key))?
            .map(|key| key.file_text()))
    }

    /// Whether the case still has a key.
    pub fn has_key(&self, case_key: &[u8]) -> bool {
        let name = self.name(case_key);
        self.slots.contains(&name) || self.path_of(&name).exists()
    }

    /// Destroys the case's key: taken out of memory (zeroized once the last operation using
    /// it is done), then its slot overwritten with zeros and synced, and its file (a key made
    /// by an earlier version or restored) overwritten with zeros, synced, removed, folder
    /// synced. Returns whether there was a key. Idempotent.
    pub fn erase(&self, case_key: &[u8]) -> Result<bool, VaultError> {
        let name = self.name(case_key);
        let _case = self.lock(&name);
        self.cache().remove(&name);
        let in_slot = self.slots.erase(&name)?;
        let path = self.path_of(&name);
        let len = match std::fs::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(in_slot),
            Err(e) => return Err(io(&path)(e)),
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.write_all(&zeros)
            .and_then(|()| file.sync_all())
            .map_err(io(&path))?;
        drop(file);
        std::fs::remove_file(&path).map_err(io(&path))?;
        fs::sync_folder(&self.dir).map_err(written)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_reads_back_until_its_case_key_is_erased() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let case = b"astra@rs\0AT-2026-0042";
        let other = b"astra@rs\0AT-2026-0043";
        let sealed = vault.seal(case, b"canary-7f3a")?;
        let kept = vault.seal(other, b"other case")?;
        assert_eq!(vault.unseal(case, &sealed)?, b"canary-7f3a");
        let key = vault.key_bytes(case).ok_or("a symmetric key")?;
        assert!(vault.erase(case)?);
        assert!(matches!(
            vault.unseal(case, &sealed),
            Err(VaultError::Erased)
        ));
        assert!(!vault.erase(case)?, "erasing twice finds nothing");
        assert_eq!(vault.unseal(other, &kept)?, b"other case");
        // The erased key is nowhere in the folder any more, neither as bytes nor in hex.
        let hex = hex::encode(&key).into_bytes();
        for entry in std::fs::read_dir(dir.path().join(FOLDER))? {
            let bytes = std::fs::read(entry?.path())?;
            assert!(!bytes.windows(key.len()).any(|w| w == key));
            assert!(!bytes.windows(hex.len()).any(|w| w == hex));
        }
        Ok(())
    }

    #[test]
    fn a_new_case_key_is_reused_and_file_names_do_not_name_the_case()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let case = b"astra@rs\0AT-2026-0042";
        let first = vault.seal(case, b"one")?;
        let second = vault.seal(case, b"two")?;
        assert_eq!(vault.unseal(case, &first)?, b"one");
        assert_eq!(vault.unseal(case, &second)?, b"two");
        // One slot, no file of its own, and the case named nowhere.
        let folder: Vec<String> = std::fs::read_dir(dir.path().join(FOLDER))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        assert!(!folder.iter().any(|n| n.ends_with(".key")), "{folder:?}");
        let slots = std::fs::read(dir.path().join(FOLDER).join(slots::FILE))?;
        assert_eq!(slots.len(), slots::SLOT);
        for named in [&b"AT-2026"[..], b"astra"] {
            assert!(!slots.windows(named.len()).any(|w| w == named));
        }
        // Another node names the same case differently.
        let other = tempfile::tempdir()?;
        assert_ne!(
            Vault::open(other.path())?.key_path(case).file_name(),
            vault.key_path(case).file_name()
        );
        Ok(())
    }

    #[test]
    fn a_case_key_made_by_an_earlier_version_keeps_sealing_and_opening_its_case()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let case = b"astra@rs\0AT-2026-0042";
        // An age identity, as earlier versions made every case key, and content age-encrypted
        // to it then.
        let identity = age::x25519::Identity::generate();
        let file = identity.to_string().expose_secret().to_owned();
        std::fs::write(vault.key_path(case), &file)?;
        let earlier = age::encrypt(&identity.to_public(), b"stored by the earlier version")?;
        let now = vault.seal(case, b"stored now")?;
        assert_eq!(
            std::fs::read_to_string(vault.key_path(case))?,
            file,
            "the key is used as it is, not replaced"
        );
        let fresh = Vault::open(dir.path())?;
        assert_eq!(
            fresh.unseal(case, &earlier)?,
            b"stored by the earlier version"
        );
        assert_eq!(fresh.unseal(case, &now)?, b"stored now");
        // A new case gets a key of the present kind, which does not open the old content.
        let other = b"astra@rs\0AT-2026-0043";
        vault.seal(other, b"x")?;
        let made = vault.key_text(other)?.ok_or("a key")?;
        assert!(made.expose_secret().starts_with("TRM-CASE-KEY-1 "));
        assert!(!vault.key_path(other).exists(), "in a slot");
        assert!(matches!(
            vault.unseal(other, &earlier),
            Err(VaultError::Crypto(_))
        ));
        assert!(vault.erase(case)?);
        assert!(matches!(
            Vault::open(dir.path())?.unseal(case, &earlier),
            Err(VaultError::Erased)
        ));
        Ok(())
    }

    #[test]
    fn after_erasure_neither_memory_nor_disk_opens_the_case()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let case = b"astra@rs\0AT-2026-0042";
        let sealed = vault.seal(case, b"canary-7f3a")?;
        // A second handle on the folder, as after a restart: it reads the key from disk.
        let fresh = Vault::open(dir.path())?;
        assert_eq!(fresh.unseal(case, &sealed)?, b"canary-7f3a");
        assert!(vault.in_memory(case) && fresh.in_memory(case));
        assert!(vault.erase(case)?);
        assert!(!vault.in_memory(case), "taken out of memory when erased");
        assert!(matches!(
            vault.unseal(case, &sealed),
            Err(VaultError::Erased)
        ));
        assert!(!vault.in_memory(case), "not read back in");
        assert!(matches!(
            Vault::open(dir.path())?.unseal(case, &sealed),
            Err(VaultError::Erased)
        ));
        // A new key for the case (a new message after the erasure) does not open the old
        // content either.
        vault.seal(case, b"after")?;
        assert!(matches!(
            vault.unseal(case, &sealed),
            Err(VaultError::Crypto(_))
        ));
        Ok(())
    }

    #[test]
    fn erasing_one_part_of_a_case_leaves_no_key_of_it_in_memory_and_the_other_part_readable()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let case = b"astra@rs\0AT-2026-0042";
        let own = authored(case);
        let received = vault.seal(case, b"disclosed by astra")?;
        let written = vault.seal(&own, b"written here")?;
        assert_ne!(vault.key_path(case), vault.key_path(&own));
        assert!(vault.in_memory(case) && vault.in_memory(&own));
        assert!(vault.erase(case)?);
        assert!(!vault.in_memory(case), "no stale key in memory");
        assert!(matches!(
            vault.unseal(case, &received),
            Err(VaultError::Erased)
        ));
        assert!(!vault.in_memory(case), "not read back in");
        assert!(vault.in_memory(&own));
        assert_eq!(vault.unseal_any(&[&own, case], &written)?, b"written here");
        assert!(matches!(
            vault.unseal_any(&[case], &received),
            Err(VaultError::Erased)
        ));
        Ok(())
    }

    #[test]
    fn content_under_a_cases_one_key_is_moved_to_its_part_before_that_key_goes()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let case = b"astra@rs\0AT-2026-0042";
        let own = authored(case);
        let old = vault.seal(case, b"written before the split")?;
        assert_eq!(
            vault.unseal_any(&[&own, case], &old)?,
            b"written before the split"
        );
        let moved = vault
            .reseal(&old, case, &own)?
            .ok_or("it was under the case key")?;
        assert_eq!(vault.reseal(&moved, case, &own)?, None, "already moved");
        assert!(vault.erase(case)?);
        assert_eq!(vault.unseal(&own, &moved)?, b"written before the split");
        assert_eq!(
            vault.reseal(&moved, case, &own)?,
            None,
            "the old key is gone"
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_messages_of_a_new_case_share_one_key()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Arc::new(Vault::open(dir.path())?);
        for round in 0..20u32 {
            let case = format!("astra@rs\0NEW-{round}").into_bytes();
            let start = Arc::new(tokio::sync::Barrier::new(8));
            let mut tasks = tokio::task::JoinSet::new();
            for n in 0..8u32 {
                let (vault, case, start) = (Arc::clone(&vault), case.clone(), Arc::clone(&start));
                tasks.spawn(async move {
                    start.wait().await;
                    let text = format!("message {n}").into_bytes();
                    let sealed = vault.seal_off_runtime(&case, &text).await?;
                    Ok::<_, VaultError>((text, sealed))
                });
            }
            let mut sealed = Vec::new();
            while let Some(done) = tasks.join_next().await {
                sealed.push(done??);
            }
            // Read back through a handle that knows only the disk.
            let fresh = Vault::open(dir.path())?;
            for (text, ciphertext) in &sealed {
                assert_eq!(&fresh.unseal(&case, ciphertext)?, text);
            }
        }
        let slots = std::fs::metadata(dir.path().join(FOLDER).join(slots::FILE))?.len();
        assert_eq!(slots, 20 * slots::SLOT as u64, "one key per case");
        Ok(())
    }

    #[test]
    fn a_key_in_a_slot_goes_into_a_backup_as_its_own_file_which_a_restored_vault_reads()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let vault = Vault::open(dir.path())?;
        let (case, erased) = (b"astra@rs\0AT-2026-0042", b"astra@rs\0AT-2026-0043");
        let sealed = vault.seal(case, b"canary-7f3a")?;
        vault.seal(erased, b"gone")?;
        assert!(vault.erase(erased)?);
        let files = vault.copy_keys([&case[..], &erased[..]])?;
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        let file_name = vault.key_path(case);
        let file_name = file_name.file_name().ok_or("a file name")?;
        assert_eq!(
            names,
            [SALT, &*file_name.to_string_lossy()],
            "no erased key"
        );
        // Restored as the restore writes them.
        let restored = tempfile::tempdir()?;
        std::fs::create_dir(restored.path().join(FOLDER))?;
        for (name, bytes) in &files {
            std::fs::write(restored.path().join(FOLDER).join(name), bytes)?;
        }
        let restored = Vault::open(restored.path())?;
        assert_eq!(restored.unseal(case, &sealed)?, b"canary-7f3a");
        // Its file is destroyed by an erasure there, as an earlier version's key file is.
        assert!(restored.erase(case)?);
        assert!(!restored.key_path(case).exists() && !restored.has_key(case));
        assert!(matches!(
            restored.unseal(case, &sealed),
            Err(VaultError::Erased)
        ));
        Ok(())
    }

    #[test]
    fn memory_holds_at_most_the_bound_and_keeps_the_keys_used_lately() {
        let mut cache = KeyCache::default();
        let key = Arc::new(CaseKey::generate());
        let name = |n: usize| -> [u8; 32] {
            let mut name = [0u8; 32];
            name[..8].copy_from_slice(&(n as u64).to_be_bytes());
            name
        };
        for n in 0..CACHED_KEYS {
            cache.put(name(n), Arc::clone(&key));
        }
        // The first key is used again, so it is not among the oldest any more.
        assert!(cache.get(&name(0)).is_some());
        cache.put(name(CACHED_KEYS), Arc::clone(&key));
        assert!(cache.keys.len() <= CACHED_KEYS);
        assert!(cache.get(&name(0)).is_some(), "used lately: kept");
        assert!(cache.get(&name(1)).is_none(), "used longest ago: dropped");
        assert!(cache.get(&name(CACHED_KEYS)).is_some());
    }
}
