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
//! The comparison reads H2 content from the case vault at send time. It catches copying, not
//! paraphrase: a caseworker who retells H2 content in their own words is not stopped by
//! software, and the notice shown with the content says what the code requires.

use std::collections::HashSet;
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
