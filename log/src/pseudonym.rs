//! Case references never leave a node in audit artefacts: the log entry holds a keyed tag of
//! the case reference, and an export for an audience names each case by a pseudonym derived
//! from that tag.
//!
//! - [`case_tag`]: HMAC-SHA256 under the node's secret log key of the case reference, cut to
//!   [`TAG_LEN`] bytes. Written in `LogEntry.case_tag` in place of the reference, so the node can
//!   still find a case's entries (it knows the key and the reference) while anyone else sees 16
//!   random-looking bytes that no dictionary of plausible references opens.
//! - [`audience_key`]: a key derived from the log key and the audience's name; [`pseudonym`]
//!   names a tag under it (`case-` and 16 hex digits). The same case has one pseudonym within
//!   one audience's export, and unrelated ones for two audiences: neither can link its
//!   artefacts to the other's, nor to the partner's (each node has its own log key).
//!
//! The domain strings keep each use of the log key apart from the others.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How many bytes of the HMAC a case tag keeps.
pub const TAG_LEN: usize = 16;

/// A node's secret key for case tags and audience pseudonyms.
pub type LogKey = [u8; 32];

/// HMAC-SHA256 under `key` of `domain` then `message`.
fn mac(key: &[u8], domain: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(domain);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The keyed tag of `case_ref` under the node's log key.
pub fn case_tag(key: &LogKey, case_ref: &str) -> Vec<u8> {
    let full = mac(key, b"trm/case-tag/v1\0", case_ref.as_bytes());
    full.get(..TAG_LEN).unwrap_or_default().to_vec()
}

/// The key that names cases for `audience` (any text: the auditor's or the body's name).
pub fn audience_key(key: &LogKey, audience: &str) -> [u8; 32] {
    mac(key, b"trm/case-audience/v1\0", audience.as_bytes())
}

/// The pseudonym of the case tagged `tag` for the audience of `audience_key`.
pub fn pseudonym(audience_key: &[u8; 32], tag: &[u8]) -> String {
    let full = mac(audience_key, b"trm/case-pseudonym/v1\0", tag);
    format!("case-{}", hex(full.get(..8).unwrap_or_default()))
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_pseudonyms_are_stable_keyed_and_audience_bound() {
        let (key, other) = ([1; 32], [2; 32]);
        let tag = case_tag(&key, "AT-LEFOE-2026-0043");
        assert_eq!(tag.len(), TAG_LEN);
        assert_eq!(tag, case_tag(&key, "AT-LEFOE-2026-0043"));
        assert_ne!(tag, case_tag(&key, "AT-LEFOE-2026-0044"));
        assert_ne!(tag, case_tag(&other, "AT-LEFOE-2026-0043"));

        let (court, ministry) = (audience_key(&key, "court"), audience_key(&key, "ministry"));
        let named = pseudonym(&court, &tag);
        assert!(named.starts_with("case-") && named.len() == 21, "{named}");
        assert_eq!(named, pseudonym(&court, &tag));
        assert_ne!(named, pseudonym(&ministry, &tag));
        assert_ne!(
            named,
            pseudonym(&court, &case_tag(&key, "AT-LEFOE-2026-0044"))
        );
        assert!(!named.contains("LEFOE"));
    }
}
