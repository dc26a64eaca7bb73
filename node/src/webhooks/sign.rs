//! The signature of a notification, in its `Trm-Signature` header:
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the webhook's secret
//! (the text shown once when it was added, as UTF-8 bytes). A receiver recomputes the HMAC
//! over the timestamp, a dot and the raw body, compares in constant time and refuses a
//! timestamp too far from its clock (a replay); see the README's "Webhooks" section.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<seconds>,v1=<hex>`.
    #[error("the signature header is not t=<seconds>,v1=<hex>")]
    Malformed,
    /// The timestamp is further from now than allowed.
    #[error("the signature is {0} s away from now, more than allowed")]
    Stale(u64),
    /// No `v1` value matches the body.
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &str, timestamp: u64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length: this never fails.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Trm-Signature` header value of `body` signed at `timestamp` (Unix seconds).
pub fn header(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks a `Trm-Signature` header against `body`, refusing a timestamp more than
/// `tolerance_secs` from `now_secs`. What a receiver does (tests use it).
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", tag)) => {
                tags.push(hex::decode(tag).map_err(|_| SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if tags.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let skew = now_secs.abs_diff(timestamp);
    if skew > tolerance_secs {
        return Err(SignatureError::Stale(skew));
    }
    let expected = mac(secret, timestamp, body);
    if tags
        .iter()
        .any(|tag| expected.clone().verify_slice(tag).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_is_refused() {
        let body = br#"{"event":"message.arrived"}"#;
        let signed = header("secret", 1_700_000_000, body);
        assert!(signed.starts_with("t=1700000000,v1="));
        assert_eq!(verify("secret", &signed, body, 1_700_000_100, 300), Ok(()));
        assert_eq!(
            verify("other", &signed, body, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("secret", &signed, b"{}", 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("secret", &signed, body, 1_700_001_000, 300),
            Err(SignatureError::Stale(1000))
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = signed.replace("t=1700000000", "t=1700000500");
        assert_eq!(
            verify("secret", &moved, body, 1_700_000_500, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "v1=00", "t=1", "t=x,v1=00", "t=1,v1=zz"] {
            assert_eq!(
                verify("secret", bad, body, 1, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_hmac_is_the_documented_one() {
        // The HMAC of "<t>.<body>" keyed with the secret's bytes, computed independently.
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(b"Jefe").unwrap_or_else(|_| unreachable!());
        mac.update(b"12.{}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(header("Jefe", 12, b"{}"), format!("t=12,v1={expected}"));
    }
}
