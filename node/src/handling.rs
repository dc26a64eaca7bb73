//! Handling codes on received content (Europol SIENA style), enforced on what this node sends
//! on and shown to whoever reads it.
//!
//! - H2 content may not be passed on without the provider's permission: before sealing a
//!   message to any organisation other than the provider, its free text is compared with the
//!   free text of every H2 message this node received from another organisation, and an
//!   attachment with identical bytes counts as passing it on. A shared passage of
//!   [`PASSAGE_CHARS`] characters (case and spacing ignored), or the whole of a shorter text of
//!   at least [`SHORTEST_TEXT_CHARS`], refuses the message naming the field and the source.
//! - H1 content is marked as not for judicial use without the provider's permission, H0 as for
//!   the stated purpose only, H3 with its stated restrictions ([`notice`]).
//!
//! The comparison reads H2 content from the case vault at send time, only for the messages the
//! onward-sharing index names ([`Fingerprints`], kept by the store with each H2 message it
//! receives): a send costs the same however many messages the node holds. The index holds
//! keyed fingerprints of text pieces, never text, and loses a message's entries when its case
//! is erased. It only narrows the search: each message it names is compared in full, as
//! [`check_onward`] does, so it refuses exactly what comparing every H2 message would.
//!
//! It catches copying, not paraphrase: a caseworker who retells H2 content in their own words
//! is not stopped by software, and the notice shown with the content says what the code
//! requires.

use std::collections::{BTreeSet, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use sha2::{Digest, Sha256};
use trm_proto::attachment::of as attachments;
use trm_proto::pb;
use trm_proto::pb::body::Content;

use crate::rules::RuleError;

/// The length of a shared passage that counts as passing content on.
pub const PASSAGE_CHARS: usize = 40;
/// The shortest whole H2 text that counts when it is shorter than a passage.
pub const SHORTEST_TEXT_CHARS: usize = 16;
/// How much of each H2 text is compared, in characters: bounds the work and memory a partner's
/// very long text can cost each send.
pub const COMPARED_CHARS: usize = 64 * 1024;

/// The free-text fields of a content, with their field paths.
fn texts(content: &Content) -> Vec<(&'static str, &str)> {
    let mut out: Vec<(&'static str, &str)> = Vec::new();
    match content {
        Content::Referral(r) => {
            out.push(("referral.notes", &r.notes));
            out.extend(
                r.services_given
                    .iter()
                    .map(|s| ("referral.services_given", s.as_str())),
            );
            if let Some(a) = &r.risk_assessment {
                out.push(("referral.risk_assessment.summary", &a.summary));
            }
        }
        Content::ReferralResponse(r) => {
            out.push(("referral_response.notes", &r.notes));
            out.push(("referral_response.reason", &r.reason));
            out.extend(
                r.missing_information
                    .iter()
                    .map(|s| ("referral_response.missing_information", s.as_str())),
            );
        }
        Content::InformationSupplied(s) => {
            out.push(("information_supplied.notes", &s.notes));
            out.extend(
                s.answers
                    .iter()
                    .map(|a| ("information_supplied.answers.answer", a.answer.as_str())),
            );
        }
        Content::CaseUpdate(u) => {
            out.push(("case_update.notes", &u.notes));
            out.extend(
                u.services_delivered
                    .iter()
                    .map(|s| ("case_update.services_delivered", s.as_str())),
            );
        }
        Content::InfoRequest(r) => out.push(("info_request.questions", &r.questions)),
        Content::InfoResponse(r) => {
            out.push(("info_response.information", &r.information));
            out.push(("info_response.refusal_text", &r.refusal_text));
        }
        Content::ReturnRequest(r) => {
            out.push(("return_request.notes", &r.notes));
            out.push(("return_request.family_assessment", &r.family_assessment));
            if let Some(a) = &r.pre_return_risk_assessment {
                out.push((
                    "return_request.pre_return_risk_assessment.summary",
                    &a.summary,
                ));
            }
        }
        Content::ReturnConfirmation(c) => out.push(("return_confirmation.notes", &c.notes)),
        Content::FollowUp(f) => {
            out.push(("follow_up.notes", &f.notes));
            out.push(("follow_up.reintegration_status", &f.reintegration_status));
        }
        Content::ConsentWithdrawal(w) => out.push(("consent_withdrawal.notes", &w.notes)),
        Content::WitnessRequest(w) => out.push(("witness_request.purpose", &w.purpose)),
    }
    out
}

/// Lower case, runs of whitespace as one space, trimmed.
fn normalise(text: &str) -> Vec<char> {
    let lower = text.to_lowercase();
    let mut out = Vec::with_capacity(lower.len());
    for word in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars());
    }
    out
}

/// A passage as the comparison keeps it: a 64-bit hash, not the text.
fn passage_hash(window: &[char]) -> u64 {
    let mut hasher = DefaultHasher::new();
    window.hash(&mut hasher);
    hasher.finish()
}

/// What one protected message looks like to the comparison.
struct Protected {
    passages: HashSet<u64>,
    short_texts: Vec<Vec<char>>,
    attachments: HashSet<[u8; 32]>,
}

impl Protected {
    fn of(content: &Content) -> Self {
        let mut protected = Self {
            passages: HashSet::new(),
            short_texts: Vec::new(),
            attachments: attachments(content)
                .iter()
                .map(|a| Sha256::digest(&a.content).into())
                .collect(),
        };
        for (_, text) in texts(content) {
            let mut text = normalise(text);
            text.truncate(COMPARED_CHARS);
            if text.len() >= PASSAGE_CHARS {
                protected
                    .passages
                    .extend(text.windows(PASSAGE_CHARS).map(passage_hash));
            } else if text.len() >= SHORTEST_TEXT_CHARS {
                protected.short_texts.push(text);
            }
        }
        protected
    }

    /// The first field of `content` that carries protected content.
    fn found_in(&self, content: &Content) -> Option<&'static str> {
        for (field, text) in texts(content) {
            let text = normalise(text);
            if text
                .windows(PASSAGE_CHARS)
                .any(|w| self.passages.contains(&passage_hash(w)))
                || self
                    .short_texts
                    .iter()
                    .any(|s| text.windows(s.len()).any(|w| w == s.as_slice()))
            {
                return Some(field);
            }
        }
        attachments(content)
            .iter()
            .any(|a| {
                self.attachments
                    .contains(&<[u8; 32]>::from(Sha256::digest(&a.content)))
            })
            .then_some("attachments")
    }
}

/// Refuses `content` when it passes on H2 content of `received`: the readable bodies this node
/// received under H2 from organisations other than the addressee.
pub fn check_onward(
    content: &Content,
    received: impl IntoIterator<Item = pb::Body>,
) -> Result<(), RuleError> {
    for body in received {
        let Some(provided) = &body.content else {
            continue;
        };
        if let Some(field) = Protected::of(provided).found_in(content) {
            return Err(RuleError {
                field: field.to_owned(),
                problem: format!(
                    "carries content received from {} under handling code H2 (message {}); H2 content may not be passed on to another organisation without the provider's permission",
                    body.from, body.message_id
                ),
            });
        }
    }
    Ok(())
}

/// The length, in characters, of the text pieces the onward-sharing index fingerprints.
pub const GRAM_CHARS: usize = 32;
/// How many consecutive pieces one passage holds: of every run of this many, the index keeps
/// the piece with the least hash (winnowing), so a passage two texts share has the same piece
/// picked in both.
const WINDOW: usize = PASSAGE_CHARS - GRAM_CHARS + 1;
/// The modulus of the rolling hash (a Mersenne prime).
const MODULUS: u64 = (1 << 61) - 1;

/// A fingerprint's kind: a piece of a passage.
const PASSAGE: u8 = b'P';
/// A fingerprint's kind: the first [`SHORTEST_TEXT_CHARS`] characters of a short text. A
/// content to be sent looks one up for every run of that many characters it has, so the
/// store keeps the few it holds in memory too (see `crate::store::onward_index`).
pub(crate) const SHORT: u8 = b'S';
/// A fingerprint's kind: an attachment's bytes.
const ATTACHMENT: u8 = b'A';

/// The length of a fingerprint: its kind and 8 bytes of keyed hash.
pub const FINGERPRINT_BYTES: usize = 9;

/// What the onward-sharing index keeps of a received H2 content ([`Fingerprints::kept`]), or
/// looks up for a content to be sent ([`Fingerprints::sought`]): keyed hashes, each with its
/// kind. If a content passes on H2 content by [`check_onward`]'s rule, one fingerprint sought
/// for it is among those kept for the H2 content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprints(pub BTreeSet<[u8; FINGERPRINT_BYTES]>);

fn mul_mod(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b) % u128::from(MODULUS);
    u64::try_from(product).unwrap_or(0)
}

/// The rolling hash of every `k`-character piece of `text`, in order.
fn pieces(text: &[char], k: usize, base: u64) -> Vec<u64> {
    if k == 0 || text.len() < k {
        return Vec::new();
    }
    let value = |c: char| u64::from(u32::from(c)) + 1;
    let top = (1..k).fold(1, |power, _| mul_mod(power, base));
    let mut hash = text
        .iter()
        .take(k)
        .fold(0, |h, c| (mul_mod(h, base) + value(*c)) % MODULUS);
    let mut out = Vec::with_capacity(text.len() - k + 1);
    out.push(hash);
    for (gone, came) in text.iter().zip(text.iter().skip(k)) {
        let without = (hash + MODULUS - mul_mod(value(*gone), top)) % MODULUS;
        hash = (mul_mod(without, base) + value(*came)) % MODULUS;
        out.push(hash);
    }
    out
}

/// The least hash of every run of [`WINDOW`] consecutive pieces (of all, when fewer).
fn winnow(hashes: &[u64]) -> impl Iterator<Item = u64> + '_ {
    hashes
        .windows(WINDOW.min(hashes.len()).max(1))
        .filter_map(|run| run.iter().min().copied())
}

/// Keys pieces and attachments with the vault's secret, so the index says nothing to whoever
/// reads the store without the case keys' folder.
struct Keyed<'a> {
    secret: &'a [u8; 32],
    base: u64,
}

impl<'a> Keyed<'a> {
    fn new(secret: &'a [u8; 32]) -> Self {
        let mut first = [0u8; 8];
        first.copy_from_slice(secret.get(..8).unwrap_or(&[7; 8]));
        Self {
            secret,
            base: u64::from_le_bytes(first) % (MODULUS - 257) + 257,
        }
    }

    fn fingerprint(&self, kind: u8, bytes: &[u8]) -> [u8; FINGERPRINT_BYTES] {
        let digest = Sha256::new()
            .chain_update(self.secret)
            .chain_update([kind])
            .chain_update(bytes)
            .finalize();
        let mut out = [0u8; FINGERPRINT_BYTES];
        let (tag, hash) = out.split_at_mut(1);
        tag.copy_from_slice(&[kind]);
        hash.copy_from_slice(digest.get(..FINGERPRINT_BYTES - 1).unwrap_or_default());
        out
    }

    fn piece(&self, kind: u8, hash: u64) -> [u8; FINGERPRINT_BYTES] {
        self.fingerprint(kind, &hash.to_le_bytes())
    }

    fn attachments(&self, content: &Content, out: &mut BTreeSet<[u8; FINGERPRINT_BYTES]>) {
        for attachment in attachments(content) {
            out.insert(self.fingerprint(ATTACHMENT, &Sha256::digest(&attachment.content)));
        }
    }
}

impl Fingerprints {
    /// What the index keeps of H2 `content` received, with the vault's `secret`.
    pub fn kept(content: &Content, secret: &[u8; 32]) -> Self {
        let keyed = Keyed::new(secret);
        let mut out = BTreeSet::new();
        for (_, text) in texts(content) {
            let mut text = normalise(text);
            text.truncate(COMPARED_CHARS);
            if text.len() >= PASSAGE_CHARS {
                let hashes = pieces(&text, GRAM_CHARS, keyed.base);
                out.extend(winnow(&hashes).map(|h| keyed.piece(PASSAGE, h)));
            } else if text.len() >= SHORTEST_TEXT_CHARS {
                let head = pieces(&text, SHORTEST_TEXT_CHARS, keyed.base);
                out.extend(head.first().map(|h| keyed.piece(SHORT, *h)));
            }
        }
        keyed.attachments(content, &mut out);
        Self(out)
    }

    /// What to look up in the index for `content` to be sent, with the vault's `secret`.
    pub fn sought(content: &Content, secret: &[u8; 32]) -> Self {
        let keyed = Keyed::new(secret);
        let mut out = BTreeSet::new();
        for (_, text) in texts(content) {
            let text = normalise(text);
            if text.len() >= PASSAGE_CHARS {
                let hashes = pieces(&text, GRAM_CHARS, keyed.base);
                out.extend(winnow(&hashes).map(|h| keyed.piece(PASSAGE, h)));
            }
            let shorts: HashSet<u64> = pieces(&text, SHORTEST_TEXT_CHARS, keyed.base)
                .into_iter()
                .collect();
            out.extend(shorts.into_iter().map(|h| keyed.piece(SHORT, h)));
        }
        keyed.attachments(content, &mut out);
        Self(out)
    }
}

/// Refuses `content` when it passes on H2 content this node received from an organisation
/// other than `except` (the addressee), looking in `store`'s onward-sharing index for the
/// messages that may hold it and comparing only those, in the order [`check_onward`] would
/// meet them: the same answer as comparing every H2 message. A message that cannot be read
/// (erased, or damaged) protects nothing it could leak, so it is skipped (a damaged one
/// logged). The outer error is the store's; the inner one the refusal. A node that holds no
/// readable H2 message (the index covers none) has nothing to protect: the content's
/// fingerprints are not even computed.
pub fn check_onward_in(
    store: &crate::store::NodeStore,
    content: &Content,
    except: &str,
) -> Result<Result<(), RuleError>, crate::store::StoreError> {
    if !store.onward_covers_any()? {
        return Ok(Ok(()));
    }
    let sought = Fingerprints::sought(content, &store.onward_secret());
    for key in store.onward_candidates(&sought, except)? {
        let Some(body) = store.readable_h2(&key, except)? else {
            continue;
        };
        if let Err(refusal) = check_onward(content, [body]) {
            return Ok(Err(refusal));
        }
    }
    Ok(Ok(()))
}

pub use trm_proto::kinds::handling_notice as notice;

#[cfg(test)]
mod tests {
    use super::*;

    fn response(information: &str) -> Content {
        Content::InfoResponse(pb::InfoResponse {
            information: information.into(),
            ..Default::default()
        })
    }

    const SOURCE: &str = "The recruiter operates from a café near the bus station in Subotica and \
        uses the alias Marko; two other women from the same village were moved to Vienna.";

    #[test]
    fn a_copied_passage_is_found_whatever_its_case_and_spacing() {
        let protected = Protected::of(&response(SOURCE));
        let copied = Content::Referral(pb::Referral {
            notes: "Police said: THE RECRUITER operates from a café near the   bus station in \
                    Subotica. Please help."
                .into(),
            ..Default::default()
        });
        assert_eq!(protected.found_in(&copied), Some("referral.notes"));
        let own_words = Content::Referral(pb::Referral {
            notes: "She may be at risk from the recruiter in her home town.".into(),
            ..Default::default()
        });
        assert_eq!(protected.found_in(&own_words), None);
    }

    #[test]
    fn a_short_text_counts_whole_and_an_identical_attachment_counts() {
        let short = Content::InfoResponse(pb::InfoResponse {
            information: "alias Marko, café".into(),
            attachments: vec![pb::Attachment {
                file_name: "photo.jpg".into(),
                media_type: "image/jpeg".into(),
                content: vec![1, 2, 3],
                ..Default::default()
            }],
            ..Default::default()
        });
        let protected = Protected::of(&short);
        assert_eq!(
            protected.found_in(&response("Known as: alias  marko, CAFÉ.")),
            Some("info_response.information")
        );
        let forwarded = Content::Referral(pb::Referral {
            attachments: vec![pb::Attachment {
                file_name: "renamed.jpg".into(),
                media_type: "image/jpeg".into(),
                content: vec![1, 2, 3],
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(protected.found_in(&forwarded), Some("attachments"));
    }

    #[test]
    fn h1_content_is_marked_not_for_judicial_use() {
        let body = pb::Body {
            from: "police-rs@rs".into(),
            content: Some(Content::InfoResponse(pb::InfoResponse {
                handling_code: pb::HandlingCode::H1.into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let text = notice(&body, crate::store::INCOMING);
        assert!(text.contains("NOT FOR JUDICIAL USE") && text.contains("police-rs@rs"));
        assert_eq!(notice(&body, crate::store::OUTGOING), "");
    }

    #[test]
    fn only_the_first_part_of_a_very_long_text_is_compared() {
        let filler = "lorem ipsum dolor sit amet ".repeat(COMPARED_CHARS / 20);
        let early = format!("{SOURCE} {filler}");
        let late = format!("{filler} {SOURCE}");
        let passage =
            response("the recruiter operates from a café near the bus station in Subotica");
        assert!(
            Protected::of(&response(&early))
                .found_in(&passage)
                .is_some()
        );
        let protected = Protected::of(&response(&late));
        assert!(
            protected.passages.len() <= COMPARED_CHARS,
            "bounded by the compared length"
        );
        assert_eq!(protected.found_in(&passage), None);
    }
}
