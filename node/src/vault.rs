//! The content vault: each case's content is kept encrypted to that case's own key, so it can be
//! erased for good by destroying one small file (crypto-shredding).
//!
//! A case key is an age X25519 identity in `<data dir>/case-keys/<name>.key`, where the name is
//! the SHA-256 of a random per-node salt (`case-keys/salt`, made once) and the case's store
//! key (counterparty and case reference), so file names say nothing about the case, not even to
//! someone who guesses a case reference. Keys (mode 0600) are on disk, written with
//! [`trm_storage::fs::write_atomically`], before any content encrypted to them is stored.
//! Erasing overwrites the file with zeros, syncs, removes it and syncs the folder: the
//! store may keep old copies of the ciphertext until it compacts, but nothing can decrypt
//! them any more, and the node's long-term key cannot either (the envelope's own ciphertext is
//! not kept; see [`crate::store`]).
//!
//! **Architecture Invariant:** content at rest is only ever encrypted to a case key, never to
//! the node's own key; a case whose key file is gone has no readable content anywhere.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use age::secrecy::ExposeSecret as _;
use sha2::{Digest, Sha256};
use trm_storage::fs;

/// The folder under the data folder that holds case keys.
pub const FOLDER: &str = "case-keys";

/// The salt's file in [`FOLDER`].
const SALT: &str = "salt";

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
}

/// The case keys of one node.
pub struct Vault {
    dir: PathBuf,
    salt: [u8; 32],
    /// Serialises creating and erasing keys, so two messages of a new case share one key.
    writing: Mutex<()>,
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
        Ok(Self {
            dir,
            salt,
            writing: Mutex::new(()),
        })
    }

    /// The key file of the case stored under `case_key` (see [`crate::cases::case_key`]).
    pub fn key_path(&self, case_key: &[u8]) -> PathBuf {
        let mut name = Sha256::new();
        name.update(self.salt);
        name.update(case_key);
        self.dir
            .join(format!("{}.key", hex::encode(name.finalize())))
    }

    fn read(&self, case_key: &[u8]) -> Result<Option<age::x25519::Identity>, VaultError> {
        let path = self.key_path(case_key);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        text.trim()
            .parse()
            .map(Some)
            .map_err(|_| VaultError::Format(path))
    }

    /// The case's key, created and on disk before this returns.
    fn key_for(&self, case_key: &[u8]) -> Result<age::x25519::Identity, VaultError> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(identity) = self.read(case_key)? {
            return Ok(identity);
        }
        let identity = age::x25519::Identity::generate();
        let path = self.key_path(case_key);
        fs::write_atomically(
            &path,
            identity.to_string().expose_secret().as_bytes(),
            fs::PRIVATE,
        )
        .map_err(written)?;
        Ok(identity)
    }

    /// Encrypts `plaintext` to the case's key, creating the key if the case has none.
    pub fn seal(&self, case_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let recipient = self.key_for(case_key)?.to_public();
        age::encrypt(&recipient, plaintext).map_err(|e| VaultError::Crypto(e.to_string()))
    }

    /// Decrypts content stored for the case; [`VaultError::Erased`] once its key is destroyed.
    pub fn unseal(&self, case_key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let identity = self.read(case_key)?.ok_or(VaultError::Erased)?;
        age::decrypt(&identity, ciphertext).map_err(|e| VaultError::Crypto(e.to_string()))
    }

    /// The salt and the key files of `cases` that have one, as `(file name, bytes)` in
    /// [`FOLDER`], read under the lock that making and destroying keys take (for a backup).
    pub fn copy_keys<'a>(
        &self,
        cases: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<(String, Vec<u8>)>, VaultError> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let mut files = vec![(SALT.to_owned(), self.salt.to_vec())];
        for case_key in cases {
            let path = self.key_path(case_key);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name, bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok(files)
    }

    /// Whether the case still has a key.
    pub fn has_key(&self, case_key: &[u8]) -> bool {
        self.key_path(case_key).exists()
    }

    /// Destroys the case's key: overwritten with zeros, synced, removed, folder synced. Returns
    /// whether there was one. Idempotent.
    pub fn erase(&self, case_key: &[u8]) -> Result<bool, VaultError> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.key_path(case_key);
        let len = match std::fs::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
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
        let key_text = std::fs::read(vault.key_path(case))?;
        assert!(vault.erase(case)?);
        assert!(matches!(
            vault.unseal(case, &sealed),
            Err(VaultError::Erased)
        ));
        assert!(!vault.erase(case)?, "erasing twice finds nothing");
        assert_eq!(vault.unseal(other, &kept)?, b"other case");
        // The erased key is nowhere in the folder any more.
        for entry in std::fs::read_dir(dir.path().join(FOLDER))? {
            let bytes = std::fs::read(entry?.path())?;
            assert!(!bytes.windows(key_text.len()).any(|w| w == key_text));
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
        let names: Vec<String> = std::fs::read_dir(dir.path().join(FOLDER))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.as_ref().map_or(true, |n| n.ends_with(".key")))
            .collect::<Result<_, _>>()?;
        // Another node names the same case differently.
        let other = tempfile::tempdir()?;
        assert_ne!(
            Vault::open(other.path())?.key_path(case).file_name(),
            vault.key_path(case).file_name()
        );
        assert_eq!(names.len(), 1);
        assert!(
            !names
                .iter()
                .any(|n| n.contains("AT-2026") || n.contains("astra"))
        );
        Ok(())
    }
}
