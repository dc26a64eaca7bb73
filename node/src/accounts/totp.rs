//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 30-second
//! steps, 6 digits, the step before and after accepted for clock drift, and each step used
//! at most once per account (a code seen is not taken again).

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// A fresh random secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The secret as authenticator apps take it (base32 without padding).
pub fn to_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// A base32 secret as typed (spaces and case ignored), or `None` when it is not base32.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(cleaned.as_bytes()).ok()
}

/// The `otpauth://` URI an authenticator app reads from a QR code.
pub fn uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        label(issuer),
        label(account),
        to_base32(secret),
        label(issuer)
    )
}

/// The step at `now_ms`.
pub fn step_at(now_ms: u64) -> u64 {
    now_ms / 1000 / STEP_SECONDS
}

/// The code of `step` (RFC 4226 dynamic truncation).
pub fn code(secret: &[u8], step: u64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.get(19).copied().unwrap_or(0) & 0x0f);
    let bytes = digest
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .unwrap_or_default();
    let value = u32::from_be_bytes(bytes) & 0x7fff_ffff;
    format!("{:0width$}", value % 10u32.pow(DIGITS), width = DIGITS as usize)
}

/// The step whose code `given` is, within one step of `now_ms` and after `last_used` (the
/// step last taken; 0 when none), or `None`.
pub fn check(secret: &[u8], given: &str, now_ms: u64, last_used: u64) -> Option<u64> {
    let given = given.trim();
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms);
    let mut found = None;
    for step in [now.saturating_sub(1), now, now.saturating_add(1)] {
        let matches: bool = code(secret, step).as_bytes().ct_eq(given.as_bytes()).into();
        if matches && step > last_used && found.is_none() {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, with its 8-digit codes cut to the last 6 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (seconds, expected) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let got = code(secret, seconds / STEP_SECONDS);
            assert_eq!(got, expected[2..], "at {seconds}");
        }
    }

    #[test]
    fn a_code_is_taken_once_and_only_near_its_time() {
        let secret = new_secret();
        let now_ms = 1_700_000_000_000;
        let step = step_at(now_ms);
        let current = code(&secret, step);
        assert_eq!(check(&secret, &current, now_ms, 0), Some(step));
        assert_eq!(check(&secret, &current, now_ms, step), None, "replayed");
        let old = code(&secret, step - 2);
        assert_eq!(check(&secret, &old, now_ms, 0), None, "too old");
        assert_eq!(check(&secret, "12345", now_ms, 0), None);
        assert_eq!(check(&secret, "abcdef", now_ms, 0), None);
    }

    #[test]
    fn the_uri_names_the_secret_in_base32() {
        let uri = uri("trm astra", "alice", b"12345678901234567890");
        assert!(uri.starts_with("otpauth://totp/trm%20astra:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
    }
}
