//! What a notification says: its event and the JSON body POSTed to a webhook. A body carries
//! ids and kinds only (the event, the message id, a case pseudonym, the message kind, the
//! partner organisation, times): never content, never a case reference. The case pseudonym
//! is an HMAC of the case's key under a key that never leaves the node, so a receiver can tell
//! notifications of one case together without learning its reference.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The events a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A message of any kind arrived from a partner.
    MessageArrived,
    /// A referral response arrived asking for more information.
    ReferralNeedsInformation,
    /// A referral response arrived accepting the referral.
    ReferralAccepted,
    /// A referral response arrived declining the referral.
    ReferralDeclined,
    /// An open item passed its due time.
    ItemOverdue,
    /// The federation directory in use expires soon.
    DirectoryExpiring,
    /// A test notification asked for with `trm webhooks test`.
    Test,
}

/// Every event, in the order they are listed.
pub const ALL: [Event; 7] = [
    Event::MessageArrived,
    Event::ReferralNeedsInformation,
    Event::ReferralAccepted,
    Event::ReferralDeclined,
    Event::ItemOverdue,
    Event::DirectoryExpiring,
    Event::Test,
];

impl Event {
    /// Its name in subscriptions, bodies and the `Trm-Event` header.
    pub fn name(self) -> &'static str {
        match self {
            Event::MessageArrived => "message.arrived",
            Event::ReferralNeedsInformation => "referral.needs_information",
            Event::ReferralAccepted => "referral.accepted",
            Event::ReferralDeclined => "referral.declined",
            Event::ItemOverdue => "item.overdue",
            Event::DirectoryExpiring => "directory.expiring",
            Event::Test => "webhook.test",
        }
    }

    /// The event named `name`.
    pub fn from_name(name: &str) -> Option<Event> {
        ALL.into_iter().find(|e| e.name() == name)
    }
}

/// The facts a notification carries besides its event: ids, kinds and times only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The message's id, if the event is about a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The case's pseudonym (never its reference), if the event is about a case.
    pub case: Option<String>,
    /// The message kind (`referral`, `referral_response`...), if about a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The partner organisation's address, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// For an overdue item: when it was due (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// For an expiring directory: its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_version: Option<u64>,
    /// For an expiring directory: when it expires (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// The JSON body of one notification.
#[derive(Debug, Clone, Serialize)]
pub struct Body<'a> {
    /// The event's name.
    pub event: &'static str,
    /// The delivery id (also in `Trm-Delivery`): the same on every attempt.
    pub delivery: &'a str,
    /// The webhook it is for.
    pub webhook: &'a str,
    /// The node that sends it.
    pub node: &'a str,
    /// When the event happened (RFC 3339, UTC).
    pub at: String,
    /// What it is about.
    #[serde(flatten)]
    pub facts: &'a Facts,
}

/// The delivery id of `event` about `subject` for webhook `hook`: the same each time the same
/// cause is seen (a redelivered message, a sweep repeated after a crash), so it is queued once.
pub fn delivery_id(hook: &str, event: Event, subject: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"trm/webhook-delivery/v1\0");
    hash.update(hook.as_bytes());
    hash.update([0]);
    hash.update(event.name().as_bytes());
    hash.update([0]);
    hash.update(subject);
    hex::encode(hash.finalize().get(..16).unwrap_or_default())
}

/// The pseudonym of the case with store key `case_key` under the node's `key`.
pub fn case_pseudonym(key: &[u8; 32], case_key: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(b"trm/case-pseudonym/v1\0");
    mac.update(case_key);
    let tag = mac.finalize().into_bytes();
    format!("case-{}", hex::encode(tag.get(..16).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ids_depend_on_everything() {
        for event in ALL {
            assert_eq!(Event::from_name(event.name()), Some(event));
        }
        assert_eq!(Event::from_name("message"), None);
        let id = delivery_id("h", Event::MessageArrived, b"m1");
        assert_eq!(id.len(), 32);
        assert_eq!(id, delivery_id("h", Event::MessageArrived, b"m1"));
        assert_ne!(id, delivery_id("g", Event::MessageArrived, b"m1"));
        assert_ne!(id, delivery_id("h", Event::ItemOverdue, b"m1"));
        assert_ne!(id, delivery_id("h", Event::MessageArrived, b"m2"));
    }

    #[test]
    fn a_pseudonym_hides_the_reference_and_is_stable_per_key() {
        let key = [7u8; 32];
        let case_key = b"astra@marri\0AT-2026-0042";
        let pseudonym = case_pseudonym(&key, case_key);
        assert_eq!(pseudonym, case_pseudonym(&key, case_key));
        assert!(!pseudonym.contains("0042"));
        assert_ne!(pseudonym, case_pseudonym(&[8u8; 32], case_key));
    }
}
