//! Every message file as a form: its fields, in the file's order, named by their path in the
//! file (`referral.person.age_years`), each with the input it needs (a date, a number, one
//! code of a closed list, several codes, rows of text, a group, repeated groups), and the way
//! back from what a form sent to the file's JSON, which [`crate::message_file::send_request`]
//! then checks with the same rules and errors as `trm send`.
//!
//! The fields come from the kind's filled-in template (its optional lines, commented out
//! there, included), so a field added to a file format appears on its form; the codes of a
//! closed list come from the file format's own enum, so they cannot drift either.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::message_file::{info, response, update};
use crate::referral_file::{
    Exploitation, HandlingCode, Need, Priority, RiskLevel, Sex, VictimStatus,
};

/// What a field asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line of text.
    Text,
    /// Several lines of text.
    LongText,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A whole number.
    Number,
    /// Yes or no.
    Check,
    /// One code of a closed list (or none).
    Choice(Vec<String>),
    /// Any number of codes of a closed list.
    Choices(Vec<String>),
    /// Any number of lines of text, one per row.
    Rows,
    /// A group of fields (a table of the file).
    Group(Vec<Field>),
    /// Any number of groups of the same fields (an array of tables); the fields' paths are
    /// relative to one row: `answers[0].answer` is row 0's `answer`.
    Repeated(Vec<Field>),
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name in its table (`age_years`).
    pub name: String,
    /// Its whole path (`referral.person.age_years`; in a repeated group, relative to the row).
    pub path: String,
    /// What it asks for.
    pub input: Input,
}

/// The longest text kept on one line; a template value longer than this gets a text area.
const LINE: usize = 60;

/// Fields whose text is usually long, whatever the template's example says.
const LONG: &[&str] = &[
    "notes",
    "summary",
    "scope",
    "child_view",
    "reason",
    "information",
    "answer",
    "handling_restrictions",
    "override_legal_basis",
    "best_interest_determination",
    "legal_basis",
];

/// The most rows of a repeated group a form may send.
pub const MAX_ROWS: usize = 50;

/// The fields of `kind`'s form, `to`, `case_ref`, `priority` and `language` first; `None` for
/// a kind without a file.
pub fn fields(kind: &str) -> Option<Vec<Field>> {
    let template = crate::message_file::template(kind)?;
    let text = uncommented(template);
    let table: toml::Table = toml::from_str(&text).ok()?;
    let order = key_order(&text);
    let mut top = walk(&table, "", &order);
    if !top.iter().any(|f| f.name == "language") {
        top.insert(
            3.min(top.len()),
            Field {
                name: "language".into(),
                path: "language".into(),
                input: Input::Text,
            },
        );
    }
    Some(top)
}

/// The template with its optional lines (`# reason = ""`) made fields.
fn uncommented(template: &str) -> String {
    template
        .lines()
        .map(|line| {
            let body = line.trim_start().strip_prefix('#').map(str::trim_start);
            match body {
                Some(rest) if is_assignment(rest) || is_header(rest) => rest.to_owned(),
                _ => line.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table's header, `[referral.guardian]`.
fn is_header(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .is_some_and(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
        })
}

fn is_assignment(line: &str) -> bool {
    line.split_once(" = ").is_some_and(|(key, value)| {
        !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && toml::from_str::<toml::Table>(&format!("x = {}", value_part(value))).is_ok()
    })
}

/// A value without its trailing comment.
fn value_part(value: &str) -> &str {
    match value.find("  #") {
        Some(at) => value.get(..at).unwrap_or(value).trim(),
        None => value.trim(),
    }
}

/// Every key's path in the order the text gives them.
fn key_order(text: &str) -> Vec<String> {
    let mut table = String::new();
    let mut order = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            order.push(table.clone());
        } else if let Some((key, _)) = line.split_once(" = ")
            && !key.starts_with('#')
        {
            let key = key.trim();
            order.push(if table.is_empty() {
                key.to_owned()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    order
}

fn walk(table: &toml::Table, prefix: &str, order: &[String]) -> Vec<Field> {
    let full = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let mut fields: Vec<Field> = table
        .iter()
        .map(|(name, value)| {
            let path = full(name);
            let input = input_of(name, value, &path, order);
            Field {
                name: name.clone(),
                path,
                input,
            }
        })
        .collect();
    fields.sort_by_key(|f| {
        order
            .iter()
            .position(|p| p == &f.path)
            .unwrap_or(usize::MAX)
    });
    fields
}

fn input_of(name: &str, value: &toml::Value, path: &str, order: &[String]) -> Input {
    match value {
        toml::Value::Boolean(_) => Input::Check,
        toml::Value::Integer(_) | toml::Value::Float(_) => Input::Number,
        toml::Value::Table(t) => Input::Group(walk(t, path, order)),
        toml::Value::Array(items) => match items.first() {
            Some(toml::Value::Table(row)) => {
                let relative: Vec<Field> = walk(row, path, order)
                    .into_iter()
                    .map(|f| Field {
                        path: f.name.clone(),
                        ..f
                    })
                    .collect();
                Input::Repeated(relative)
            }
            _ => match codes(name) {
                Some(codes) => Input::Choices(codes),
                None => Input::Rows,
            },
        },
        toml::Value::String(s) => match codes(name) {
            Some(codes) => Input::Choice(codes),
            None if trm_proto::time::parse_ms(s).is_some() && s.len() == 10 => Input::Date,
            None if s.chars().count() > LINE || LONG.contains(&name) => Input::LongText,
            None => Input::Text,
        },
        toml::Value::Datetime(_) => Input::Date,
    }
}

/// The codes of the closed list a field named `name` takes, in the file format's order.
pub fn codes(name: &str) -> Option<Vec<String>> {
    Some(match name {
        "priority" => codes_of::<Priority>(),
        "victim_status" => codes_of::<VictimStatus>(),
        "exploitation_types" => codes_of::<Exploitation>(),
        "needs" => codes_of::<Need>(),
        "sex" => codes_of::<Sex>(),
        "level" => codes_of::<RiskLevel>(),
        "handling_code" => codes_of::<HandlingCode>(),
        "decision" => codes_of::<response::Decision>(),
        "purpose" => codes_of::<info::Purpose>(),
        "categories" => codes_of::<info::Category>(),
        "source_reliability" => codes_of::<info::Reliability>(),
        "refusal_reason" => codes_of::<info::Refusal>(),
        "outcome" => codes_of::<update::Outcome>(),
        "indicators" => trm_proto::indicators::LIST
            .iter()
            .map(|(code, _)| (*code).to_owned())
            .collect(),
        _ => return None,
    })
}

/// An enum's codes, as its reader lists them when refusing one it does not know.
fn codes_of<T: DeserializeOwned>() -> Vec<String> {
    let Err(e) = serde_json::from_value::<T>(Value::String("\u{1}".into())) else {
        return Vec::new();
    };
    let message = e.to_string();
    let expected = message.split_once("expected").map_or("", |(_, e)| e);
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// What a form sent: names and values, in the order sent (a name repeats for rows and boxes).
pub type Sent = [(String, String)];

/// Every value sent under `name`, in order (empty when absent).
fn values_of(sent: &Sent, name: &str) -> Vec<String> {
    sent.iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The message file, as JSON, that a form's `sent` values say: a text as typed, an empty
/// code or number left out (the file's default), a box as ticked or not, rows and codes
/// without empty ones, a group with nothing filled in left out. Nothing is checked here: the
/// file's parser does that, naming the field.
pub fn to_json(fields: &[Field], sent: &Sent) -> Value {
    Value::Object(object(fields, "", sent))
}

fn object(fields: &[Field], prefix: &str, sent: &Sent) -> Map<String, Value> {
    let mut map = Map::new();
    for field in fields {
        let path = format!("{prefix}{}", field.path);
        if let Some(value) = value(field, &path, sent) {
            map.insert(field.name.clone(), value);
        }
    }
    map
}

fn first(sent: &Sent, path: &str) -> Option<String> {
    values_of(sent, path).into_iter().next()
}

fn value(field: &Field, path: &str, sent: &Sent) -> Option<Value> {
    match &field.input {
        Input::Text | Input::LongText | Input::Date => first(sent, path).map(Value::String),
        Input::Choice(_) => first(sent, path)
            .filter(|v| !v.is_empty())
            .map(Value::String),
        Input::Number => first(sent, path)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(|v| v.parse::<u64>().map_or(Value::String(v), Value::from)),
        Input::Check => Some(Value::Bool(
            values_of(sent, path)
                .iter()
                .any(|v| v == "true" || v == "on"),
        )),
        Input::Choices(_) | Input::Rows => Some(Value::Array(
            values_of(sent, path)
                .into_iter()
                .filter(|v| !v.trim().is_empty())
                .map(Value::String)
                .collect(),
        )),
        Input::Group(children) => {
            let group = object(children, "", sent);
            (!is_blank(&Value::Object(group.clone()))).then_some(Value::Object(group))
        }
        Input::Repeated(children) => {
            let rows: Vec<Value> = (0..MAX_ROWS)
                .map_while(|i| {
                    let prefix = format!("{path}[{i}].");
                    let present = children
                        .iter()
                        .any(|c| !values_of(sent, &format!("{prefix}{}", c.path)).is_empty());
                    present.then(|| Value::Object(object(children, &prefix, sent)))
                })
                .filter(|row| !is_blank(row))
                .collect();
            Some(Value::Array(rows))
        }
    }
}

/// Whether nothing of `value` was filled in (empty texts, unticked boxes, no codes).
fn is_blank(value: &Value) -> bool {
    match value {
        Value::String(s) => s.trim().is_empty(),
        Value::Bool(b) => !b,
        Value::Array(items) => items.iter().all(is_blank),
        Value::Object(map) => map.values().all(is_blank),
        Value::Null => true,
        Value::Number(_) => false,
    }
}

/// Every field of `fields`, groups opened, with its whole path; the fields of a repeated
/// group once, under `path[0]`.
pub fn flatten(fields: &[Field]) -> Vec<(String, &Field)> {
    let mut out = Vec::new();
    flatten_into(fields, "", &mut out);
    out
}

fn flatten_into<'a>(fields: &'a [Field], prefix: &str, out: &mut Vec<(String, &'a Field)>) {
    for field in fields {
        let path = format!("{prefix}{}", field.path);
        out.push((path.clone(), field));
        match &field.input {
            Input::Group(children) => flatten_into(children, "", out),
            Input::Repeated(children) => flatten_into(children, &format!("{path}[0]."), out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn find<'a>(fields: &'a [Field], path: &str) -> &'a Field {
        flatten(fields)
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, f)| f)
            .unwrap_or_else(|| panic!("no field {path}"))
    }

    #[test]
    fn every_kind_has_a_form_with_its_fields_in_the_files_order() {
        for kind in crate::message_file::KINDS {
            let fields = fields(kind).unwrap_or_else(|| panic!("{kind}"));
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names.first(), Some(&"to"), "{kind}");
            assert!(names.contains(&"language"), "{kind}");
            assert!(names.contains(kind), "{kind}: {names:?}");
        }
        let referral = fields("referral").expect("referral");
        assert_eq!(
            find(&referral, "referral.exploitation_types").input,
            Input::Choices(codes_of::<Exploitation>())
        );
        assert_eq!(
            find(&referral, "referral.person.age_years").input,
            Input::Number
        );
        assert_eq!(
            find(&referral, "referral.status_designated_at").input,
            Input::Date
        );
        assert_eq!(find(&referral, "referral.child").input, Input::Check);
        assert_eq!(
            find(&referral, "referral.indicators").input,
            Input::Choices(codes("indicators").expect("the shared list"))
        );
        assert_eq!(
            find(&referral, "referral.services_given").input,
            Input::Rows
        );
        assert!(
            !referral
                .iter()
                .any(|f| f.path == "referral.indicator_list_version"),
            "the node names the list's version, not the caseworker"
        );
        assert_eq!(
            find(&referral, "referral.consent.override_legal_basis").input,
            Input::LongText
        );
        assert!(matches!(
            find(&referral, "referral.consent").input,
            Input::Group(_)
        ));
        let supplied = fields("information_supplied").expect("supplied");
        assert!(matches!(
            find(&supplied, "information_supplied.answers").input,
            Input::Repeated(_)
        ));
        find(&supplied, "information_supplied.answers[0].answer");
        let response = fields("referral_response").expect("response");
        find(&response, "referral_response.reason");
        find(&response, "referral_response.missing_information");
        find(&referral, "referral.guardian.appointed_by");
        find(&referral, "referral.consent.child_view");
        assert_eq!(
            find(&referral, "referral.person.date_of_birth").input,
            Input::Date
        );
        let returns = fields("return_request").expect("return request");
        find(&returns, "return_request.guardian.role");
        find(&returns, "return_request.best_interest_determination");
    }

    #[test]
    fn codes_come_from_the_file_format() {
        assert_eq!(
            codes("decision"),
            Some(vec![
                "accepted".into(),
                "declined".into(),
                "needs_information".into()
            ])
        );
        assert_eq!(codes("handling_code").map(|c| c.len()), Some(4));
        assert!(codes("exploitation_types").is_some_and(|c| c.contains(&"forced_begging".into())));
        assert_eq!(codes("notes"), None);
    }

    #[test]
    fn a_filled_in_form_is_the_files_json_and_parses_like_the_file() {
        let fields = fields("referral").expect("referral");
        let form = sent(&[
            ("to", "astra@rs"),
            ("case_ref", "AT-LEFOE-2026-0042"),
            ("priority", "urgent"),
            ("language", "de"),
            ("referral.victim_status", "identified"),
            (
                "referral.status_designated_by",
                "Federal Criminal Intelligence Service",
            ),
            ("referral.status_designated_at", "2026-11-03"),
            ("referral.exploitation_types", "sexual"),
            ("referral.exploitation_types", "labour"),
            ("referral.indicators", "debt-bondage"),
            ("referral.services_given", "medical examination"),
            ("referral.services_given", ""),
            ("referral.person.age_years", "24"),
            ("referral.person.sex", ""),
            ("referral.person.nationality", "RS"),
            ("referral.person.literate", "true"),
            ("referral.guardian.appointed_by", ""),
            ("referral.guardian.role", ""),
            ("referral.consent.given", "true"),
            ("referral.consent.scope", "referral to Astra"),
            ("referral.consent.obtained_by_role", "caseworker"),
            ("referral.consent.obtained_at", "2026-11-05"),
            ("referral.consent.language", "sr"),
        ]);
        let json = to_json(&fields, form.as_slice());
        assert_eq!(
            json["referral"]["exploitation_types"],
            serde_json::json!(["sexual", "labour"])
        );
        assert_eq!(
            json["referral"]["indicators"],
            serde_json::json!(["debt-bondage"])
        );
        assert_eq!(
            json["referral"]["services_given"],
            serde_json::json!(["medical examination"]),
            "an empty row is left out"
        );
        assert_eq!(json["referral"]["person"]["age_years"], 24);
        assert_eq!(json["referral"]["person"]["interpreter_needed"], false);
        assert!(json["referral"]["person"].get("sex").is_none());
        assert!(
            json["referral"].get("guardian").is_none(),
            "an empty optional group is left out"
        );
        let (request, _) =
            crate::message_file::send_request("referral", &json.to_string(), true).expect("valid");
        assert_eq!(request.body.map(|b| b.text_language), Some("de".into()));

        let mut wrong = form.clone();
        for (name, value) in &mut wrong {
            if name == "referral.person.age_years" {
                *value = "twenty".into();
            }
        }
        let json = to_json(&fields, wrong.as_slice());
        let error = crate::message_file::send_request("referral", &json.to_string(), true)
            .expect_err("a word for a number");
        assert_eq!(error.field, "referral.person.age_years");
        assert_eq!(error.problem.key(), "wrong-type");
    }

    #[test]
    fn repeated_groups_are_read_row_by_row() {
        let fields = fields("information_supplied").expect("supplied");
        let form = sent(&[
            ("to", "astra@rs"),
            ("case_ref", "AT-LEFOE-2026-0042"),
            ("information_supplied.referral_message_id", "abc"),
            (
                "information_supplied.answers[0].missing_information",
                "languages",
            ),
            ("information_supplied.answers[0].answer", "Serbian"),
            ("information_supplied.answers[1].missing_information", ""),
            ("information_supplied.answers[1].answer", ""),
            (
                "information_supplied.answers[2].missing_information",
                "family",
            ),
            ("information_supplied.answers[2].answer", "not told"),
        ]);
        let json = to_json(&fields, form.as_slice());
        let answers = json["information_supplied"]["answers"]
            .as_array()
            .expect("rows");
        assert_eq!(answers.len(), 2, "{json}");
        assert_eq!(answers[1]["answer"], "not told");
    }
}
