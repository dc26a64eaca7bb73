//! The console over HTTPS without a browser, against a real `trm-node` process: the security
//! headers on every answer, CSRF and origin refusals that change nothing, sign-in with its
//! pre-session token, sign-out clearing the site, a caseworker refused in administration, and
//! settings that refuse a bad time zone.

use anyhow::Context;
use trm_node::accounts::Role;
use trm_proto::pb;
use trm_tests::web::{self, Answer, ORIGIN, PASSWORD, WebNode, console_sign_in, name_of};

/// A form's fields.
type Fields<'a> = Vec<(&'a str, &'a str)>;

/// The fields of a form adding the account `mallory`, with `csrf` as its token.
fn add(csrf: &str) -> Fields<'_> {
    vec![
        ("_csrf", csrf),
        ("name", "mallory"),
        ("roles", "administrator"),
        ("password", PASSWORD),
    ]
}

async fn start() -> anyhow::Result<WebNode> {
    web::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_node-process")),
        600,
    )
    .await
}

async fn account_names(node: &WebNode) -> anyhow::Result<Vec<pb::AccountView>> {
    let mut admin = web::accounts(&node.socket).await?;
    Ok(admin
        .list_accounts(pb::ListAccountsRequest {})
        .await?
        .into_inner()
        .accounts)
}

fn assert_secure(answer: &Answer, what: &str) {
    for (name, value) in trm_node::console::security::HEADERS {
        assert_eq!(answer.header(name), value, "{what}: {name}");
    }
    if answer.content_type() == "text/html" {
        let text = answer.text();
        assert!(text.starts_with("<!DOCTYPE html>"), "{what}: not a page");
        // No inline script or style: every script has a source, no style attribute or element.
        assert_eq!(
            text.matches("<script").count(),
            text.matches("<script src=\"/static/").count(),
            "{what}"
        );
        assert!(
            !text.contains(" style=") && !text.contains("<style"),
            "{what}: inline style"
        );
    }
}

#[tokio::test]
async fn every_console_answer_carries_the_security_headers() -> anyhow::Result<()> {
    let node = start().await?;
    for path in [
        "/sign-in",
        "/sign-in?lang=mk",
        "/signed-out",
        "/no-such-page",
        "/static/console.css",
        "/static/session.js",
    ] {
        let answer = node.api.page(path, "").await?;
        assert_secure(&answer, path);
    }
    assert_eq!(node.api.page("/no-such-page", "").await?.status, 404);
    assert_eq!(node.api.page("/static/nothing.js", "").await?.status, 404);
    let admin = console_sign_in(&node, &name_of(Role::Administrator)).await?;
    for path in [
        "/settings",
        "/admin",
        "/admin/accounts",
        "/admin/tokens",
        "/admin/webhooks",
    ] {
        let answer = node.api.page(path, &admin.cookies).await?;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        assert_secure(&answer, path);
        assert!(answer.text().contains("<main id=\"main\""), "{path}");
        assert_eq!(answer.text().matches("<h1>").count(), 1, "{path}");
    }
    // The API keeps its problem details; the console answers its own 404 page.
    let api = node.api.page("/api/v1/nothing", "").await?;
    assert_eq!(
        (api.status, api.content_type().as_str()),
        (404, "application/problem+json")
    );
    let page = node.api.page("/nothing", "").await?;
    assert_eq!(
        (page.status, page.content_type().as_str()),
        (404, "text/html")
    );
    Ok(())
}

#[tokio::test]
async fn forms_without_the_token_or_from_elsewhere_are_refused_and_change_nothing()
-> anyhow::Result<()> {
    let node = start().await?;
    let admin = console_sign_in(&node, &name_of(Role::Administrator)).await?;
    let before = account_names(&node).await?;
    let csrf = admin.csrf.as_str();
    let wrong = format!("{}x", csrf.get(1..).unwrap_or_default());
    let wrong = wrong.as_str();
    let cases: Vec<(&str, &str, Fields)> = vec![
        (
            "no token",
            ORIGIN,
            add("").into_iter().filter(|(n, _)| *n != "_csrf").collect(),
        ),
        ("an empty token", ORIGIN, add("")),
        ("a wrong token", ORIGIN, add(wrong)),
        ("another site's origin", "https://evil.example", add(csrf)),
        ("plain http origin", "http://localhost", add(csrf)),
        ("no origin at all", "", add(csrf)),
    ];
    for (what, origin, fields) in cases {
        let answer = node
            .api
            .form("/admin/accounts", &admin.cookies, origin, &fields)
            .await?;
        assert_eq!(answer.status, 403, "{what}: {}", answer.text());
        assert!(
            answer.text().contains("id=\"error-text\""),
            "{what}: the refusal page"
        );
        assert_secure(&answer, what);
    }
    assert_eq!(
        account_names(&node).await?,
        before,
        "a refused form changed the accounts"
    );
    // Signing out with a wrong token does not sign out.
    let out = node
        .api
        .form("/sign-out", &admin.cookies, ORIGIN, &[("_csrf", wrong)])
        .await?;
    assert_eq!(out.status, 403);
    assert_eq!(
        node.api.page("/settings", &admin.cookies).await?.status,
        200
    );
    // The same form with its token from the console's origin is done.
    let done = node
        .api
        .form("/admin/accounts", &admin.cookies, ORIGIN, &add(csrf))
        .await?;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(
        account_names(&node)
            .await?
            .iter()
            .any(|a| a.name == "mallory")
    );
    Ok(())
}

#[tokio::test]
async fn sign_in_needs_its_pre_session_token_and_sign_out_clears_the_site() -> anyhow::Result<()> {
    let node = start().await?;
    let name = name_of(Role::Caseworker);
    // Without the cookie, with a token the cookie does not repeat, from elsewhere: refused.
    let pre = node
        .api
        .page("/sign-in", "")
        .await?
        .set_cookie("trm_pre")
        .context("pre")?;
    let pre = pre.as_str();
    for (what, cookies, origin, token) in [
        ("no cookie", String::new(), ORIGIN, pre),
        ("another token", format!("trm_pre={pre}"), ORIGIN, "0123"),
        (
            "another site",
            format!("trm_pre={pre}"),
            "https://evil.example",
            pre,
        ),
    ] {
        let fields = [
            ("_csrf", token),
            ("name", name.as_str()),
            ("password", PASSWORD),
        ];
        let answer = node.api.form("/sign-in", &cookies, origin, &fields).await?;
        assert_eq!(answer.status, 403, "{what}");
        assert!(
            answer.set_cookie("trm_session").is_none(),
            "{what}: signed in"
        );
    }
    // A wrong password says so on the form, with no session.
    let wrong = node
        .api
        .form(
            "/sign-in",
            &format!("trm_pre={pre}"),
            ORIGIN,
            &[
                ("_csrf", pre),
                ("name", &name),
                ("password", "wrong password!"),
            ],
        )
        .await?;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("id=\"sign-in-error\""));
    assert!(wrong.set_cookie("trm_session").is_none());
    let session = console_sign_in(&node, &name).await?;
    // The session cookie is the whole site's, Secure, HttpOnly and SameSite=Strict.
    let out = node
        .api
        .form(
            "/sign-out",
            &session.cookies,
            ORIGIN,
            &[("_csrf", &session.csrf)],
        )
        .await?;
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), "/signed-out");
    assert_eq!(
        out.header("clear-site-data"),
        "\"cache\", \"cookies\", \"storage\""
    );
    assert_eq!(out.set_cookie("trm_session").as_deref(), Some(""));
    let after = node.api.page("/settings", &session.cookies).await?;
    assert_eq!(
        (after.status, after.header("location").as_str()),
        (303, "/sign-in")
    );
    Ok(())
}

#[tokio::test]
async fn a_caseworker_is_refused_administration() -> anyhow::Result<()> {
    let node = start().await?;
    let caseworker = console_sign_in(&node, &name_of(Role::Caseworker)).await?;
    for path in [
        "/admin",
        "/admin/accounts",
        "/admin/tokens",
        "/admin/webhooks",
    ] {
        let answer = node.api.page(path, &caseworker.cookies).await?;
        assert_eq!(answer.status, 403, "{path}");
        assert!(
            !answer.text().contains("id=\"nav-admin\""),
            "{path}: the menu offers administration"
        );
    }
    let before = account_names(&node).await?;
    let tried = node
        .api
        .form(
            "/admin/accounts",
            &caseworker.cookies,
            ORIGIN,
            &[
                ("_csrf", &caseworker.csrf),
                ("name", "eve"),
                ("roles", "administrator"),
                ("password", PASSWORD),
            ],
        )
        .await?;
    assert_eq!(tried.status, 403);
    assert_eq!(account_names(&node).await?, before);
    Ok(())
}

#[tokio::test]
async fn settings_refuse_a_bad_time_zone_and_keep_a_good_one() -> anyhow::Result<()> {
    let node = start().await?;
    let name = name_of(Role::Caseworker);
    let session = console_sign_in(&node, &name).await?;
    let mine = |accounts: Vec<pb::AccountView>| accounts.into_iter().find(|a| a.name == name);
    for (language, zone, field) in [
        ("de", "Mars/Olympus_Mons", "time_zone"),
        ("tlh", "Europe/Vienna", "language"),
    ] {
        let answer = node
            .api
            .form(
                "/settings/preferences",
                &session.cookies,
                ORIGIN,
                &[
                    ("_csrf", &session.csrf),
                    ("language", language),
                    ("time_zone", zone),
                ],
            )
            .await?;
        assert_eq!(answer.status, 400, "{language} {zone}");
        assert!(
            answer.text().contains(&format!("id=\"{field}-error\"")),
            "{field}"
        );
        let kept = mine(account_names(&node).await?).context("account")?;
        assert_eq!((kept.language.as_str(), kept.time_zone.as_str()), ("", ""));
    }
    let saved = node
        .api
        .form(
            "/settings/preferences",
            &session.cookies,
            ORIGIN,
            &[
                ("_csrf", &session.csrf),
                ("language", "mk"),
                ("time_zone", "Europe/Skopje"),
            ],
        )
        .await?;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let kept = mine(account_names(&node).await?).context("account")?;
    assert_eq!(
        (kept.language.as_str(), kept.time_zone.as_str()),
        ("mk", "Europe/Skopje")
    );
    let page = node.api.page("/settings", &session.cookies).await?.text();
    assert!(page.contains("<html lang=\"mk\">"));
    assert!(page.contains("Мои поставки"), "the Macedonian menu");
    // Wrong current password: no change, the error beside the field.
    let refused = node
        .api
        .form(
            "/settings/password",
            &session.cookies,
            ORIGIN,
            &[
                ("_csrf", &session.csrf),
                ("current_password", "not the password"),
                ("new_password", "a brand new password"),
                ("new_password_again", "a brand new password"),
            ],
        )
        .await?;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("id=\"current_password-error\""));
    assert!(
        node.api.sign_in(&name, PASSWORD).await.is_ok(),
        "the old password still works"
    );
    Ok(())
}
