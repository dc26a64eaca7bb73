//! The console's frame: signing in (a wrong password, then the right one), the second factor
//! set up and used, signing out, the language switched to German and Macedonian, the
//! administrator's pages (an account added, a token issued and revoked, a webhook added and
//! removed) and a caseworker refused administration.

use std::path::Path;

use anyhow::Context;
use trm_node::accounts::{Role, totp};
use trm_proto::pb;
use trm_tests::browser::Browser;
use trm_tests::web::{self, PASSWORD, WebNode, Who, name_of};

async fn start() -> anyhow::Result<WebNode> {
    web::start(Path::new(env!("CARGO_BIN_EXE_node-process")), 900).await
}

/// The current one-time code of a base32 secret, `steps_ahead` steps on.
fn code(secret: &str, steps_ahead: i64) -> anyhow::Result<String> {
    let secret = totp::from_base32(secret).context("the key is not base32")?;
    let step = totp::step_at(trm_proto::time::now_ms()).saturating_add_signed(steps_ahead);
    Ok(totp::code(&secret, step))
}

#[tokio::test]
async fn sign_in_second_factor_sign_out_and_languages() -> anyhow::Result<()> {
    let node = start().await?;
    let mut b = Browser::start("shell", &node.base(), "en").await?;
    let name = name_of(Role::Caseworker);

    b.open("/sign-in").await?;
    assert_eq!(b.lang().await?, "en");
    b.check("sign-in-en").await?;
    // The picker: German, kept in a cookie for the next pages.
    b.click("lang-de").await?;
    b.arrive_in_language("de").await?;
    b.check("sign-in-de").await?;
    b.click("lang-en").await?;
    b.arrive_in_language("en").await?;

    b.submit_sign_in(&name, "not the password").await?;
    b.find("sign-in-error").await?;
    assert_eq!(
        b.find("name").await?.prop("value").await?.as_deref(),
        Some(name.as_str())
    );
    b.check("sign-in-wrong-password-en").await?;
    b.submit_sign_in(&name, PASSWORD).await?;
    b.arrive("/").await?;

    b.open("/settings").await?;
    assert_eq!(b.text("account-name").await?, name);
    b.check("settings-en").await?;
    // A second factor: the key shown once, turned on with a code from it.
    b.click("totp-begin").await?;
    let secret = b.text("totp-secret").await?;
    b.check("settings-totp-setup-en").await?;
    b.fill("code", "000000").await?;
    b.click("totp-confirm").await?;
    // A made-up code is almost always wrong; wait for whichever answer came back.
    if b.find_one_of(&["code-error", "notice"]).await? == "code-error" {
        b.check("settings-totp-wrong-en").await?;
        // The key is still waiting: the right code turns it on. The present step's code
        // stays good for at least 30 s more (the node takes one step either side); the last
        // step's would lapse at the next step, however soon that came.
        b.fill("code", &code(&secret, 0)?).await?;
        b.click("totp-confirm").await?;
    }
    b.find("notice").await?;
    assert!(b.text("totp-state").await?.contains("second factor is on"));

    b.click("sign-out").await?;
    b.arrive("/signed-out").await?;
    b.check("signed-out-en").await?;
    b.open("/settings").await?;
    b.arrive("/sign-in").await?;

    b.submit_sign_in(&name, PASSWORD).await?;
    b.arrive("/sign-in/totp").await?;
    b.check("sign-in-code-en").await?;
    b.fill("code", "12345").await?;
    b.click("sign-in").await?;
    b.find("sign-in-error").await?;
    // The next step's code: a step taken once is not taken again, and the confirmation above
    // took the present one.
    b.fill("code", &code(&secret, 1)?).await?;
    b.click("sign-in").await?;
    b.arrive("/").await?;

    // German, then Macedonian: the page's language and known words by id.
    b.choose_language("de").await?;
    assert_eq!(b.lang().await?, "de");
    assert_eq!(b.text("nav-settings").await?, "Meine Einstellungen");
    assert_eq!(b.text("sign-out").await?, "Abmelden");
    b.check("settings-de").await?;
    b.choose_language("mk").await?;
    assert_eq!(b.lang().await?, "mk");
    assert_eq!(b.text("nav-settings").await?, "Мои поставки");
    assert_eq!(b.text("nav-inbox").await?, "Приемно сандаче");
    b.check("settings-mk").await?;
    // A time zone that does not exist: the error beside the field, nothing saved.
    b.fill("time_zone", "Mars/Olympus_Mons").await?;
    b.click("save-preferences").await?;
    b.find("time_zone-error").await?;
    b.check("settings-bad-zone-mk").await?;
    b.close().await
}

#[tokio::test]
async fn administration_by_an_administrator_and_refused_to_a_caseworker() -> anyhow::Result<()> {
    let node = start().await?;
    let mut b = Browser::start("admin", &node.base(), "en").await?;
    b.submit_sign_in(&name_of(Role::Administrator), PASSWORD)
        .await?;
    b.arrive("/admin").await?;
    assert!(!b.text("status-directory-version").await?.is_empty());
    assert!(!b.has("nav-inbox").await, "an administrator has no inbox");
    b.check("status-en").await?;

    b.click("admin-accounts").await?;
    b.arrive("/admin/accounts").await?;
    b.check("accounts-en").await?;
    b.fill("name", "ana-new").await?;
    b.click("role-caseworker").await?;
    b.click("role-liaison_officer").await?;
    b.fill("password", "a long first password").await?;
    b.click("add-account").await?;
    b.find("notice").await?;
    b.find("account-ana-new").await?;
    b.check("accounts-added-en").await?;
    let mut admin = web::accounts(&node.socket).await?;
    let listed = admin
        .list_accounts(pb::ListAccountsRequest {})
        .await?
        .into_inner()
        .accounts;
    let ana = listed
        .iter()
        .find(|a| a.name == "ana-new")
        .context("ana-new not stored")?;
    assert_eq!(
        ana.roles,
        vec!["caseworker".to_owned(), "liaison_officer".to_owned()]
    );
    // A short password: refused with the service's reason, nothing added.
    b.fill("name", "bob-new").await?;
    b.click("role-caseworker").await?;
    b.fill("password", "short").await?;
    b.click("add-account").await?;
    b.find("form-error").await?;
    b.check("accounts-refused-en").await?;
    let listed = admin
        .list_accounts(pb::ListAccountsRequest {})
        .await?
        .into_inner()
        .accounts;
    assert!(listed.iter().all(|a| a.name != "bob-new"));
    b.click("disable-ana-new").await?;
    b.find("enable-ana-new").await?;

    b.click("admin-tokens").await?;
    b.fill("token-name", "case-system").await?;
    b.click("token-role-caseworker").await?;
    b.click("issue-token").await?;
    let token = b.text("token-secret").await?;
    assert!(token.starts_with("trm_"), "{token}");
    b.check("token-issued-en").await?;
    let whoami = node
        .api
        .call(&Who::token(&token), "GET", "/api/v1/session", None)
        .await?;
    assert_eq!(whoami.status, 200, "the issued token works");
    let tokens = admin
        .list_tokens(pb::ListTokensRequest {})
        .await?
        .into_inner()
        .tokens;
    let id = &tokens
        .iter()
        .find(|t| t.name == "case-system")
        .context("token")?
        .id;
    b.click(&format!("revoke-{id}")).await?;
    b.find("notice").await?;
    let whoami = node
        .api
        .call(&Who::token(&token), "GET", "/api/v1/session", None)
        .await?;
    assert_eq!(whoami.status, 401, "the revoked token is refused");

    b.click("admin-webhooks").await?;
    b.fill("url", "https://127.0.0.1:9/hook").await?;
    b.click("event-message.arrived").await?;
    b.click("add-webhook").await?;
    b.find("webhook-secret").await?;
    b.check("webhook-added-en").await?;

    // The same pages in German.
    b.choose_language("de").await?;
    for (path, name) in [
        ("/admin", "status-de"),
        ("/admin/accounts", "accounts-de"),
        ("/admin/tokens", "tokens-de"),
        ("/admin/webhooks", "webhooks-de"),
    ] {
        b.open(path).await?;
        assert_eq!(b.lang().await?, "de");
        b.check(name).await?;
    }
    assert_eq!(b.text("admin-accounts").await?, "Konten");
    b.click("sign-out").await?;
    b.arrive("/signed-out").await?;

    // A caseworker: no administration in the menu, 403 at its address.
    b.submit_sign_in(&name_of(Role::Caseworker), PASSWORD)
        .await?;
    b.arrive("/").await?;
    b.open("/admin/accounts").await?;
    b.find("error-text").await?;
    assert!(
        !b.has("accounts").await,
        "the accounts list is shown to a caseworker"
    );
    assert!(!b.has("nav-admin").await);
    b.check("forbidden-en").await?;
    b.close().await
}
