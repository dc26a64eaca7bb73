//! The console's message forms over HTTPS without a browser, against a real `trm-node`
//! process and a real partner: a referral typed into the form arrives at the partner whole,
//! with the language of its free text; a wrong value, a broken rule or a missing CSRF token
//! shows the error beside its field and sends nothing (the handover log does not grow); an
//! "add a row" button only draws the form again; the withdrawal of consent sends only when its
//! second step is confirmed; the directory lists the partner. Files sent with a form meet the
//! checks of `trm send --attach`, and a path typed into a form never names a file on the node.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use trm_node::accounts::Role;
use trm_proto::pb;
use trm_tests::fixtures::{ASTRA, LEFOE};
use trm_tests::web::{self, Answer, ConsoleSession, ORIGIN, WebNode, console_sign_in, name_of};

/// The form fields that fill in `value` (a message file as JSON) under `prefix`.
fn form_of(value: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                form_of(v, &path, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(_) => form_of(item, &format!("{prefix}[{i}]"), out),
                    other => form_of(other, prefix, out),
                }
            }
        }
        Value::Bool(true) => out.push((prefix.to_owned(), "true".to_owned())),
        Value::Bool(false) | Value::Null => {}
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
    }
}

/// The referral template as the form sends it, to Astra, in German, with `csrf`.
fn referral_form(csrf: &str) -> anyhow::Result<Vec<(String, String)>> {
    let text = trm_forms::message_file::template("referral").context("no template")?;
    let mut json = serde_json::to_value(toml::from_str::<toml::Value>(text)?)?;
    json["to"] = ASTRA.into();
    json["language"] = "de".into();
    json["referral"]["attachments"] = Value::Array(Vec::new());
    let mut out = vec![("_csrf".to_owned(), csrf.to_owned())];
    form_of(&json, "", &mut out);
    Ok(out)
}

fn set(form: &mut [(String, String)], name: &str, value: &str) {
    for (n, v) in form.iter_mut() {
        if n == name {
            *v = value.to_owned();
        }
    }
}

async fn post(
    node: &WebNode,
    session: &ConsoleSession,
    path: &str,
    form: &[(String, String)],
) -> anyhow::Result<Answer> {
    let fields: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    node.api.form(path, &session.cookies, ORIGIN, &fields).await
}

#[tokio::test]
async fn a_referral_typed_into_the_form_arrives_and_wrong_values_send_nothing() -> anyhow::Result<()>
{
    let node = web::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_node-process")),
        600,
    )
    .await?;
    let session = console_sign_in(&node, &name_of(Role::Caseworker)).await?;

    let page = node.api.page("/compose/referral", &session.cookies).await?;
    assert_eq!(page.status, 200);
    let text = page.text();
    for id in [
        "id=\"referral.person.age_years\"",
        "name=\"referral.person.age_years\"",
        "id=\"referral.exploitation_types-sexual\"",
        "id=\"referral.guardian.appointed_by\"",
        "id=\"referral.consent.child_view\"",
        "id=\"referral.consent.override_legal_basis\"",
        "id=\"referral.risk_assessment.level\"",
        "id=\"referral.handling_code\"",
        "id=\"language\"",
    ] {
        assert!(text.contains(id), "the referral form lacks {id}");
    }
    let before = web::sent_count(&node.socket).await?;

    // A wrong value: the error beside the field, the value kept, nothing sent.
    let mut wrong = referral_form(&session.csrf)?;
    set(&mut wrong, "referral.person.nationality", "Serbia");
    let answer = post(&node, &session, "/compose/referral", &wrong).await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    let text = answer.text();
    assert!(
        text.contains("id=\"referral.person.nationality-error\""),
        "{text}"
    );
    assert!(text.contains("aria-describedby=\"referral.person.nationality-error\""));
    assert!(text.contains("id=\"error-summary\""));
    assert!(text.contains("href=\"#referral.person.nationality\""));
    assert!(text.contains("value=\"Serbia\""), "the value typed is kept");
    assert_eq!(
        web::sent_count(&node.socket).await?,
        before,
        "a refused form sends nothing"
    );

    // A word where a number belongs: the same check as a file's, beside the field.
    let mut word = referral_form(&session.csrf)?;
    set(&mut word, "referral.person.age_years", "twenty-four");
    let answer = post(&node, &session, "/compose/referral", &word).await?;
    assert_eq!(answer.status, 422);
    assert!(
        answer
            .text()
            .contains("id=\"referral.person.age_years-error\"")
    );

    // An indicator that is not on the shared list (a forged box): refused beside the list.
    let mut forged_box = referral_form(&session.csrf)?;
    set(&mut forged_box, "referral.indicators", "I-12");
    let answer = post(&node, &session, "/compose/referral", &forged_box).await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(answer.text().contains("id=\"referral.indicators-error\""));
    assert_eq!(web::sent_count(&node.socket).await?, before);

    // The node's own rule: no consent and no legal basis.
    let mut no_consent = referral_form(&session.csrf)?;
    no_consent.retain(|(n, _)| n != "referral.consent.given");
    let answer = post(&node, &session, "/compose/referral", &no_consent).await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(
        answer.text().contains("id=\"referral.consent-error\""),
        "{}",
        answer.text()
    );
    assert_eq!(web::sent_count(&node.socket).await?, before);

    // Without the CSRF token: refused before the handler, nothing sent.
    let mut forged = referral_form(&session.csrf)?;
    forged.retain(|(n, _)| n != "_csrf");
    let answer = post(&node, &session, "/compose/referral", &forged).await?;
    assert_eq!(answer.status, 403);
    assert_eq!(web::sent_count(&node.socket).await?, before);

    // "Add a row" draws the form again with one more row, and sends nothing.
    let mut adding = referral_form(&session.csrf)?;
    adding.push(("_add".into(), "referral.services_given".into()));
    let answer = post(&node, &session, "/compose/referral", &adding).await?;
    assert_eq!(answer.status, 200);
    assert!(
        answer.text().contains("id=\"referral.services_given-3\""),
        "a fourth row"
    );
    assert_eq!(web::sent_count(&node.socket).await?, before);

    // The whole referral: sent, to the case's page, and at Astra whole, in German.
    let good = referral_form(&session.csrf)?;
    let answer = post(&node, &session, "/compose/referral", &good).await?;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let location = answer.header("location");
    assert!(
        location.starts_with("/cases/AT-LEFOE-2026-0042?counterparty=astra%40marri&sent="),
        "{location}"
    );
    assert_eq!(web::sent_count(&node.socket).await?, before + 1);
    let mut astra = node.fed.client(ASTRA).await?;
    let mut received = None;
    for _ in 0..60 {
        let inbox = astra
            .inbox(pb::InboxRequest { limit: 10 })
            .await?
            .into_inner();
        if let Some(m) = inbox.messages.iter().find(|m| m.from == LEFOE) {
            received = Some(m.message_id.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let id = received.context("the referral did not reach Astra")?;
    let shown = astra
        .show(pb::ShowRequest { message_id: id })
        .await?
        .into_inner();
    let body = shown.body.context("no content")?;
    assert_eq!(body.text_language, "de");
    match body.content {
        Some(pb::body::Content::Referral(r)) => {
            assert_eq!(r.person.map(|p| p.nationality), Some("RS".into()));
            assert_eq!(
                r.exploitation_types,
                vec![pb::ExploitationType::Sexual as i32]
            );
            assert!(r.consent.is_some_and(|c| c.given));
            // Ticked boxes of the shared list, which the node names.
            assert_eq!(
                r.indicators,
                [
                    "deceptive-recruitment",
                    "debt-bondage",
                    "document-retention"
                ]
            );
            assert_eq!(r.indicator_list_version, trm_proto::indicators::VERSION);
        }
        other => anyhow::bail!("not a referral: {other:?}"),
    }

    // Withdrawal of consent: step one says what is erased where, step two confirms.
    let path = "/cases/AT-LEFOE-2026-0042/withdraw-consent?counterparty=astra%40marri";
    let page = node.api.page(path, &session.cookies).await?;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"what-is-erased\""));
    let step = vec![
        ("_csrf".to_owned(), session.csrf.clone()),
        (
            "consent_withdrawal.withdrawn_at".to_owned(),
            "2026-12-01".to_owned(),
        ),
        (
            "consent_withdrawal.recorded_by_role".to_owned(),
            "LEFÖ-IBF caseworker".to_owned(),
        ),
    ];
    let sent_before = web::sent_count(&node.socket).await?;
    let answer = post(&node, &session, path, &step).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("id=\"confirm-withdrawal\""));
    assert_eq!(
        web::sent_count(&node.socket).await?,
        sent_before,
        "step one sends nothing"
    );
    let mut confirmed = step.clone();
    confirmed.push(("_confirm".into(), "1".into()));
    let answer = post(&node, &session, path, &confirmed).await?;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(web::sent_count(&node.socket).await?, sent_before + 1);

    // The directory lists the partner with a link to refer a case to it.
    let page = node
        .api
        .page("/directory?country=", &session.cookies)
        .await?;
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&format!("id=\"partner-{ASTRA}\"")));
    Ok(())
}

/// Files in a form: a file whose name is a path, a file over the node's limit, a kind that
/// carries no files and a path typed where files go are each refused beside the file field and
/// send nothing; a good file arrives at the partner byte for byte.
#[tokio::test]
async fn files_sent_with_a_form_are_checked_like_the_files_of_trm_send() -> anyhow::Result<()> {
    let node = web::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_node-process")),
        600,
    )
    .await?;
    let session = console_sign_in(&node, &name_of(Role::Caseworker)).await?;
    let page = node.api.page("/compose/referral", &session.cookies).await?;
    let text = page.text();
    assert!(text.contains("enctype=\"multipart/form-data\""), "{text}");
    assert!(
        text.contains("id=\"referral.attachments\" name=\"referral.attachments\" type=\"file\"")
    );
    let form = referral_form(&session.csrf)?;
    let fields: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let send = |files: Vec<(&'static str, &'static str, Vec<u8>)>| {
        let fields = fields.clone();
        let node = &node;
        let session = &session;
        async move {
            let files: Vec<(&str, &str, &[u8])> = files
                .iter()
                .map(|(n, f, b)| (*n, *f, b.as_slice()))
                .collect();
            node.api
                .multipart(
                    "/compose/referral",
                    &session.cookies,
                    ORIGIN,
                    &fields,
                    &files,
                )
                .await
        }
    };
    let before = web::sent_count(&node.socket).await?;

    // A file name that is a path.
    let answer = send(vec![(
        "referral.attachments",
        "../../etc/passwd",
        b"x".to_vec(),
    )])
    .await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(
        answer.text().contains("id=\"referral.attachments-error\""),
        "{}",
        answer.text()
    );
    // A file over the node's limit for one file (2 MiB by default).
    let answer = send(vec![(
        "referral.attachments",
        "scan.pdf",
        vec![0u8; 2 * 1024 * 1024 + 1],
    )])
    .await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(answer.text().contains("id=\"referral.attachments-error\""));
    // A path typed where the files go never names a file on the node.
    let mut typed = form.clone();
    typed.push(("referral.attachments".into(), "/etc/hostname".into()));
    let answer = post(&node, &session, "/compose/referral", &typed).await?;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(answer.text().contains("id=\"referral.attachments-error\""));
    assert_eq!(
        web::sent_count(&node.socket).await?,
        before,
        "nothing was sent"
    );

    // A good file: sent, and at Astra byte for byte.
    let pdf = b"%PDF-1.4 consent".to_vec();
    let answer = send(vec![(
        "referral.attachments",
        "Einwilligung.pdf",
        pdf.clone(),
    )])
    .await?;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(web::sent_count(&node.socket).await?, before + 1);
    let mut astra = node.fed.client(ASTRA).await?;
    for _ in 0..60 {
        let inbox = astra
            .inbox(pb::InboxRequest { limit: 10 })
            .await?
            .into_inner();
        if let Some(m) = inbox.messages.iter().find(|m| m.from == LEFOE) {
            let shown = astra
                .show(pb::ShowRequest {
                    message_id: m.message_id.clone(),
                })
                .await?
                .into_inner();
            let Some(pb::body::Content::Referral(r)) = shown.body.and_then(|b| b.content) else {
                anyhow::bail!("not a referral");
            };
            let files: Vec<(&str, &str, &[u8])> = r
                .attachments
                .iter()
                .map(|a| {
                    (
                        a.file_name.as_str(),
                        a.media_type.as_str(),
                        a.content.as_slice(),
                    )
                })
                .collect();
            assert_eq!(
                files,
                [("Einwilligung.pdf", "application/pdf", pdf.as_slice())]
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("the referral did not reach Astra")
}
