//! Passwords, hashed with argon2id.
//!
//! Parameters (OWASP's first recommendation): argon2id, version 0x13, m = 19 456 KiB,
//! t = 2 passes, p = 1 lane, a 16-byte random salt, a 32-byte output. They are recorded in
//! every stored hash, which is a PHC string such as
//! `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`: a hash made with other parameters (older or
//! newer ones) still verifies with its own. Verification compares in constant time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over the memory.
pub const PASSES: u32 = 2;
/// Lanes.
pub const LANES: u32 = 1;
/// The shortest password taken.
pub const MIN_LENGTH: usize = 12;
/// The longest password taken (hashing is bounded by it).
pub const MAX_LENGTH: usize = 1024;

/// Why a password could not be hashed or taken.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than [`MIN_LENGTH`] characters.
    #[error("the password is shorter than {MIN_LENGTH} characters")]
    TooShort,
    /// Longer than [`MAX_LENGTH`] bytes.
    #[error("the password is longer than {MAX_LENGTH} bytes")]
    TooLong,
    /// The hasher failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, Some(32))
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks that a new password is acceptable.
pub fn check(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// The PHC string of `password` under a fresh salt (CPU- and memory-heavy: call it off the
/// async runtime).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check(password)?;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string; a malformed stored hash matches nothing.
/// Takes as long as a real verification when `stored` is `None` (an unknown account), so that
/// timing does not tell which names exist.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    let Ok(argon2) = hasher() else {
        return false;
    };
    match stored.map(PasswordHash::new) {
        Some(Ok(parsed)) => argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
        Some(Err(_)) => false,
        None => {
            // The same work against a fixed salt, and a refusal whatever it gives.
            let salt = SaltString::encode_b64(&[0u8; 16]);
            if let Ok(salt) = salt {
                let _ = argon2.hash_password(password.as_bytes(), &salt);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_hash_is_argon2id_with_its_parameters() -> Result<(), PasswordError> {
        let stored = hash("correct horse battery")?;
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("correct horse batterY", Some(&stored)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("correct horse battery", Some("$argon2id$garbage")));
        Ok(())
    }

    #[test]
    fn two_hashes_of_one_password_differ() -> Result<(), PasswordError> {
        assert_ne!(hash("correct horse battery")?, hash("correct horse battery")?);
        Ok(())
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(PasswordError::TooShort)));
        let huge = "x".repeat(MAX_LENGTH + 1);
        assert!(matches!(hash(&huge), Err(PasswordError::TooLong)));
    }
}
