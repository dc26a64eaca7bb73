//! Parsed addresses and identifiers. Each is checked once, where it enters trm, and is valid
//! from then on.

use std::fmt;
use std::str::FromStr;

/// Why an address or identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// A node address is `name@broker`.
    #[error(
        "invalid node address {}: expected name@broker, lowercase letters, digits and '-'",
        crate::clip::quoted(.0)
    )]
    NodeAddr(String),
    /// A broker name is a short lowercase label.
    #[error(
        "invalid broker name {}: expected 1-32 lowercase letters, digits and '-'",
        crate::clip::quoted(.0)
    )]
    BrokerName(String),
    /// A message id is 32 lowercase hexadecimal digits.
    #[error(
        "invalid message id {}: expected 32 lowercase hex digits",
        crate::clip::quoted(.0)
    )]
    MessageId(String),
    /// A case reference is a pseudonymous code, never a name.
    #[error(
        "invalid case reference {}: expected 3-64 letters, digits and '-', '/', '.', '_'",
        crate::clip::quoted(.0)
    )]
    CaseRef(String),
    /// A case reference that reads like a person's name is refused: it would travel to the
    /// partner and into every log and report. The value is not echoed.
    #[error(
        "the case reference looks like a personal name (words joined by a dot, a dash or a \
         space): use a pseudonymous code such as AT-LEFOE-2026-0043, never a name"
    )]
    NameLikeCaseRef,
}

fn is_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The name of a broker: the part after `@` in a node address (`at`, `rs`, `mk`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerName(String);

impl BrokerName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BrokerName {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_label(s, 32) {
            Ok(Self(s.to_owned()))
        } else {
            Err(AddrError::BrokerName(s.to_owned()))
        }
    }
}

impl fmt::Display for BrokerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node's address, `name@broker`: an organisation (or one of its units) and its home broker.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr {
    full: String,
    at: usize,
}

impl NodeAddr {
    /// The organisation part, before `@`.
    pub fn name(&self) -> &str {
        &self.full[..self.at]
    }

    /// The home broker, after `@`.
    pub fn broker(&self) -> BrokerName {
        BrokerName(self.full[self.at + 1..].to_owned())
    }

    /// The whole address as text.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl FromStr for NodeAddr {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddrError::NodeAddr(s.to_owned());
        let (name, broker) = s.split_once('@').ok_or_else(err)?;
        if !is_label(name, 63) || !is_label(broker, 32) {
            return Err(err());
        }
        Ok(Self {
            full: s.to_owned(),
            at: name.len(),
        })
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// A message id: 128 random bits as 32 lowercase hex digits, unique per sender.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// A fresh random id.
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(hex::encode(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MessageId {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(AddrError::MessageId(s.to_owned()))
        }
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pseudonymous cross-border case reference such as `AT-LEFOE-2026-0042`. Never a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseRef(String);

impl CaseRef {
    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CaseRef {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if looks_like_a_name(s) {
            return Err(AddrError::NameLikeCaseRef);
        }
        let ok = (3..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'.' | b'_'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(AddrError::CaseRef(s.to_owned()))
        }
    }
}

/// Whether `s` reads like a person's name rather than a code: it holds whitespace, or is
/// letters-dot-letters (`maria.petrovic`), or has no digit and two or more alphabetic words of
/// which one is capitalised like a name (`Maria-Petrovic`, `Petrovic_Maria`). All-capital codes
/// without digits (`AT-NO-SUCH-CASE`) are not names.
fn looks_like_a_name(s: &str) -> bool {
    if s.chars().any(char::is_whitespace) {
        return true;
    }
    let words: Vec<&str> = s.split(['-', '/', '.', '_']).collect();
    let alphabetic = |w: &str| !w.is_empty() && w.chars().all(char::is_alphabetic);
    if s.contains('.') && s.split('.').all(alphabetic) {
        return true;
    }
    let capitalised = |w: &str| {
        let mut chars = w.chars();
        chars.next().is_some_and(char::is_uppercase)
            && chars.clone().next().is_some()
            && chars.all(char::is_lowercase)
    };
    !s.chars().any(|c| c.is_ascii_digit())
        && words.iter().filter(|w| alphabetic(w)).count() >= 2
        && words.iter().any(|w| capitalised(w))
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_split_into_name_and_broker() {
        let addr: NodeAddr = "lefoe-ibf@at".parse().expect("valid");
        assert_eq!(addr.name(), "lefoe-ibf");
        assert_eq!(addr.broker().as_str(), "at");
        assert_eq!(addr.to_string(), "lefoe-ibf@at");
    }

    #[test]
    fn malformed_node_addresses_are_refused() {
        for bad in [
            "", "astra", "@rs", "astra@", "Astra@rs", "a@b@c", "a b@rs", "-x@rs", "x@rs-",
        ] {
            assert_eq!(
                bad.parse::<NodeAddr>(),
                Err(AddrError::NodeAddr(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn message_ids_are_32_lowercase_hex_digits() {
        let id = MessageId::random();
        assert_eq!(id.as_str().parse::<MessageId>(), Ok(id.clone()));
        assert_ne!(MessageId::random(), id);
        assert!(
            "ABCDEF00000000000000000000000000"
                .parse::<MessageId>()
                .is_err()
        );
        assert!("abc".parse::<MessageId>().is_err());
    }

    #[test]
    fn case_refs_refuse_spaces_and_empty_values() {
        assert!("AT-LEFOE-2026-0042".parse::<CaseRef>().is_ok());
        assert!("Jelena Markovic".parse::<CaseRef>().is_err());
        assert!("".parse::<CaseRef>().is_err());
    }

    #[test]
    fn case_refs_that_read_like_a_name_are_refused_without_echoing_it() {
        for good in [
            "AT-LEFOE-2026-0043",
            "rs-astra-17",
            "AT-NO-SUCH-CASE",
            "AUDIT-2026-12-02",
            "case-1",
            "AT/2026/17.b",
        ] {
            assert!(good.parse::<CaseRef>().is_ok(), "{good}");
        }
        for name in [
            "Maria.Petrovic",
            "maria.petrovic",
            "Maria-Petrovic",
            "Petrovic_Maria",
            "Jelena Markovic",
            "AT-2026 17",
            "Ana\tK",
            "MARIA.PETROVIC",
        ] {
            let refused = name.parse::<CaseRef>();
            assert_eq!(refused, Err(AddrError::NameLikeCaseRef), "{name}");
            let text = AddrError::NameLikeCaseRef.to_string();
            assert!(!text.contains(name), "{text}");
        }
    }
}
