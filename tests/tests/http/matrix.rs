//! The permission matrix: every operation of the served OpenAPI document, as every role, and
//! with no session, a session left unused past the node's idle expiry, a signed-out session, a
//! wrong CSRF token and a revoked token, answers as
//! the permission table (`permitted()`) says. The action each operation needs is read from
//! the document (`x-trm-action`), so the test follows the table and the document both.

use anyhow::Context;
use serde_json::{Value, json};
use trm_node::accounts::{Action, Role, permitted};
use trm_proto::pb;
use trm_tests::fixtures::{ASTRA, CANARY};

use super::client::{Answer, Who};
use super::setup;

/// One call to make: method, address, body, and the actions it needs.
pub struct Call {
    /// GET, POST or DELETE.
    pub method: String,
    /// The address with its parameters filled in.
    pub path: String,
    /// The JSON body, for POST.
    pub body: Option<Value>,
    /// Every action it needs.
    pub actions: Vec<Action>,
    /// The operation's address in the document.
    pub template: String,
}

fn action(name: &str) -> anyhow::Result<Action> {
    Action::ALL
        .into_iter()
        .find(|a| a.name() == name)
        .with_context(|| format!("no action {name}"))
}

/// A message file of `kind` for the matrix: the template, to Astra, in a case of its own, with
/// no attachments.
fn form(kind: &str) -> anyhow::Result<Value> {
    let mut json = setup::template_json(kind)?;
    json["to"] = ASTRA.into();
    json["case_ref"] = "AT-LEFOE-2026-0777".into();
    if let Some(table) = json.get_mut(kind).and_then(Value::as_object_mut)
        && table.contains_key("attachments")
    {
        table.insert("attachments".into(), json!([]));
    }
    Ok(json)
}

/// A valid body for the POST at `path` (other than a send): what an administrator's own
/// endpoints take, else a collection's purpose (which bodiless endpoints ignore).
fn body_for(path: &str) -> Value {
    match path {
        "/api/v1/accounts" => json!({
            "name": "matrix-added",
            "roles": ["caseworker"],
            "password": setup::PASSWORD,
        }),
        "/api/v1/accounts/{name}/password" => json!({ "password": setup::PASSWORD }),
        "/api/v1/tokens" => json!({ "name": "matrix", "roles": ["caseworker"] }),
        "/api/v1/webhooks" => json!({ "url": "http://127.0.0.1:9/matrix" }),
        _ => json!({ "purpose": "permission matrix" }),
    }
}

/// Whether a form anywhere overrides consent on a legal basis (which needs
/// [`Action::OverrideConsent`] too, as the operation's description says).
fn overrides_consent(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| {
            (key == "override_legal_basis" && v.as_str().is_some_and(|s| !s.is_empty()))
                || overrides_consent(v)
        }),
        Value::Array(list) => list.iter().any(overrides_consent),
        _ => false,
    }
}

/// Every call the document lists, parameters filled in with `id` and `case_ref`.
pub fn calls(doc: &Value, id: &str, case_ref: &str) -> anyhow::Result<Vec<Call>> {
    let mut calls = Vec::new();
    let paths = doc["paths"].as_object().context("no paths")?;
    for (path, item) in paths {
        for (method, op) in item.as_object().context("path item")? {
            let Some(needs) = op.get("x-trm-action") else {
                continue;
            };
            let filled = path
                .replace("{id}", id)
                .replace("{number}", "1")
                .replace("{case_ref}", case_ref)
                .replace("{name}", "matrix-nobody");
            match needs {
                Value::String(name) => calls.push(Call {
                    method: method.to_uppercase(),
                    path: filled,
                    body: (method == "post").then(|| body_for(path)),
                    actions: vec![action(name)?],
                    template: path.clone(),
                }),
                Value::Object(by_kind) => {
                    for (kind, name) in by_kind {
                        let body = form(kind)?;
                        let mut actions = vec![action(name.as_str().context("action name")?)?];
                        if overrides_consent(&body) {
                            actions.push(Action::OverrideConsent);
                        }
                        calls.push(Call {
                            method: method.to_uppercase(),
                            path: filled.replace("{kind}", kind),
                            body: Some(body),
                            actions,
                            template: path.clone(),
                        });
                    }
                }
                other => anyhow::bail!("{path}: x-trm-action {other}"),
            }
        }
    }
    Ok(calls)
}

/// Whether the answer is the refusal of a role that may not.
fn is_role_refusal(answer: &Answer) -> bool {
    is_problem(answer, 403) && answer.json()["type"] == "urn:trm:problem:role-missing"
}

/// Whether the answer is a problem of `status`.
fn is_problem(answer: &Answer, status: u16) -> bool {
    answer.status == status
        && answer.content_type() == "application/problem+json"
        && answer.json()["status"] == status
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_answers_every_role_and_every_bad_credential_as_the_table_says()
-> anyhow::Result<()> {
    let node = setup::start().await?;
    // A session left unused past the idle expiry (the node's `[accounts]` table) has ended.
    let expired = setup::sign_in(&node, Role::Caseworker).await?;
    let alive = node
        .api
        .call(&expired, "GET", "/api/v1/inbox", None)
        .await?;
    assert_eq!(alive.status, 200, "{}", alive.text());
    tokio::time::sleep(std::time::Duration::from_secs(setup::IDLE_SESSION_SECS + 1)).await;

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
    anyhow::ensure!(sent.status == 201, "send: {} {}", sent.status, sent.text());
    let id = sent.json()["message_id"].as_str().context("id")?.to_owned();
    let case_ref = sent.json()["case_ref"].as_str().context("case")?.to_owned();
    let doc = node
        .api
        .call(&Who::nobody(), "GET", "/openapi.json", None)
        .await?
        .json();
    let calls = calls(&doc, &id, &case_ref)?;
    assert!(calls.len() >= 20, "{} calls", calls.len());

    let mut signed_in = Vec::new();
    for role in Role::ALL {
        signed_in.push((role, setup::sign_in(&node, role).await?));
    }
    let signed_out = setup::sign_in(&node, Role::Caseworker).await?;
    let out = node
        .api
        .call(&signed_out, "DELETE", "/api/v1/session", None)
        .await?;
    assert_eq!(out.status, 204, "{}", out.text());
    let mut accounts = setup::accounts(&node.socket).await?;
    let issued = accounts
        .issue_token(pb::IssueTokenRequest {
            name: "cms".into(),
            roles: vec!["caseworker".into()],
            expires_at_ms: 0,
        })
        .await?
        .into_inner();
    let listed = accounts
        .list_tokens(pb::ListTokensRequest {})
        .await?
        .into_inner();
    let token_id = listed.tokens.first().context("no token listed")?.id.clone();
    accounts
        .revoke_token(pb::RevokeTokenRequest { id: token_id })
        .await?;
    let revoked = Who::token(&issued.token);

    let mut failures = Vec::new();
    for call in &calls {
        let what = format!("{} {}", call.method, call.path);
        for (role, who) in &signed_in {
            let answer = node
                .api
                .call(who, &call.method, &call.path, call.body.as_ref())
                .await?;
            let allowed = call.actions.iter().all(|a| permitted(*role, *a));
            let ok = if allowed {
                answer.status != 401 && !is_role_refusal(&answer)
            } else {
                is_role_refusal(&answer)
            };
            if !ok {
                failures.push(format!(
                    "{what} as {role}: {} {}",
                    answer.status,
                    answer.text()
                ));
            }
            if *role == Role::Coordinator || *role == Role::Administrator {
                assert!(
                    !answer.text().contains(CANARY),
                    "{what} as {role} gave content"
                );
            }
        }
        let body = call.body.as_ref();
        let nobody = node
            .api
            .call(&Who::nobody(), &call.method, &call.path, body)
            .await?;
        let gone = node
            .api
            .call(&signed_out, &call.method, &call.path, body)
            .await?;
        let idle = node
            .api
            .call(&expired, &call.method, &call.path, body)
            .await?;
        let token = node
            .api
            .call(&revoked, &call.method, &call.path, body)
            .await?;
        for (case, answer) in [
            ("no session", nobody),
            ("expired session", idle),
            ("signed out", gone),
            ("revoked token", token),
        ] {
            if !is_problem(&answer, 401) {
                failures.push(format!(
                    "{what} with {case}: {} {}",
                    answer.status,
                    answer.text()
                ));
            }
        }
        if call.method != "GET" {
            let mut forged = caseworker.clone();
            forged.csrf = Some("not-the-token".into());
            let answer = node
                .api
                .call(&forged, &call.method, &call.path, body)
                .await?;
            if !is_problem(&answer, 403) {
                failures.push(format!("{what} with a wrong CSRF token: {}", answer.status));
            }
            forged.csrf = None;
            let answer = node
                .api
                .call(&forged, &call.method, &call.path, body)
                .await?;
            if !is_problem(&answer, 403) {
                failures.push(format!("{what} without a CSRF token: {}", answer.status));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The same content a caseworker reads is there, so its absence above means something.
    let shown = node
        .api
        .call(&caseworker, "GET", &format!("/api/v1/messages/{id}"), None)
        .await?;
    assert!(shown.text().contains(CANARY), "{}", shown.text());
    drop(node);
    Ok(())
}
