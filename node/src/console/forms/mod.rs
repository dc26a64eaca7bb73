//! Every message kind as a form: [`render`] draws a kind's fields (from the message file's
//! format, [`trm_forms::form`]) with the values typed and each error beside its field and in
//! a summary at the top; [`parse`] turns what the form sent into the message file's JSON,
//! checks it exactly as `trm send` does and sends it through the node's admin service (whose
//! rules run there), or says why not — translated, beside the field. Nothing is sent while
//! anything is wrong. [`page`] is one page per form, the same for every kind.

pub mod page;
pub mod parse;
pub mod render;

use maud::Markup;
use trm_forms::form::Field;

use super::csrf::Fields;

/// An error to show beside a field (`field` is its path), or only in the summary when no
/// field of the form has that path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The field's path (`referral.person.age_years`).
    pub field: String,
    /// What is wrong, in the reader's language.
    pub text: String,
}

/// A form to draw.
pub struct Form<'a> {
    /// The kind (`referral`).
    pub kind: &'a str,
    /// Where it is sent.
    pub action: String,
    /// Its fields; those in `fixed` are sent hidden, as given.
    pub fields: Vec<Field>,
    /// Fields the page sets and the person does not change (`to`, `case_ref`, the message
    /// answered), by path.
    pub fixed: Vec<(String, String)>,
    /// The values typed (or set first), by path, in the order sent.
    pub values: &'a Fields,
    /// What is wrong.
    pub errors: &'a [Shown],
    /// The submit button's words.
    pub submit: String,
    /// What goes above the fields (a summary of what is answered), if anything.
    pub intro: Option<Markup>,
}

/// The name of the button that adds a row to the repeated field its value names.
pub const ADD: &str = "_add";

/// The name of the field a kind's attachments are in. A message file lists paths there; a
/// form shows a file input instead, and what it sends are the files themselves, never a path
/// on the node's disk.
pub const ATTACHMENTS: &str = "attachments";

#[cfg(test)]
mod tests {
    use crate::console::i18n::{self, Lang};

    fn english(id: &str) -> bool {
        i18n::text(Lang::En, id, &[]) != id
    }

    #[test]
    fn every_field_code_problem_and_reason_has_words() {
        let mut missing = Vec::new();
        for kind in trm_forms::message_file::KINDS {
            let fields = super::page::fields_of(kind).unwrap_or_default();
            assert!(!fields.is_empty(), "{kind} has no form");
            for (_, field) in trm_forms::form::flatten(&fields) {
                missing.push(format!("compose-f-{}", field.name));
                let codes = match &field.input {
                    trm_forms::form::Input::Choice(c) | trm_forms::form::Input::Choices(c) => {
                        c.clone()
                    }
                    _ => Vec::new(),
                };
                for code in codes {
                    missing.push(format!("compose-code-{}", code.to_ascii_lowercase()));
                }
            }
        }
        for key in trm_forms::problem::KEYS {
            missing.push(format!("compose-problem-{key}"));
        }
        for key in [
            "rule-consent-missing",
            "rule-consent-override",
            "rule-consent-detail",
            "rule-child-guardian",
            "rule-child-view",
            "rule-child-not-taken",
            "rule-child-age",
            "rule-h3-restrictions",
            "rule-responsible-unit",
            "rule-decline-reason",
            "rule-missing-information",
            "rule-decision",
            "rule-answer-one",
            "rule-return-risk-assessment",
            "rule-return-voluntary",
            "rule-child-best-interest",
            "rule-legal-basis",
            "rule-handling-code",
            "rule-attachments",
            "rule-h2-onward",
            "rule-other",
            "no-agreement",
            "directory-expired",
            "unknown-recipient",
            "case-step-not-allowed",
            "disk-full",
        ] {
            missing.push(format!("compose-reason-{key}"));
        }
        missing.retain(|id| !english(id));
        missing.dedup();
        assert!(missing.is_empty(), "no English words for {missing:?}");
    }

    #[test]
    fn the_rules_keys_name_the_rule_broken() {
        use trm_proto::pb;
        use trm_proto::pb::body::Content;
        let referral = |consent: Option<pb::ConsentRecord>| {
            Content::Referral(pb::Referral {
                consent,
                person: Some(pb::PersonData {
                    age_years: 30,
                    ..Default::default()
                }),
                ..Default::default()
            })
        };
        let missing = crate::rules::check(&referral(None)).expect_err("no consent record");
        assert_eq!(
            (missing.key(), missing.field.as_str()),
            ("rule-consent-missing", "referral.consent")
        );
        let refused = crate::rules::check(&referral(Some(pb::ConsentRecord::default())))
            .expect_err("consent not given, no legal basis");
        assert_eq!(refused.key(), "rule-consent-override");
        assert!(english(&format!("compose-reason-{}", refused.key())));
    }
}
