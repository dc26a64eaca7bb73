//! The OpenAPI document: the one served is the one committed, and every operation in it, called
//! by a role the table permits, answers with a status it documents, in a media type it
//! documents for that status, with a JSON body of the documented shape.

use anyhow::Context;
use serde_json::Value;
use trm_node::accounts::{Role, permitted};

use super::client::Who;
use super::matrix::calls;
use super::setup;

/// `schema` with its `$ref` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/components/schemas/")
            .map_or(&Value::Null, |name| &doc["components"]["schemas"][name]),
        None => schema,
    }
}

/// Whether `value` has the JSON type `kind`.
fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// The places `value` differs from `schema` (types, required properties, items), at `at`.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| has_type(value, k)) {
        out.push(format!("{at}: {value} is not {kinds:?}"));
        return;
    }
    if let (Some(required), Some(object)) = (schema["required"].as_array(), value.as_object()) {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                out.push(format!("{at}: no {name}"));
            }
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (name, property) in properties {
            if let Some(inner) = object.get(name).filter(|v| !v.is_null()) {
                mismatches(doc, property, inner, &format!("{at}.{name}"), out);
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            mismatches(doc, items, item, &format!("{at}[{i}]"), out);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_the_committed_one_and_every_operation_answers_as_documented()
-> anyhow::Result<()> {
    let node = setup::start().await?;
    let served = node
        .api
        .call(&Who::nobody(), "GET", "/openapi.json", None)
        .await?;
    assert_eq!(served.status, 200);
    let committed_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(committed_path)?)?;
    let doc = served.json();
    assert_eq!(
        doc, committed,
        "docs/openapi.json is not what the node serves"
    );
    assert_eq!(doc["openapi"], "3.1.0");

    let caseworker = setup::sign_in(&node, Role::Caseworker).await?;
    let sent = node
        .api
        .call(
            &caseworker,
            "POST",
            "/api/v1/send/referral",
            Some(&setup::referral_json()?),
        )
        .await?;
    anyhow::ensure!(sent.status == 201, "{}", sent.text());
    let id = sent.json()["message_id"].as_str().context("id")?.to_owned();
    let case_ref = sent.json()["case_ref"].as_str().context("case")?.to_owned();
    let mut sessions = Vec::new();
    for role in Role::ALL {
        sessions.push((role, setup::sign_in(&node, role).await?));
    }

    let mut problems = Vec::new();
    let mut checked = 0;
    for call in calls(&doc, &id, &case_ref)? {
        let Some((_, who)) = sessions
            .iter()
            .find(|(role, _)| call.actions.iter().all(|a| permitted(*role, *a)))
        else {
            continue;
        };
        let answer = node
            .api
            .call(who, &call.method, &call.path, call.body.as_ref())
            .await?;
        let template = &doc["paths"][&call.template][call.method.to_lowercase()];
        let what = format!("{} {}", call.method, call.path);
        let Some(response) = template["responses"].get(answer.status.to_string()) else {
            problems.push(format!(
                "{what}: undocumented status {} {}",
                answer.status,
                answer.text()
            ));
            continue;
        };
        let content_type = answer.content_type();
        match response["content"].as_object() {
            None if answer.body.is_empty() => {}
            None => problems.push(format!("{what}: a body where none is documented")),
            Some(content) => match content.get(&content_type) {
                None => problems.push(format!(
                    "{what}: {content_type} is not documented for {}",
                    answer.status
                )),
                Some(media) if content_type.ends_with("json") => {
                    mismatches(
                        &doc,
                        &media["schema"],
                        &answer.json(),
                        "body",
                        &mut problems,
                    );
                }
                Some(_) => {}
            },
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} operations checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}
