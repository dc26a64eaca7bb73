//! The OpenAPI 3.1 document, generated from the endpoints' annotations ([`super::routes`]),
//! served at `/openapi.json` and committed as `docs/openapi.json` (a test fails when the
//! committed copy is not current; `cargo xtask openapi` rewrites it). Every operation also
//! documents the refusals every endpoint can give, as problem details.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use super::auth::{CSRF_HEADER, SESSION_COOKIE};
use super::problem::{CONTENT_TYPE, Problem};
use crate::accounts::{Action, Role};

/// What each operation needs, as the node's services check it: documented in the operation
/// (`x-trm-action` and the roles in words), and what the permission-matrix test reads.
pub const ACTIONS: &[(&str, &str, Action)] = &[
    ("get", "/api/v1/inbox", Action::ListInbox),
    ("get", "/api/v1/messages/{id}", Action::ReadContent),
    ("get", "/api/v1/messages/{id}/status", Action::ReadEvidence),
    (
        "get",
        "/api/v1/messages/{id}/attachments",
        Action::ReadContent,
    ),
    (
        "get",
        "/api/v1/messages/{id}/attachments/{number}",
        Action::ReadContent,
    ),
    ("get", "/api/v1/cases", Action::ListCases),
    ("get", "/api/v1/cases/{case_ref}", Action::ReadContent),
    ("get", "/api/v1/overdue", Action::ListOverdue),
    ("get", "/api/v1/directory", Action::SearchDirectory),
    ("get", "/api/v1/log", Action::ReadLog),
    ("get", "/api/v1/log/verify", Action::VerifyLog),
    ("get", "/api/v1/log/export", Action::ExportLog),
    ("post", "/api/v1/audit/collect", Action::CollectCheckpoints),
    ("get", "/api/v1/accounts", Action::ManageAccounts),
    ("post", "/api/v1/accounts", Action::ManageAccounts),
    (
        "post",
        "/api/v1/accounts/{name}/disable",
        Action::ManageAccounts,
    ),
    (
        "post",
        "/api/v1/accounts/{name}/enable",
        Action::ManageAccounts,
    ),
    (
        "post",
        "/api/v1/accounts/{name}/password",
        Action::ManageAccounts,
    ),
    ("get", "/api/v1/tokens", Action::ManageTokens),
    ("post", "/api/v1/tokens", Action::ManageTokens),
    ("delete", "/api/v1/tokens/{id}", Action::ManageTokens),
    ("get", "/api/v1/access-log", Action::ReadAccessLog),
    ("get", "/api/v1/access-log/verify", Action::ReadAccessLog),
    ("get", "/api/v1/webhooks", Action::ManageWebhooks),
    ("post", "/api/v1/webhooks", Action::ManageWebhooks),
    ("delete", "/api/v1/webhooks/{id}", Action::ManageWebhooks),
    ("post", "/api/v1/webhooks/{id}/test", Action::ManageWebhooks),
];

/// What sending each kind needs (a consent override or a child's case needs more: see
/// `crate::accounts::permissions`).
pub const SEND_ACTIONS: &[(&str, Action)] = &[
    ("referral", Action::SendReferral),
    ("information_supplied", Action::SendReferral),
    ("referral_response", Action::RespondToReferral),
    ("case_update", Action::SendCaseUpdate),
    ("info_request", Action::SendInfoRequest),
    ("info_response", Action::AnswerInfoRequest),
    ("return_request", Action::SendReturn),
    ("return_confirmation", Action::SendReturn),
    ("follow_up", Action::SendReturn),
    ("consent_withdrawal", Action::WithdrawConsent),
];

/// The roles that may do `action`, in words.
fn roles_of(action: Action) -> String {
    let roles: Vec<&str> = action.roles().into_iter().map(Role::name).collect();
    roles.join(" or ")
}

/// Adds the action an operation needs, and who holds it, to its description and extensions.
fn document_action(operation: &mut Operation, action: serde_json::Value, roles: &str) {
    let note = format!("Needs the role {roles}.");
    operation.description = Some(match operation.description.take() {
        Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
        _ => note,
    });
    let extensions = operation.extensions.get_or_insert_with(Default::default);
    extensions.insert("x-trm-action".to_owned(), action);
}

/// Where the committed copy lives, relative to the workspace root.
pub const COMMITTED: &str = "docs/openapi.json";

/// The document's fixed parts.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "trm node API",
        description = "The HTTPS JSON API of an organisation's trm node: send every kind of message (the body is the message file as JSON, checked as `trm send` checks it), read the inbox, cases and messages, follow evidence, audit the handover log. Browser sessions sign in for a Secure, HttpOnly, SameSite=Strict cookie and send the CSRF token they get back in the X-CSRF-Token header with every change; systems send an API token as `Authorization: Bearer`. Errors are RFC 9457 problem details naming the field at fault.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    security(("session" = []), ("bearer" = [])),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "messages", description = "Sending and reading messages"),
        (name = "cases", description = "Cases and their threads"),
        (name = "directory", description = "The federation directory"),
        (name = "audit", description = "The handover log and checkpoints"),
        (name = "accounts", description = "Accounts, API tokens and the access log"),
        (name = "webhooks", description = "Notifications to other systems"),
    ),
)]
struct Base;

/// The two ways in.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                &format!(
                    "The session cookie set at sign-in; changes also need the CSRF token in the {CSRF_HEADER} header"
                ),
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token issued with `trm accounts token issue`"))
                    .build(),
            ),
        );
    }
}

/// The refusals every operation can give, with when.
fn refusals(operation: &mut Operation, has_body: bool, signed_in: bool) {
    let mut add = |status: &str, when: &str| {
        let response = ResponseBuilder::new()
            .description(when)
            .content(
                CONTENT_TYPE,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert(response.into());
    };
    add("400", "A parameter or a field is wrong (named in `field`)");
    if signed_in {
        add(
            "401",
            "No session or token, or it has expired or was revoked",
        );
        add(
            "403",
            "The role does not allow it, or the CSRF token is wrong",
        );
    } else {
        add(
            "401",
            "Wrong name, password or one-time code, or the account is locked",
        );
    }
    add("404", "No such message, case or kind");
    add(
        "409",
        "Not possible in the case's or the node's current state",
    );
    if has_body {
        add("413", "The body is larger than the limit");
        add("415", "The body is not JSON");
    }
    add("500", "The node failed");
    add("503", "The node's store is not available");
    add("507", "The node's disk is full");
}

/// The whole document.
pub fn document() -> OpenApi {
    let (_, mut doc) = super::routes::all().split_for_parts();
    let mut base = Base::openapi();
    base.paths = std::mem::take(&mut doc.paths);
    if let (Some(components), Some(more)) = (base.components.as_mut(), doc.components.take()) {
        components.schemas.extend(more.schemas);
    }
    for (path, item) in base.paths.paths.iter_mut() {
        let signed_in = path != "/api/v1/session";
        for (operation, has_body) in [
            (item.get.as_mut(), false),
            (item.delete.as_mut(), false),
            (item.post.as_mut(), true),
            (item.put.as_mut(), true),
            (item.patch.as_mut(), true),
        ] {
            if let Some(operation) = operation {
                let signed_in = signed_in || !has_body;
                refusals(operation, has_body, signed_in);
            }
        }
        let operations = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("delete", item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            if let Some((_, _, action)) = ACTIONS.iter().find(|(m, p, _)| *m == method && p == path)
            {
                document_action(operation, action.name().into(), &roles_of(*action));
            } else if method == "post" && path == "/api/v1/send/{kind}" {
                let by_kind: serde_json::Map<String, serde_json::Value> = SEND_ACTIONS
                    .iter()
                    .map(|(kind, action)| ((*kind).to_owned(), action.name().into()))
                    .collect();
                let roles: Vec<String> = SEND_ACTIONS
                    .iter()
                    .map(|(kind, action)| format!("{kind}: {}", roles_of(*action)))
                    .collect();
                document_action(
                    operation,
                    serde_json::Value::Object(by_kind),
                    &format!("each kind needs: {}", roles.join("; ")),
                );
            }
        }
    }
    base
}

/// The document as committed: pretty JSON with a final newline.
pub fn text() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when `docs/openapi.json` is not the document the code generates; with
    /// `TRM_WRITE_OPENAPI=1` (what `cargo xtask openapi` sets) it rewrites it instead.
    #[test]
    fn the_committed_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(COMMITTED);
        let current = text();
        if std::env::var_os("TRM_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &current).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "{COMMITTED} is not current: run `cargo xtask openapi`"
        );
    }

    #[test]
    fn every_operation_documents_problems_and_is_version_3_1() {
        let doc = document();
        assert!(doc.openapi == utoipa::openapi::OpenApiVersion::Version31);
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.post, &item.delete].into_iter().flatten() {
                assert!(op.responses.responses.contains_key("400"), "{path}");
                assert!(op.responses.responses.contains_key("401"), "{path}");
            }
        }
    }
}
