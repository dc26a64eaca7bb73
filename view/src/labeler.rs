//! Who words the view: a [`Labeler`] gives every word the view shows that is not the sender's
//! own (field labels, what codes mean, kind names, counts, priorities, handling notices, item
//! states and evidence steps). [`English`] is the one label table of [`crate::labels`] (what the
//! CLI shows); [`crate::fluent::Fluent`] gives the same words in another language.
//!
//! Every word has a message id, the same in every language ([`ids`]): the English message file
//! is written from [`English`], so English has one source.

use trm_proto::{kinds, pb};

use crate::{labels, states, words};

/// The header fields a view can carry, by their key after `header.`.
pub const HEADER_KEYS: [&str; 8] = [
    "kind",
    "priority",
    "from",
    "to",
    "created",
    "case_ref",
    "message_id",
    "handling_notice",
];

/// The words of a view in one language.
pub trait Labeler: Send + Sync {
    /// The language of the words, as a BCP 47 tag (`en`, `de`, `sr-Latn`).
    fn lang(&self) -> &str;
    /// A field's label, by the field's full protobuf name (`trm.v1.Referral.needs`); `None`
    /// when there is no entry (the view then makes one from the field's name).
    fn field(&self, full_name: &str) -> Option<String>;
    /// What a code means, by the enum's full name and the value's name; `None` when unknown.
    fn meaning(&self, enum_full_name: &str, value_name: &str) -> Option<String>;
    /// What a numbered code of a field means (SIENA accuracy 1 to 4); `None` when the number
    /// is not one of the field's codes.
    fn numbered(&self, field_full_name: &str, n: u64) -> Option<String>;
    /// The meaning of `code`, a text code of the shared list of the field named
    /// `field_full_name` ([`crate::labels::FieldLabel::listed`]); `None` for a field without
    /// a list or a code the list does not have.
    fn listed(&self, field_full_name: &str, code: &str) -> Option<String>;
    /// A code number this build does not know.
    fn unknown_code(&self, n: i32) -> String;
    /// A message kind for people, in lower case, by its name in files (`referral_response`);
    /// `None` for a name the kinds table does not have.
    fn kind(&self, name: &str) -> Option<String>;
    /// `n` things counted in `unit` (singular English, `month`): "3 months".
    fn count(&self, n: u64, unit: &str) -> String;
    /// What a priority (`urgent`) sets: "urgent: a referral is answered within 48 hours".
    fn priority(&self, code: &str, hours: u64) -> String;
    /// The label of a header field, by its key after `header.` ([`HEADER_KEYS`]).
    fn header(&self, key: &str) -> String;
    /// What a handling code asks of the reader, naming the provider; empty for none.
    fn notice(&self, code: i32, provider: &str, restrictions: &str) -> String;
    /// A kind of case item (`information_request`).
    fn item_kind(&self, kind: &str) -> String;
    /// An item's state, saying whose doing it was (`direction`: `incoming` or `outgoing`).
    fn state(&self, state: &str, direction: &str) -> String;
    /// A step of a sent message's evidence (`submitted`, `accepted`, `relayed`, ...).
    fn step(&self, step: &str) -> String;
    /// Yes or no.
    fn yes_no(&self, value: bool) -> String;
    /// What is said of free text whose language the sender did not state.
    fn no_language(&self) -> String;
}

/// What a handling code of a body asks of its reader in `labeler`'s words, when `direction`
/// is `incoming`; empty when nothing.
pub fn handling_notice(labeler: &dyn Labeler, body: &pb::Body, direction: &str) -> String {
    if direction != "incoming" {
        return String::new();
    }
    kinds::handling(body).map_or_else(String::new, |(code, restrictions)| {
        labeler.notice(code, &body.from, restrictions)
    })
}

/// A span of hours as it is said: "24 hours", "48 hours", "7 days".
pub fn span(labeler: &dyn Labeler, hours: u64) -> String {
    if hours > 48 && hours.is_multiple_of(24) {
        labeler.count(hours / 24, "day")
    } else {
        labeler.count(hours, "hour")
    }
}

/// The message ids of the words, the same in every language.
pub mod ids {
    /// A name without `trm.v1.`, dots as dashes (Fluent ids take `[a-zA-Z0-9_-]`).
    fn bare(full_name: &str) -> String {
        full_name
            .strip_prefix("trm.v1.")
            .unwrap_or(full_name)
            .replace('.', "-")
    }

    /// `field-Referral-exploitation_types`.
    pub fn field(full_name: &str) -> String {
        format!("field-{}", bare(full_name))
    }

    /// `code-ExploitationType-EXPLOITATION_TYPE_SEXUAL`.
    pub fn code(enum_full_name: &str, value_name: &str) -> String {
        format!("code-{}-{value_name}", bare(enum_full_name))
    }

    /// `code-InfoResponse-accuracy-1`.
    pub fn numbered(field_full_name: &str, n: u64) -> String {
        format!("code-{}-{n}", bare(field_full_name))
    }

    /// `code-Referral-indicators-debt-bondage`.
    pub fn listed(field_full_name: &str, code: &str) -> String {
        format!("code-{}-{code}", bare(field_full_name))
    }

    /// `kind-referral_response`.
    pub fn kind(name: &str) -> String {
        format!("kind-{name}")
    }

    /// `unit-month`.
    pub fn unit(unit: &str) -> String {
        format!("unit-{unit}")
    }

    /// `priority-urgent`.
    pub fn priority(code: &str) -> String {
        format!("priority-{code}")
    }

    /// `header-case_ref`.
    pub fn header(key: &str) -> String {
        format!("header-{key}")
    }

    /// `notice-H1`.
    pub fn notice(code: &str) -> String {
        format!("notice-{code}")
    }

    /// `item-information_request`.
    pub fn item(kind: &str) -> String {
        format!("item-{kind}")
    }

    /// `state-needs_information`.
    pub fn state(state: &str) -> String {
        format!("state-{state}")
    }

    /// `step-relayed`.
    pub fn step(step: &str) -> String {
        format!("step-{step}")
    }

    /// The sentence of a priority: `{ $priority }: a referral is answered within { $span }`.
    pub const PRIORITY_MEANING: &str = "priority-meaning";
    /// `code { $n }, unknown to this version`.
    pub const UNKNOWN_CODE: &str = "code-unknown";
    /// Yes.
    pub const YES: &str = "bool-yes";
    /// No.
    pub const NO: &str = "bool-no";
    /// Free text whose language was not stated.
    pub const NO_LANGUAGE: &str = "language-not-stated";
}

/// The English words: the label table of [`crate::labels`], the kinds table of `trm-proto`
/// and the state words of [`crate::states`].
#[derive(Debug, Clone, Copy, Default)]
pub struct English;

/// The English sentence of a priority.
pub fn english_priority(priority: &str, span: &str) -> String {
    format!("{priority}: a referral is answered within {span}")
}

impl Labeler for English {
    fn lang(&self) -> &str {
        "en"
    }

    fn field(&self, full_name: &str) -> Option<String> {
        labels::field(full_name).map(|l| l.label.to_owned())
    }

    fn meaning(&self, enum_full_name: &str, value_name: &str) -> Option<String> {
        let key = format!("{enum_full_name}.{value_name}");
        labels::all_codes()
            .find(|(name, _)| *name == key)
            .map(|(_, m)| m.to_owned())
    }

    fn numbered(&self, field_full_name: &str, n: u64) -> Option<String> {
        labels::field(field_full_name)?
            .codes
            .iter()
            .find(|(code, _)| *code == n)
            .map(|(_, m)| (*m).to_owned())
    }

    fn listed(&self, field_full_name: &str, code: &str) -> Option<String> {
        labels::field(field_full_name)?
            .listed
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, m)| (*m).to_owned())
    }

    fn unknown_code(&self, n: i32) -> String {
        format!("code {n}, unknown to this version")
    }

    fn kind(&self, name: &str) -> Option<String> {
        kinds::SENT
            .iter()
            .chain([&kinds::WITNESS_REQUEST])
            .find(|k| k.name == name)
            .map(|k| k.label.to_owned())
    }

    fn count(&self, n: u64, unit: &str) -> String {
        words::plural(n, unit)
    }

    fn priority(&self, code: &str, hours: u64) -> String {
        english_priority(code, &span(self, hours))
    }

    fn header(&self, key: &str) -> String {
        match key {
            "kind" => "Kind",
            "priority" => "Priority",
            "from" => "From",
            "to" => "To",
            "created" => "Sealed",
            "case_ref" => "Case",
            "message_id" => "Message id",
            "handling_notice" => "Handling",
            other => return labels::fallback(other),
        }
        .into()
    }

    fn notice(&self, code: i32, provider: &str, restrictions: &str) -> String {
        kinds::notice(code, provider, restrictions)
    }

    fn item_kind(&self, kind: &str) -> String {
        states::item_kind(kind)
    }

    fn state(&self, state: &str, direction: &str) -> String {
        states::state_word(state, direction)
    }

    fn step(&self, step: &str) -> String {
        states::step(step)
    }

    fn yes_no(&self, value: bool) -> String {
        if value { "yes" } else { "no" }.into()
    }

    fn no_language(&self) -> String {
        "language not stated".into()
    }
}
