//! An administrator's endpoints over HTTPS: an account added there can sign in and is
//! refused once disabled; a token issued there works as a bearer token until revoked, and its
//! secret is never listed; a webhook's secret is shown once; the access log verifies; a
//! caseworker is refused all of it and changes nothing.

use anyhow::Context;
use serde_json::json;
use trm_node::accounts::Role;

use super::setup;

#[tokio::test(flavor = "multi_thread")]
async fn an_administrator_manages_accounts_tokens_and_webhooks_and_a_caseworker_cannot()
-> anyhow::Result<()> {
    let node = setup::start().await?;
    let admin = setup::sign_in(&node, Role::Administrator).await?;
    let caseworker = setup::sign_in(&node, Role::Caseworker).await?;
    let new = json!({
        "name": "amira",
        "roles": ["caseworker"],
        "password": setup::PASSWORD,
    });

    // A caseworker may not add an account, and none is made.
    let refused = node
        .api
        .call(&caseworker, "POST", "/api/v1/accounts", Some(&new))
        .await?;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(node.api.sign_in("amira", setup::PASSWORD).await.is_err());

    let made = node
        .api
        .call(&admin, "POST", "/api/v1/accounts", Some(&new))
        .await?;
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(made.json()["roles"], json!(["caseworker"]));
    assert!(!made.text().contains(setup::PASSWORD), "{}", made.text());
    let amira = node.api.sign_in("amira", setup::PASSWORD).await?;
    let inbox = node.api.call(&amira, "GET", "/api/v1/inbox", None).await?;
    assert_eq!(inbox.status, 200, "{}", inbox.text());
    let again = node
        .api
        .call(&admin, "POST", "/api/v1/accounts", Some(&new))
        .await?;
    assert_eq!(again.status, 409, "{}", again.text());
    let listed = node
        .api
        .call(&admin, "GET", "/api/v1/accounts", None)
        .await?;
    assert!(listed.text().contains("amira"), "{}", listed.text());
    assert!(!listed.text().contains(setup::PASSWORD));

    // Disabled, it can no longer sign in; enabled, it can.
    let off = node
        .api
        .call(&admin, "POST", "/api/v1/accounts/amira/disable", None)
        .await?;
    assert_eq!(off.status, 200, "{}", off.text());
    assert_eq!(off.json()["disabled"], true);
    assert!(node.api.sign_in("amira", setup::PASSWORD).await.is_err());
    let on = node
        .api
        .call(&admin, "POST", "/api/v1/accounts/amira/enable", None)
        .await?;
    assert_eq!(on.status, 200, "{}", on.text());
    let changed = node
        .api
        .call(
            &admin,
            "POST",
            "/api/v1/accounts/amira/password",
            Some(&json!({ "password": "another long enough passphrase" })),
        )
        .await?;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert!(node.api.sign_in("amira", setup::PASSWORD).await.is_err());
    node.api
        .sign_in("amira", "another long enough passphrase")
        .await?;

    // A token: its secret once, then it works until revoked.
    let issued = node
        .api
        .call(
            &admin,
            "POST",
            "/api/v1/tokens",
            Some(&json!({ "name": "cms", "roles": ["caseworker"] })),
        )
        .await?;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let secret = issued.json()["token"].as_str().context("token")?.to_owned();
    let token_id = issued.json()["id"].as_str().context("id")?.to_owned();
    let system = super::client::Who::token(&secret);
    let inbox = node.api.call(&system, "GET", "/api/v1/inbox", None).await?;
    assert_eq!(inbox.status, 200, "{}", inbox.text());
    let tokens = node.api.call(&admin, "GET", "/api/v1/tokens", None).await?;
    assert!(tokens.text().contains(&token_id), "{}", tokens.text());
    assert!(!tokens.text().contains(&secret), "{}", tokens.text());
    let revoked = node
        .api
        .call(
            &admin,
            "DELETE",
            &format!("/api/v1/tokens/{token_id}"),
            None,
        )
        .await?;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let inbox = node.api.call(&system, "GET", "/api/v1/inbox", None).await?;
    assert_eq!(inbox.status, 401, "{}", inbox.text());

    // A webhook: its secret once, never listed.
    let hook = json!({ "url": "http://127.0.0.1:9/hook", "events": ["message.arrived"] });
    let refused = node
        .api
        .call(&caseworker, "POST", "/api/v1/webhooks", Some(&hook))
        .await?;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let added = node
        .api
        .call(&admin, "POST", "/api/v1/webhooks", Some(&hook))
        .await?;
    assert_eq!(added.status, 201, "{}", added.text());
    let hook_secret = added.json()["secret"]
        .as_str()
        .context("secret")?
        .to_owned();
    let hook_id = added.json()["id"].as_str().context("id")?.to_owned();
    assert!(!hook_secret.is_empty());
    let hooks = node
        .api
        .call(&admin, "GET", "/api/v1/webhooks", None)
        .await?;
    assert_eq!(hooks.json()["webhooks"][0]["id"], hook_id.as_str());
    assert!(!hooks.text().contains(&hook_secret), "{}", hooks.text());
    let removed = node
        .api
        .call(
            &admin,
            "DELETE",
            &format!("/api/v1/webhooks/{hook_id}"),
            None,
        )
        .await?;
    assert_eq!(removed.status, 200, "{}", removed.text());
    let hooks = node
        .api
        .call(&admin, "GET", "/api/v1/webhooks", None)
        .await?;
    assert_eq!(hooks.json()["webhooks"], json!([]), "{}", hooks.text());

    // The access log verifies, for the administrator only.
    let verified = node
        .api
        .call(&admin, "GET", "/api/v1/access-log/verify", None)
        .await?;
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(verified.json()["ok"], true, "{}", verified.text());
    let refused = node
        .api
        .call(&caseworker, "GET", "/api/v1/access-log", None)
        .await?;
    assert_eq!(refused.status, 403, "{}", refused.text());
    Ok(())
}
