//! One case key, as its file holds it and as content is encrypted with it.
//!
//! A case key made now is 32 random bytes, and content is encrypted to it with
//! XChaCha20-Poly1305 under a random 24-byte nonce: the vault holds the key that encrypts and
//! the key that decrypts, so a symmetric cipher is all it needs, and sealing costs no key
//! agreement. Its file is one line, [`SYMMETRIC`] and the key in hex.
//!
//! A case key made by an earlier version is an age X25519 identity (`AGE-SECRET-KEY-1...`),
//! and content is age-encrypted to its public half; such a key keeps being used for its case,
//! so both kinds are read, and what one encrypted only the same kind opens. Erasure is the same
//! for both: destroying the file leaves nothing that can decrypt the case's content.
//!
//! The two ciphertexts tell themselves apart: an age file begins with its own header line
//! (`age-encryption.org/v1`), this one with [`CIPHERTEXT_PREFIX`], which also goes into the
//! authenticated data so a ciphertext cannot be passed off as another format's.

use std::path::Path;

use age::secrecy::{ExposeSecret as _, SecretString};
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use zeroize::Zeroizing;

use super::VaultError;

/// What a symmetric key's file begins with, before the key in hex.
const SYMMETRIC: &str = "TRM-CASE-KEY-1 ";

/// What content encrypted to a symmetric key begins with.
const CIPHERTEXT_PREFIX: &[u8] = b"trm-case-content/v1\n";

/// The length of the random nonce after [`CIPHERTEXT_PREFIX`].
const NONCE_BYTES: usize = 24;

/// 32 random bytes for a new symmetric key.
pub(super) fn random_key() -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut_slice());
    key
}

/// A case key in memory; its secret is zeroized when the last handle on it goes.
pub(super) enum CaseKey {
    /// 32 bytes for XChaCha20-Poly1305.
    Symmetric(Zeroizing<[u8; 32]>),
    /// An age identity from an earlier version, with the public half content is encrypted to
    /// (derived once, not for each message).
    Age {
        identity: age::x25519::Identity,
        recipient: age::x25519::Recipient,
    },
}

impl CaseKey {
    /// A new random key (the vault makes its keys with [`random_key`], into a slot).
    #[cfg(test)]
    pub(super) fn generate() -> Self {
        Self::Symmetric(random_key())
    }

    /// An age identity's key.
    pub(super) fn from_age(identity: age::x25519::Identity) -> Self {
        let recipient = identity.to_public();
        Self::Age {
            identity,
            recipient,
        }
    }

    /// What its file holds: one line.
    pub(super) fn file_text(&self) -> SecretString {
        match self {
            Self::Symmetric(key) => {
                let hex = Zeroizing::new(hex::encode(key.as_slice()));
                SecretString::from(format!("{SYMMETRIC}{}\n", hex.as_str()))
            }
            Self::Age { identity, .. } => identity.to_string(),
        }
    }

    /// The key in the file `path` holds (`text`), of either kind.
    pub(super) fn parse(path: &Path, text: &SecretString) -> Result<Self, VaultError> {
        let text = text.expose_secret().trim();
        let format = || VaultError::Format(path.to_owned());
        match text.strip_prefix(SYMMETRIC) {
            Some(hex) => {
                let mut key = Zeroizing::new([0u8; 32]);
                hex::decode_to_slice(hex, key.as_mut_slice()).map_err(|_| format())?;
                Ok(Self::Symmetric(key))
            }
            None => text.parse().map(Self::from_age).map_err(|_| format()),
        }
    }

    /// `plaintext` encrypted to this key.
    pub(super) fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        match self {
            Self::Symmetric(key) => {
                let mut nonce = [0u8; NONCE_BYTES];
                rand::rngs::OsRng.fill_bytes(&mut nonce);
                let sealed = cipher(key)
                    .encrypt(
                        XNonce::from_slice(&nonce),
                        Payload {
                            msg: plaintext,
                            aad: CIPHERTEXT_PREFIX,
                        },
                    )
                    .map_err(|_| VaultError::Crypto("encryption failed".into()))?;
                Ok([CIPHERTEXT_PREFIX, &nonce, &sealed].concat())
            }
            Self::Age { recipient, .. } => {
                age::encrypt(recipient, plaintext).map_err(|e| VaultError::Crypto(e.to_string()))
            }
        }
    }

    /// `ciphertext` decrypted with this key: [`VaultError::Crypto`] when the key does not open
    /// it (another key's content, or another kind's, or altered).
    pub(super) fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, VaultError> {
        match self {
            Self::Symmetric(key) => {
                let (nonce, sealed) = ciphertext
                    .strip_prefix(CIPHERTEXT_PREFIX)
                    .and_then(|rest| rest.split_at_checked(NONCE_BYTES))
                    .ok_or_else(|| {
                        VaultError::Crypto("not content encrypted to a case key of its kind".into())
                    })?;
                cipher(key)
                    .decrypt(
                        XNonce::from_slice(nonce),
                        Payload {
                            msg: sealed,
                            aad: CIPHERTEXT_PREFIX,
                        },
                    )
                    .map_err(|_| {
                        VaultError::Crypto("the case key does not open this content".into())
                    })
            }
            Self::Age { identity, .. } => {
                age::decrypt(identity, ciphertext).map_err(|e| VaultError::Crypto(e.to_string()))
            }
        }
    }
}

fn cipher(key: &Zeroizing<[u8; 32]>) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn through_its_file(key: &CaseKey) -> Result<CaseKey, VaultError> {
        CaseKey::parse(Path::new("k.key"), &key.file_text())
    }

    #[test]
    fn a_key_read_back_from_its_file_opens_what_it_sealed_and_no_other_key_does() -> TestResult {
        for key in [
            CaseKey::generate(),
            CaseKey::from_age(age::x25519::Identity::generate()),
        ] {
            let sealed = key.encrypt(b"canary-7f3a")?;
            assert!(!sealed.windows(11).any(|w| w == b"canary-7f3a"));
            assert_eq!(through_its_file(&key)?.decrypt(&sealed)?, b"canary-7f3a");
            for other in [
                CaseKey::generate(),
                CaseKey::from_age(age::x25519::Identity::generate()),
            ] {
                assert!(matches!(other.decrypt(&sealed), Err(VaultError::Crypto(_))));
            }
        }
        Ok(())
    }

    #[test]
    fn altered_content_does_not_open() -> TestResult {
        let key = CaseKey::generate();
        let sealed = key.encrypt(b"the person's address")?;
        for at in [CIPHERTEXT_PREFIX.len(), sealed.len() - 1, 3] {
            let mut altered = sealed.clone();
            if let Some(byte) = altered.get_mut(at) {
                *byte ^= 1;
            }
            assert!(
                matches!(key.decrypt(&altered), Err(VaultError::Crypto(_))),
                "byte {at}"
            );
        }
        assert!(matches!(
            key.decrypt(&sealed[..CIPHERTEXT_PREFIX.len() + 10]),
            Err(VaultError::Crypto(_))
        ));
        Ok(())
    }

    #[test]
    fn a_damaged_key_file_is_a_format_error() {
        for text in [
            "TRM-CASE-KEY-1 00ff",
            "TRM-CASE-KEY-1 zz",
            "AGE-SECRET-KEY-1QQQ",
            "",
        ] {
            assert!(matches!(
                CaseKey::parse(Path::new("k.key"), &SecretString::from(text.to_owned())),
                Err(VaultError::Format(_))
            ));
        }
    }
}
