//! What is wrong with one field of a filled-in file, as a stable key with its arguments (for
//! a console that says it in the reader's language) and as the English sentence the CLI and
//! the HTTP API print. The key names the kind of problem (`not-a-date`, `required`), never the
//! field: the field is beside it in [`crate::referral_file::FieldError`].

use std::fmt;

/// One problem: a stable key, its arguments and the English sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    key: &'static str,
    args: Vec<(&'static str, String)>,
    english: String,
}

/// The key of a problem only said in English (a check with no key of its own yet).
pub const GENERAL: &str = "invalid";

/// Every key a problem of `trm-forms` can have, so a console can check it says each one.
pub const KEYS: &[&str] = &[
    GENERAL,
    "unknown-field",
    "missing-field",
    "wrong-type",
    "unknown-value",
    "wrong-value",
    "not-json",
    "required",
    "not-a-date",
    "not-a-country",
    "not-an-address",
    "not-a-case-ref",
    "not-a-kind",
    "not-a-language",
    "table-missing",
    "one-table-only",
    "name-one-exploitation",
    "age-or-birth-date",
    "implausible-age",
    "child-must-be-set",
    "h3-restrictions",
    "answer-one",
    "name-one-category",
    "info-or-refusal",
    "info-and-refusal",
    "not-an-accuracy",
    "say-what-is-missing",
    "return-needs-risk-assessment",
    "not-a-follow-up-interval",
];

impl Problem {
    /// A problem `key` ([`KEYS`]) said in English as `english`.
    pub fn new(key: &'static str, english: impl Into<String>) -> Self {
        Self {
            key,
            args: Vec::new(),
            english: english.into(),
        }
    }

    /// The same problem with the argument `name` set to `value` (the words it quotes).
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// The stable key, one of [`KEYS`].
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The arguments, by name.
    pub fn args(&self) -> &[(&'static str, String)] {
        &self.args
    }

    /// The argument `name`, when set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A problem the JSON or TOML reader found (a field the format does not have, a value of
    /// the wrong type, a code that is not in the list), keyed by what it is, with the words
    /// it quotes as `value` (and the expected ones as `expected`).
    pub fn from_reader(message: &str) -> Self {
        let message = message.trim();
        let quoted = quoted(message);
        let expected = message
            .split_once(", expected ")
            .map(|(_, e)| e.trim_end_matches('.').to_owned());
        let key = if message.starts_with("unknown field") {
            "unknown-field"
        } else if message.starts_with("missing field") {
            "missing-field"
        } else if message.starts_with("invalid type") {
            "wrong-type"
        } else if message.starts_with("unknown variant") {
            "unknown-value"
        } else if message.starts_with("invalid value") || message.starts_with("invalid length") {
            "wrong-value"
        } else {
            "not-json"
        };
        let mut problem = Self::new(key, message);
        if let Some(value) = quoted {
            problem = problem.arg("value", value);
        }
        if let Some(expected) = expected {
            problem = problem.arg("expected", expected);
        }
        problem
    }
}

/// The first word the reader quoted in backticks.
fn quoted(message: &str) -> Option<String> {
    let (_, rest) = message.split_once('`')?;
    let (word, _) = rest.split_once('`')?;
    Some(word.to_owned())
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.english)
    }
}

impl From<String> for Problem {
    fn from(english: String) -> Self {
        Self::new(GENERAL, english)
    }
}

impl From<&str> for Problem {
    fn from(english: &str) -> Self {
        Self::new(GENERAL, english)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_messages_are_keyed_by_what_they_are() {
        let cases = [
            (
                "unknown field `eye_colour`, expected one of `given_name`, `family_name`",
                "unknown-field",
                Some("eye_colour"),
            ),
            (
                "missing field `nationality`",
                "missing-field",
                Some("nationality"),
            ),
            (
                "invalid type: string \"x\", expected u32",
                "wrong-type",
                None,
            ),
            (
                "unknown variant `femal`, expected one of `female`, `male`, `other`",
                "unknown-value",
                Some("femal"),
            ),
            ("expected value at line 1 column 1", "not-json", None),
        ];
        for (message, key, value) in cases {
            let problem = Problem::from_reader(message);
            assert_eq!(problem.key(), key, "{message}");
            assert_eq!(problem.get("value"), value, "{message}");
            assert_eq!(problem.to_string(), message);
            assert!(KEYS.contains(&problem.key()));
        }
    }
}
