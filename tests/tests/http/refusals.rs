//! Bad input over HTTPS: an unknown field, a wrong value, bad JSON, a body over the limit, a
//! body that is not JSON and an unknown query parameter are each refused as a problem naming
//! what is wrong, and nothing is stored; and the session cookie is what the API promises.

use serde_json::json;
use trm_node::accounts::Role;
use trm_proto::pb;

use super::client::Answer;
use super::setup;

/// The handover log's length, read over the admin socket.
async fn log_length(node: &setup::Node) -> anyhow::Result<usize> {
    let mut admin = trm_dev::socket::connect(&node.socket).await?;
    let log = admin
        .log(pb::LogRequest {
            from_index: 0,
            limit: 100_000,
        })
        .await?
        .into_inner();
    Ok(log.entries.len())
}

fn problem(answer: &Answer) -> (u16, String, String) {
    let json = answer.json();
    (
        answer.status,
        answer.content_type(),
        json["field"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_by_field_and_nothing_is_stored() -> anyhow::Result<()> {
    let node = setup::start().await?;
    let who = setup::sign_in(&node, Role::Caseworker).await?;
    let api = &node.api;
    let before = log_length(&node).await?;
    let send = "/api/v1/send/referral";
    let pj = "application/problem+json".to_owned();

    let mut unknown = setup::referral_json()?;
    unknown["referral"]["person"]["eye_colour"] = "brown".into();
    let answer = api.call(&who, "POST", send, Some(&unknown)).await?;
    assert_eq!(
        problem(&answer),
        (400, pj.clone(), "referral.person.eye_colour".into()),
        "{}",
        answer.text()
    );

    let mut wrong = setup::referral_json()?;
    wrong["referral"]["victim_status"] = "maybe".into();
    let answer = api.call(&who, "POST", send, Some(&wrong)).await?;
    assert_eq!(
        problem(&answer),
        (400, pj.clone(), "referral.victim_status".into()),
        "{}",
        answer.text()
    );

    let mut empty = setup::referral_json()?;
    empty["case_ref"] = "".into();
    let answer = api.call(&who, "POST", send, Some(&empty)).await?;
    assert_eq!(problem(&answer).2, "case_ref", "{}", answer.text());

    let mut attached = setup::referral_json()?;
    attached["referral"]["attachments"] = json!(["passport.pdf"]);
    let answer = api.call(&who, "POST", send, Some(&attached)).await?;
    assert_eq!(
        problem(&answer).2,
        "referral.attachments",
        "{}",
        answer.text()
    );

    let headers = |v: &str| {
        vec![
            (
                "cookie".to_owned(),
                format!("trm_session={}", who.cookie.clone().unwrap_or_default()),
            ),
            (
                "x-csrf-token".to_owned(),
                who.csrf.clone().unwrap_or_default(),
            ),
            ("content-type".to_owned(), v.to_owned()),
        ]
    };
    let answer = api
        .raw(
            "POST",
            send,
            &headers("application/json"),
            b"{\"to\": ".to_vec(),
        )
        .await?;
    assert_eq!(
        (answer.status, answer.content_type()),
        (400, pj.clone()),
        "{}",
        answer.text()
    );

    let answer = api
        .raw("POST", send, &headers("text/plain"), b"to = 1".to_vec())
        .await?;
    assert_eq!((answer.status, answer.content_type()), (415, pj.clone()));

    let mut huge = setup::referral_json()?;
    huge["referral"]["notes"] = "x".repeat(100 * 1024).into();
    let answer = api.call(&who, "POST", send, Some(&huge)).await?;
    assert_eq!(
        (answer.status, answer.content_type()),
        (413, pj.clone()),
        "{}",
        answer.text()
    );

    let answer = api.call(&who, "GET", "/api/v1/inbox?limt=3", None).await?;
    assert_eq!(
        problem(&answer),
        (400, pj.clone(), "limt".into()),
        "{}",
        answer.text()
    );

    let answer = api
        .call(&who, "POST", "/api/v1/send/postcard", Some(&json!({})))
        .await?;
    assert_eq!((answer.status, answer.content_type()), (404, pj.clone()));

    let answer = api.call(&who, "GET", "/api/v1/nothing-here", None).await?;
    assert_eq!((answer.status, answer.content_type()), (404, pj.clone()));

    assert_eq!(
        log_length(&node).await?,
        before,
        "a refused request logged something"
    );

    // What is accepted is stored, so the unchanged length above means something.
    let answer = api
        .call(&who, "POST", send, Some(&setup::referral_json()?))
        .await?;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert!(log_length(&node).await? > before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_secure_http_only_and_strict_and_signing_out_ends_it()
-> anyhow::Result<()> {
    let node = setup::start().await?;
    let answer = node
        .api
        .call(
            &super::client::Who::nobody(),
            "POST",
            "/api/v1/session",
            Some(&json!({ "name": setup::name_of(Role::Caseworker), "password": setup::PASSWORD })),
        )
        .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let cookie = answer
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    for part in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.split("; ").any(|p| p == part), "{cookie}");
    }
    assert_eq!(answer.json()["roles"], json!(["caseworker"]));
    assert!(
        answer.json()["account"]
            .as_str()
            .is_some_and(|a| a.starts_with("acc-"))
    );

    let wrong = node
        .api
        .call(
            &super::client::Who::nobody(),
            "POST",
            "/api/v1/session",
            Some(&json!({ "name": setup::name_of(Role::Caseworker), "password": "not the password" })),
        )
        .await?;
    assert_eq!(
        (wrong.status, wrong.content_type().as_str()),
        (401, "application/problem+json")
    );

    let who = setup::sign_in(&node, Role::Caseworker).await?;
    let me = node.api.call(&who, "GET", "/api/v1/session", None).await?;
    assert_eq!(me.status, 200);
    let out = node
        .api
        .call(&who, "DELETE", "/api/v1/session", None)
        .await?;
    assert_eq!(out.status, 204);
    let after = node.api.call(&who, "GET", "/api/v1/inbox", None).await?;
    assert_eq!(after.status, 401);
    Ok(())
}
