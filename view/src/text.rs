//! A view as text for people: a heading, then one line per field with the labels aligned,
//! nested messages as indented sections, repeated messages numbered.
//!
//! ```text
//! Referral
//!   Victim status   presumed victim
//!   Person
//!     Age           34 years
//! ```

use std::fmt::Write;

use jiff::tz::TimeZone;

use crate::model::{Field, Value, View};
use crate::words::plural;

/// Labels longer than this do not widen the label column; their value follows them.
const WIDEST_LABEL: usize = 28;

/// The whole view: the title, the header (but its kind, which the title says), a blank line,
/// the content.
pub fn view(view: &View, zone: &TimeZone) -> String {
    let mut out = format!("{}\n", view.title);
    let header: Vec<Field> = view
        .header
        .iter()
        .filter(|f| f.key != "header.kind")
        .cloned()
        .collect();
    out.push_str(&fields(&header, 2, zone));
    out.push('\n');
    out.push_str(&fields(&view.fields, 2, zone));
    out
}

/// Fields at `indent` spaces, labels aligned.
pub fn fields(fields: &[Field], indent: usize, zone: &TimeZone) -> String {
    let mut out = String::new();
    let pad = " ".repeat(indent);
    let width = fields
        .iter()
        .filter(|f| !is_section(&f.value))
        .map(|f| f.label.chars().count())
        .filter(|n| *n <= WIDEST_LABEL)
        .max()
        .unwrap_or(0);
    for f in fields {
        match &f.value {
            Value::Group { fields: inner } => {
                let _ = writeln!(out, "{pad}{}", f.label);
                out.push_str(&self::fields(inner, indent + 2, zone));
            }
            Value::List { items } if is_section(&f.value) => {
                let _ = writeln!(out, "{pad}{}", f.label);
                for (n, item) in items.iter().enumerate() {
                    let _ = writeln!(out, "{pad}  ({})", n + 1);
                    if let Value::Group { fields: inner } = item {
                        out.push_str(&self::fields(inner, indent + 4, zone));
                    }
                }
            }
            value => {
                let text = value_text(value, zone);
                let mut lines = text.lines();
                let first = lines.next().unwrap_or_default();
                let _ = writeln!(out, "{pad}{:<width$}  {first}", f.label);
                for line in lines {
                    let _ = writeln!(out, "{pad}{:<width$}  {line}", "");
                }
            }
        }
    }
    out
}

/// Whether a value is shown as its own section (a message, or a list of messages).
fn is_section(value: &Value) -> bool {
    match value {
        Value::Group { .. } => true,
        Value::List { items } => items.iter().any(|v| matches!(v, Value::Group { .. })),
        _ => false,
    }
}

/// One value on one line (or several, for text that has several).
pub fn value_text(value: &Value, zone: &TimeZone) -> String {
    match value {
        Value::Text { value } => value.clone(),
        Value::Code { meaning, .. } => meaning.clone(),
        Value::Date { utc_ms, .. } => crate::time::text(*utc_ms, zone),
        Value::Bool { value } => if *value { "yes" } else { "no" }.into(),
        Value::Number { value, unit } => {
            unit.map_or_else(|| value.to_string(), |u| plural(*value, u))
        }
        Value::Bytes { size, sha256 } => format!("{}, SHA-256 {sha256}", plural(*size, "byte")),
        Value::List { items } => items
            .iter()
            .map(|v| value_text(v, zone))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Group { fields: inner } => fields(inner, 0, zone),
    }
}
