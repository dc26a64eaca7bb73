//! The descriptor walk: a body's content, decoded as a [`DynamicMessage`] of the descriptors
//! this build was made from, turned field by field into a [`View`]. No kind and no field is
//! named here: a new kind or field is shown as soon as it is in a `.proto` file.

use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    Value as Reflected,
};
use sha2::{Digest, Sha256};
use trm_proto::pb;

use crate::header::{self, Facts};
use crate::labeler::{English, Labeler};
use crate::labels::{self, Show};
use crate::model::{Field, Value, View};

/// The message whose oneof `content` holds a message's content.
pub const BODY: &str = "trm.v1.Body";
/// The oneof of [`BODY`] that holds the content.
pub const CONTENT_ONEOF: &str = "content";

/// Why a view could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// The descriptors built into this program do not decode (a build fault).
    #[error("the message descriptors built into this program are unreadable: {0}")]
    Descriptors(String),
    /// The body does not decode against its descriptor (a build fault: both come from the
    /// same `.proto` files).
    #[error("the message does not match its description: {0}")]
    Decode(String),
    /// The body has no content (erased, or never had any).
    #[error("the message has no content")]
    NoContent,
}

static POOL: LazyLock<Result<DescriptorPool, String>> =
    LazyLock::new(|| DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()));

/// The descriptors of every trm message.
pub fn pool() -> Result<&'static DescriptorPool, ViewError> {
    POOL.as_ref().map_err(|e| ViewError::Descriptors(e.clone()))
}

/// The descriptor of [`BODY`].
pub fn body_descriptor() -> Result<MessageDescriptor, ViewError> {
    pool()?
        .get_message_by_name(BODY)
        .ok_or_else(|| ViewError::Descriptors(format!("{BODY} is missing")))
}

/// The cases of the content oneof: one field per message kind.
pub fn content_cases() -> Result<Vec<FieldDescriptor>, ViewError> {
    Ok(body_descriptor()?
        .fields()
        .filter(|f| {
            f.containing_oneof()
                .is_some_and(|o| o.name() == CONTENT_ONEOF)
        })
        .collect())
}

/// Every message reachable from the content oneof (the content messages and the messages
/// nested in them), each once.
pub fn content_messages() -> Result<Vec<MessageDescriptor>, ViewError> {
    let mut seen: Vec<MessageDescriptor> = Vec::new();
    let mut todo: Vec<MessageDescriptor> = content_cases()?
        .iter()
        .filter_map(|f| match f.kind() {
            Kind::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    while let Some(message) = todo.pop() {
        if seen.contains(&message) {
            continue;
        }
        todo.extend(message.fields().filter_map(|f| match f.kind() {
            Kind::Message(m) => Some(m),
            _ => None,
        }));
        seen.push(message);
    }
    Ok(seen)
}

/// Every enum a content message uses, each once.
pub fn content_enums() -> Result<Vec<prost_reflect::EnumDescriptor>, ViewError> {
    let mut enums: Vec<prost_reflect::EnumDescriptor> = Vec::new();
    for message in content_messages()? {
        for field in message.fields() {
            if let Kind::Enum(e) = field.kind()
                && !enums.contains(&e)
            {
                enums.push(e);
            }
        }
    }
    Ok(enums)
}

/// The view of a body in English: the envelope facts and every field of its content.
pub fn view(body: &pb::Body, facts: &Facts<'_>) -> Result<View, ViewError> {
    view_with(body, facts, &English)
}

/// The view of a body in `labeler`'s words: the same fields, keys and code spellings as
/// [`view`], the labels and what codes mean in the reader's language. Free text stays as the
/// sender wrote it.
pub fn view_with(
    body: &pb::Body,
    facts: &Facts<'_>,
    labeler: &dyn Labeler,
) -> Result<View, ViewError> {
    let dynamic = DynamicMessage::decode(body_descriptor()?, body.encode_to_vec().as_slice())
        .map_err(|e| ViewError::Decode(e.to_string()))?;
    content_view(&dynamic, body, facts, labeler)
}

/// The view of a body already decoded as a [`DynamicMessage`] of [`BODY`] (`body` gives the
/// envelope facts), in `labeler`'s words.
pub fn content_view(
    dynamic: &DynamicMessage,
    body: &pb::Body,
    facts: &Facts<'_>,
    labeler: &dyn Labeler,
) -> Result<View, ViewError> {
    let (case, content) = content_cases()?
        .into_iter()
        .find(|f| dynamic.has_field(f))
        .and_then(|f| match dynamic.get_field(&f).into_owned() {
            Reflected::Message(m) => Some((f, m)),
            _ => None,
        })
        .ok_or(ViewError::NoContent)?;
    let kind = case.name().to_owned();
    Ok(View {
        title: header::title_with(body.kind, &kind, labeler),
        header: header::fields_with(body, facts, labeler),
        fields: fields_with(&content, &kind, labeler),
        kind,
    })
}

/// Every field of `message` that carries something, under keys `prefix.<field name>`.
pub fn fields(message: &DynamicMessage, prefix: &str) -> Vec<Field> {
    fields_with(message, prefix, &English)
}

/// [`fields`] in `labeler`'s words.
pub fn fields_with(message: &DynamicMessage, prefix: &str, labeler: &dyn Labeler) -> Vec<Field> {
    message
        .descriptor()
        .fields()
        .filter_map(|f| field(message, &f, prefix, labeler))
        .collect()
}

/// A field's name in keys: its protobuf name, without the `_ms` of a time
/// (`referral.status_designated_at`, as the message files name it).
pub fn key_name(descriptor: &FieldDescriptor) -> &str {
    descriptor.name().trim_end_matches("_ms")
}

fn field(
    message: &DynamicMessage,
    descriptor: &FieldDescriptor,
    prefix: &str,
    labeler: &dyn Labeler,
) -> Option<Field> {
    let key = format!("{prefix}.{}", key_name(descriptor));
    let entry = labels::field(descriptor.full_name());
    let label = labeler
        .field(descriptor.full_name())
        .unwrap_or_else(|| labels::fallback(descriptor.name()));
    let shown_when_false = entry.is_none_or(|e| e.show == Show::Always);
    let value = message.get_field(descriptor);
    let value = match value.as_ref() {
        Reflected::List(items) => {
            let items: Vec<Value> = items
                .iter()
                .filter_map(|v| scalar(descriptor, v, &key, labeler))
                .collect();
            (!items.is_empty()).then_some(Value::List { items })?
        }
        Reflected::Map(entries) => {
            let items: Vec<Value> = entries
                .iter()
                .map(|(k, v)| Value::Text {
                    value: format!("{k:?}: {v:?}"),
                })
                .collect();
            (!items.is_empty()).then_some(Value::List { items })?
        }
        Reflected::Bool(false) if shown_when_false && descriptor.containing_oneof().is_none() => {
            Value::Bool { value: false }
        }
        _ if !message.has_field(descriptor) => return None,
        single => scalar(descriptor, single, &key, labeler)?,
    };
    Some(Field { key, label, value })
}

/// One value (a single field, or one item of a repeated one).
fn scalar(
    descriptor: &FieldDescriptor,
    value: &Reflected,
    key: &str,
    labeler: &dyn Labeler,
) -> Option<Value> {
    let entry = labels::field(descriptor.full_name());
    let number = |n: u64| {
        if descriptor.name().ends_with("_ms") {
            return Value::Date {
                value: crate::time::rfc3339(n),
                utc_ms: n,
            };
        }
        if let Some(meaning) = labeler.numbered(descriptor.full_name(), n) {
            return Value::Code {
                code: n.to_string(),
                meaning,
            };
        }
        Value::Number {
            value: n,
            unit: entry.and_then(|e| e.unit),
        }
    };
    Some(match value {
        Reflected::String(s) => match labeler.listed(descriptor.full_name(), s) {
            Some(meaning) => Value::Code {
                code: s.clone(),
                meaning,
            },
            None => Value::Text { value: s.clone() },
        },
        Reflected::Bool(b) => Value::Bool { value: *b },
        Reflected::U32(n) => number(u64::from(*n)),
        Reflected::U64(n) => number(*n),
        Reflected::I32(n) => u64::try_from(*n).map_or_else(|_| text(n), number),
        Reflected::I64(n) => u64::try_from(*n).map_or_else(|_| text(n), number),
        Reflected::F32(n) => text(n),
        Reflected::F64(n) => text(n),
        Reflected::EnumNumber(n) => code(descriptor, *n, labeler),
        Reflected::Bytes(b) if descriptor.name().ends_with("sha256") => Value::Text {
            value: hex::encode(b),
        },
        Reflected::Bytes(b) => Value::Bytes {
            size: u64::try_from(b.len()).unwrap_or(u64::MAX),
            sha256: hex::encode(Sha256::digest(b)),
        },
        Reflected::Message(m) => {
            let inner = fields_with(m, key, labeler);
            (!inner.is_empty()).then_some(Value::Group { fields: inner })?
        }
        Reflected::List(_) | Reflected::Map(_) => return None,
    })
}

fn text(n: &impl std::fmt::Display) -> Value {
    Value::Text {
        value: n.to_string(),
    }
}

/// An enum value as its code and meaning; a number this build does not know stays a number.
fn code(descriptor: &FieldDescriptor, n: i32, labeler: &dyn Labeler) -> Value {
    let known = match descriptor.kind() {
        Kind::Enum(e) => e.get_value(n),
        _ => None,
    };
    match known {
        Some(v) => Value::Code {
            code: labels::spelling(&v),
            meaning: labeler
                .meaning(v.parent_enum().full_name(), v.name())
                .unwrap_or_else(|| labels::meaning(&v)),
        },
        None => Value::Code {
            code: n.to_string(),
            meaning: labeler.unknown_code(n),
        },
    }
}
