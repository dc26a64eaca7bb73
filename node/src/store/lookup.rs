//! Finding a stored message by the id people type: the whole id, or any unique prefix of it
//! at least [`MIN_ID_PREFIX`] hex digits long, as the views print them. Every front (the `trm`
//! command line, a web console) asks the node, so every front resolves ids the same way.

use prost::Message;
use trm_proto::pb;

use super::{NodeStore, StoreError, corrupt, message_key};

/// The shortest id prefix accepted: six hex digits (one in 16 million).
pub const MIN_ID_PREFIX: usize = 6;

/// Why an id as typed names no single message (besides naming none: [`StoreError::NotFound`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Too short to tell messages apart.
    #[error("message id {0:?} is too short: give at least {MIN_ID_PREFIX} of its hex digits")]
    TooShort(String),
    /// Not hex digits.
    #[error("{0:?} is not a message id: ids are hex digits (0-9, a-f)")]
    NotHex(String),
    /// Several messages start with it.
    #[error("message id {prefix} matches {} messages; give more digits:\n{}", .matches.len(), .matches.join("\n"))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Each match: whole id, kind, case and partner.
        matches: Vec<String>,
    },
}

/// One match of a prefix, as the ambiguity error lists it.
fn describe(stored: &pb::StoredMessage) -> String {
    let s = stored.summary.clone().unwrap_or_default();
    let (arrow, partner) = if stored.direction == super::OUTGOING {
        ("to", s.to)
    } else {
        ("from", s.from)
    };
    format!(
        "  {}  {} {arrow} {partner}, case {}",
        s.message_id,
        trm_proto::kinds::label(s.kind),
        s.case_ref
    )
}

impl NodeStore {
    /// Finds a message (sent or received) by its id or a unique prefix of it (in any case).
    /// Ids are unique per sender only, so when a message this node (`own`) sent and one a
    /// partner sent share an id, the one sent wins.
    pub fn find(&self, own: &str, id: &str) -> Result<pb::StoredMessage, StoreError> {
        let id = id.trim().to_ascii_lowercase();
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdError::NotHex(id).into());
        }
        if id.len() < MIN_ID_PREFIX {
            return Err(IdError::TooShort(id).into());
        }
        if let Some(value) = self.engine()?.messages.get(message_key(own, &id))? {
            return decode(&value);
        }
        // Keys are sender, NUL, id: a prefix of the id is matched after the NUL. Only keys are
        // read until the matches are known.
        let mut matches: Vec<(Vec<u8>, String)> = Vec::new();
        for key in self.engine()?.messages.iter().keys() {
            let key = key?;
            let Some(at) = key.iter().position(|b| *b == 0) else {
                continue;
            };
            let (from, rest) = key.split_at(at);
            let candidate = String::from_utf8_lossy(rest.get(1..).unwrap_or_default());
            if candidate.starts_with(&id) {
                let from_own = from == own.as_bytes();
                matches.push((key.to_vec(), candidate.into_owned()));
                if from_own {
                    // The sent message goes first: it wins when the ids are the same.
                    matches.rotate_right(1);
                }
            }
        }
        let Some((first_key, first_id)) = matches.first().cloned() else {
            return Err(StoreError::NotFound(id));
        };
        if matches.iter().all(|(_, other)| *other == first_id) {
            return self.stored_message(&first_key);
        }
        let mut listed = Vec::with_capacity(matches.len());
        for (key, _) in &matches {
            listed.push(describe(&self.stored_message(key)?));
        }
        listed.sort();
        Err(IdError::Ambiguous {
            prefix: id,
            matches: listed,
        }
        .into())
    }
}

fn decode(value: &[u8]) -> Result<pb::StoredMessage, StoreError> {
    pb::StoredMessage::decode(value).map_err(|e| corrupt("messages", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const OWN: &str = "lefoe-ibf@at";
    const PARTNER: &str = "astra@rs";

    /// Stores a bare message record under `from` and `id`, as sending or receiving would.
    fn put(store: &NodeStore, from: &str, id: &str, kind: pb::MessageKind) -> TestResult {
        let outgoing = from == OWN;
        let stored = pb::StoredMessage {
            summary: Some(pb::MessageSummary {
                message_id: id.to_owned(),
                from: from.to_owned(),
                to: if outgoing { PARTNER } else { OWN }.to_owned(),
                case_ref: format!("CASE-{}", id.get(..4).unwrap_or(id)),
                kind: kind.into(),
                ..Default::default()
            }),
            direction: if outgoing {
                super::super::OUTGOING
            } else {
                super::super::INCOMING
            }
            .to_owned(),
            ..Default::default()
        };
        store
            .engine()?
            .messages
            .insert(message_key(from, id), stored.encode_to_vec())?;
        Ok(())
    }

    fn found(store: &NodeStore, id: &str) -> Result<(String, String), StoreError> {
        let s = store.find(OWN, id)?.summary.unwrap_or_default();
        Ok((s.from, s.message_id))
    }

    #[test]
    fn a_unique_prefix_finds_its_message_and_a_shared_one_lists_the_matches() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let a = "c5180d791e169c9457c9a8e7ce812a35";
        let b = "c5180d00000000000000000000000000";
        let c = "0d2238ab9d544ce107242be9aa5998c9";
        put(&store, OWN, a, pb::MessageKind::Referral)?;
        put(&store, PARTNER, b, pb::MessageKind::ReferralResponse)?;
        put(&store, PARTNER, c, pb::MessageKind::ReferralResponse)?;

        assert_eq!(found(&store, a)?, (OWN.into(), a.into()));
        assert_eq!(found(&store, "c5180d79")?, (OWN.into(), a.into()));
        assert_eq!(found(&store, "C5180D7")?, (OWN.into(), a.into()));
        assert_eq!(found(&store, " 0d2238 ")?, (PARTNER.into(), c.into()));

        match store.find(OWN, "c5180d") {
            Err(StoreError::Id(IdError::Ambiguous { prefix, matches })) => {
                assert_eq!(prefix, "c5180d");
                assert_eq!(matches.len(), 2, "{matches:?}");
                let text = matches.join("\n");
                assert!(
                    text.contains(&format!("{a}  referral to {PARTNER}, case CASE-c518")),
                    "{text}"
                );
                assert!(
                    text.contains(&format!("{b}  referral response from {PARTNER}")),
                    "{text}"
                );
            }
            other => panic!("expected an ambiguity, got {other:?}"),
        }
        assert!(matches!(
            store.find(OWN, "c5180"),
            Err(StoreError::Id(IdError::TooShort(_)))
        ));
        assert!(matches!(
            store.find(OWN, "c5180d-79"),
            Err(StoreError::Id(IdError::NotHex(_)))
        ));
        assert!(matches!(
            store.find(OWN, "ffffff"),
            Err(StoreError::NotFound(_))
        ));
        Ok(())
    }

    #[test]
    fn the_same_id_from_this_node_and_a_partner_finds_the_one_sent() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let id = "abcdef0123456789abcdef0123456789";
        put(&store, PARTNER, id, pb::MessageKind::CaseUpdate)?;
        put(&store, OWN, id, pb::MessageKind::Referral)?;
        assert_eq!(found(&store, id)?, (OWN.into(), id.into()));
        assert_eq!(found(&store, "abcdef01")?, (OWN.into(), id.into()));
        Ok(())
    }
}
