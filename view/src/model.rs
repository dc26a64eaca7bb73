//! The view as a typed tree, and its JSON shape.
//!
//! The JSON of a [`View`] is `{"kind", "title", "header": [Field], "fields": [Field]}`; a
//! [`Field`] is `{"key", "label", "type", ...}` where `type` says which other members it has:
//! - `text`: `value` (a string);
//! - `code`: `value` (the spelling of the message files, e.g. `sexual`, `H2`) and `meaning`;
//! - `date`: `value` (RFC 3339, UTC);
//! - `bool`: `value` (true or false);
//! - `number`: `value` and, when it counts something, `unit` (e.g. `month`);
//! - `bytes`: `size` and `sha256` (hex), never the bytes;
//! - `list`: `items`, values without `key` or `label`;
//! - `group`: `fields`.
//!
//! `key` is stable (`referral.person.date_of_birth`; a time without its `_ms`, as the message
//! files name it: `referral.status_designated_at`): scripts and translations use it.

use serde::Serialize;

/// One message, every field the sender filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// The kind's name as message files write it, e.g. `referral_response`.
    pub kind: String,
    /// The kind for people, e.g. "Referral response".
    pub title: String,
    /// The envelope facts: kind, priority, sender, addressee, created, case, handling notice.
    pub header: Vec<Field>,
    /// The content.
    pub fields: Vec<Field>,
}

/// One field of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// A stable id, the kind and the path of field names: `referral.person.date_of_birth`.
    pub key: String,
    /// The English label.
    pub label: String,
    /// What was sent.
    #[serde(flatten)]
    pub value: Value,
}

/// A field's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Value {
    /// Free text as the sender wrote it.
    Text {
        /// The text.
        value: String,
    },
    /// A value of a closed code list.
    Code {
        /// Its spelling in the message files (`sexual`, `H2`, `A`).
        #[serde(rename = "value")]
        code: String,
        /// What it means, for people.
        meaning: String,
    },
    /// A point in time.
    Date {
        /// RFC 3339, UTC.
        value: String,
        /// Unix milliseconds, for the text view.
        #[serde(skip)]
        utc_ms: u64,
    },
    /// Yes or no.
    Bool {
        /// The value.
        value: bool,
    },
    /// A count or a number.
    Number {
        /// The value.
        value: u64,
        /// What it counts, singular (`month`), when it counts something.
        #[serde(skip_serializing_if = "Option::is_none")]
        unit: Option<&'static str>,
    },
    /// Bytes (an attachment's content), shown by size and digest, never themselves.
    Bytes {
        /// How many bytes.
        size: u64,
        /// Their SHA-256, hex.
        sha256: String,
    },
    /// A repeated field.
    List {
        /// The values, in the order sent.
        items: Vec<Value>,
    },
    /// A nested message.
    Group {
        /// Its fields.
        fields: Vec<Field>,
    },
}

impl View {
    /// The field with `key`, at any depth (in a list of groups, the first).
    pub fn find(&self, key: &str) -> Option<&Field> {
        find(&self.header, key).or_else(|| find(&self.fields, key))
    }

    /// The view as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn find<'a>(fields: &'a [Field], key: &str) -> Option<&'a Field> {
    fields.iter().find_map(|f| {
        if f.key == key {
            return Some(f);
        }
        find_in(&f.value, key)
    })
}

fn find_in<'a>(value: &'a Value, key: &str) -> Option<&'a Field> {
    match value {
        Value::Group { fields } => find(fields, key),
        Value::List { items } => items.iter().find_map(|v| find_in(v, key)),
        _ => None,
    }
}
