//! The test that makes forgetting a field impossible: for every message kind (every case of
//! the body's `content` oneof), a message with every field filled with a distinct value is
//! encoded, decoded as the node decodes it, and viewed; every value must appear in the text
//! and, at its field's key, in the JSON. A view that drops a field is caught by name.

use jiff::tz::TimeZone;
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value as Reflected};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use trm_proto::pb;
use trm_view::{Facts, View, labels, walk};

/// A time that is not midnight, so it is shown with its hour.
const BASE_MS: u64 = 1_795_946_400_000;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// What must be seen of one filled-in value.
#[derive(Debug)]
struct Expected {
    /// The field's key in the view.
    key: String,
    /// What the JSON field (or one of its list items) holds as `value` (`sha256` for bytes).
    json: Json,
    /// What the text must contain; for a boolean the label's line ends in "yes".
    text: String,
    /// Whether the value is a boolean (checked by its labelled line).
    boolean: bool,
}

/// Fills every field of `message`, two values for a repeated field, recording what must be
/// seen. `n` makes every value distinct.
fn fill(
    message: &MessageDescriptor,
    prefix: &str,
    n: &mut u64,
    expected: &mut Vec<Expected>,
) -> DynamicMessage {
    let mut dynamic = DynamicMessage::new(message.clone());
    for field in message.fields() {
        let key = format!("{prefix}.{}", walk::key_name(&field));
        let count = if field.is_list() { 2 } else { 1 };
        let values: Vec<Reflected> = (0..count).map(|_| one(&field, &key, n, expected)).collect();
        let value = if field.is_list() {
            Reflected::List(values)
        } else {
            values.into_iter().next().expect("one value")
        };
        dynamic.set_field(&field, value);
    }
    dynamic
}

fn one(field: &FieldDescriptor, key: &str, n: &mut u64, expected: &mut Vec<Expected>) -> Reflected {
    *n += 1;
    let i = *n;
    let mut expect = |json: Json, text: String, boolean: bool| {
        expected.push(Expected {
            key: key.to_owned(),
            json,
            text,
            boolean,
        });
    };
    match field.kind() {
        Kind::Message(inner) => Reflected::Message(fill(&inner, key, n, expected)),
        Kind::String => {
            let s = format!("v-{}-{i}", field.name());
            expect(Json::from(s.clone()), s.clone(), false);
            Reflected::String(s)
        }
        Kind::Bool => {
            expect(Json::Bool(true), "yes".into(), true);
            Reflected::Bool(true)
        }
        Kind::Enum(e) => {
            let values: Vec<_> = e.values().filter(|v| v.number() != 0).collect();
            let index = usize::try_from(i).expect("small") % values.len();
            let v = &values[index];
            expect(Json::from(labels::spelling(v)), labels::meaning(v), false);
            Reflected::EnumNumber(v.number())
        }
        Kind::Bytes => {
            let bytes = format!("bytes-{}-{i}", field.name()).into_bytes();
            let digest = if field.name().ends_with("sha256") {
                hex::encode(&bytes)
            } else {
                hex::encode(Sha256::digest(&bytes))
            };
            expect(Json::from(digest.clone()), digest, false);
            Reflected::Bytes(bytes.into())
        }
        Kind::Uint32 | Kind::Uint64 => {
            let entry = labels::field(field.full_name());
            let number = if field.name().ends_with("_ms") {
                let ms = BASE_MS + i * DAY_MS + i * 60_000;
                expect(
                    Json::from(trm_view::time::rfc3339(ms)),
                    trm_view::time::text(ms, &TimeZone::UTC),
                    false,
                );
                ms
            } else if let Some((code, meaning)) = entry.and_then(|e| {
                e.codes
                    .get(usize::try_from(i).expect("small") % e.codes.len().max(1))
            }) {
                expect(Json::from(code.to_string()), (*meaning).to_owned(), false);
                *code
            } else {
                let number = 100 + i;
                expect(Json::from(number), number.to_string(), false);
                number
            };
            if matches!(field.kind(), Kind::Uint32) {
                Reflected::U32(u32::try_from(number).expect("small"))
            } else {
                Reflected::U64(number)
            }
        }
        other => panic!("{key}: no filler for {other:?}; add one"),
    }
}

/// Every field object with `key` in a view's JSON, at any depth.
fn at_key<'a>(json: &'a Json, key: &str, found: &mut Vec<&'a Json>) {
    match json {
        Json::Object(map) => {
            if map.get("key").and_then(Json::as_str) == Some(key) {
                found.push(json);
            }
            map.values().for_each(|v| at_key(v, key, found));
        }
        Json::Array(items) => items.iter().for_each(|v| at_key(v, key, found)),
        _ => {}
    }
}

/// Whether a field object (or one of its list items) holds `want`.
fn holds(field: &Json, want: &Json) -> bool {
    let direct = field.get("value") == Some(want) || field.get("sha256") == Some(want);
    let items = field
        .get("items")
        .and_then(Json::as_array)
        .is_some_and(|items| items.iter().any(|item| holds(item, want)));
    direct || items
}

/// The problems of a view's text and JSON against what was filled in: one line per value not
/// seen, naming its key. Empty when everything is there.
fn check(expected: &[Expected], text: &str, json: &Json) -> Vec<String> {
    let mut problems = Vec::new();
    for e in expected {
        let mut found = Vec::new();
        at_key(json, &e.key, &mut found);
        if !found.iter().any(|f| holds(f, &e.json)) {
            problems.push(format!("{}: {} not in the JSON", e.key, e.json));
        }
        let in_text = if e.boolean {
            let label = found
                .first()
                .and_then(|f| f.get("label"))
                .and_then(Json::as_str)
                .unwrap_or("(no label)");
            text.lines().any(|line| {
                let line = line.trim();
                line.starts_with(label) && line.ends_with(&e.text)
            })
        } else {
            text.contains(&e.text)
        };
        if !in_text {
            problems.push(format!("{}: {:?} not in the text", e.key, e.text));
        }
    }
    problems
}

/// A body with the content case `case` filled in, encoded and decoded as the node does, and
/// what must be seen of it.
fn filled(case: &FieldDescriptor) -> (pb::Body, Vec<Expected>) {
    let Kind::Message(content) = case.kind() else {
        panic!("{} is not a message", case.name());
    };
    let mut expected = Vec::new();
    let mut n = 0;
    let inner = fill(&content, case.name(), &mut n, &mut expected);
    let mut body = DynamicMessage::new(walk::body_descriptor().expect("descriptors"));
    body.set_field(case, Reflected::Message(inner));
    let kind = trm_proto::kinds::SENT
        .iter()
        .chain([&trm_proto::kinds::WITNESS_REQUEST])
        .find(|k| k.name == case.name())
        .map_or(0, |k| i32::from(k.kind));
    body.set_field_by_name("kind", Reflected::EnumNumber(kind));
    let bytes = body.encode_to_vec();
    let decoded = pb::Body::decode(bytes.as_slice()).expect("the node's types decode it");
    (decoded, expected)
}

fn view_of(body: &pb::Body) -> View {
    trm_view::view(body, &Facts::default()).expect("a view")
}

#[test]
fn every_field_of_every_kind_is_in_the_text_and_the_json() {
    let cases = walk::content_cases().expect("descriptors");
    assert!(cases.len() >= 10, "every kind is a case: {}", cases.len());
    let mut values = 0;
    for case in &cases {
        let (body, expected) = filled(case);
        assert!(!expected.is_empty(), "{}: nothing filled", case.name());
        values += expected.len();
        let view = view_of(&body);
        assert_eq!(view.kind, case.name());
        let text = trm_view::text::view(&view, &TimeZone::UTC);
        if std::env::var_os("TRM_VIEW_SHOW").is_some() {
            println!("{text}\n{:#}", view.to_json());
        }
        let problems = check(&expected, &text, &view.to_json());
        assert!(
            problems.is_empty(),
            "{}:\n{}\n--- text ---\n{text}",
            case.name(),
            problems.join("\n")
        );
    }
    // Every leaf of every kind was checked (a referral alone has more than 40).
    assert!(values > 150, "{values} values checked");
}

/// Removes the field with `key` wherever it is.
fn drop_field(fields: &mut Vec<trm_view::Field>, key: &str) {
    fields.retain(|f| f.key != key);
    for f in fields.iter_mut() {
        match &mut f.value {
            trm_view::Value::Group { fields } => drop_field(fields, key),
            trm_view::Value::List { items } => {
                for item in items {
                    if let trm_view::Value::Group { fields } = item {
                        drop_field(fields, key);
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn a_view_that_drops_a_field_is_caught_by_name() {
    let cases = walk::content_cases().expect("descriptors");
    let case = cases
        .iter()
        .find(|c| c.name() == "referral")
        .expect("the referral is a case");
    let (body, expected) = filled(case);
    for dropped in [
        "referral.person.date_of_birth",
        "referral.consent.child_view",
        "referral.exploitation_types",
    ] {
        let mut view = view_of(&body);
        drop_field(&mut view.fields, dropped);
        let text = trm_view::text::view(&view, &TimeZone::UTC);
        let problems = check(&expected, &text, &view.to_json());
        assert!(!problems.is_empty(), "{dropped} dropped, nothing found");
        assert!(
            problems
                .iter()
                .all(|p| p.starts_with(&format!("{dropped}:"))),
            "{dropped}: {problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("not in the JSON"))
                && problems.iter().any(|p| p.contains("not in the text")),
            "{dropped}: {problems:?}"
        );
    }
}

#[test]
fn a_message_the_label_table_does_not_know_is_still_shown_whole() {
    // As a new kind or field of a newer .proto would be: every field under a label made from
    // its name, rather than left out.
    let pool = walk::pool().expect("descriptors");
    let unknown = pool
        .get_message_by_name("trm.v1.EnvelopeHeader")
        .expect("a message with no labels");
    assert!(
        unknown
            .fields()
            .all(|f| labels::field(f.full_name()).is_none())
    );
    let mut expected = Vec::new();
    let message = fill(&unknown, "new_kind", &mut 0, &mut expected);
    let fields = walk::fields(&message, "new_kind");
    let view = View {
        kind: "new_kind".into(),
        title: "New kind".into(),
        header: Vec::new(),
        fields,
    };
    let text = trm_view::text::view(&view, &TimeZone::UTC);
    assert_eq!(
        check(&expected, &text, &view.to_json()),
        Vec::<String>::new()
    );
    assert!(text.contains("Created at  "), "{text}");
    assert_eq!(
        view.find("new_kind.message_id").map(|f| f.label.as_str()),
        Some("Message id")
    );
}
