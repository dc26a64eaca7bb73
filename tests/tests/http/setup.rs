//! A federation with LEFÖ-IBF's node as a real process serving the HTTP API on a free
//! loopback port with a certificate made for `localhost`, Astra's node in process as the
//! partner, and one account per role created over the admin socket.

use std::path::Path;

use anyhow::Context;
use trm_node::accounts::Role;
use trm_tests::fixtures::{self, ASTRA};
pub use trm_tests::web::{PASSWORD, WebNode as Node, accounts, name_of};

use super::client::Who;

/// How long a session of the node [`start`] makes may stay unused, seconds: long enough for
/// the matrix to use every session again well within it, short enough to wait out.
pub const IDLE_SESSION_SECS: u64 = 10;

/// Starts everything (`trm_tests::web::start`: LEFÖ-IBF's node as a process with its HTTPS
/// address, one account per role) with sessions that end after [`IDLE_SESSION_SECS`] unused.
pub async fn start() -> anyhow::Result<Node> {
    trm_tests::web::start(
        Path::new(env!("CARGO_BIN_EXE_node-process")),
        IDLE_SESSION_SECS,
    )
    .await
}

/// Signs in the account holding `role`.
pub async fn sign_in(node: &Node, role: Role) -> anyhow::Result<Who> {
    node.api.sign_in(&name_of(role), PASSWORD).await
}

/// A referral from LEFÖ-IBF to Astra as the JSON message file, carrying the canary.
pub fn referral_json() -> anyhow::Result<serde_json::Value> {
    let mut json = template_json("referral")?;
    json["to"] = ASTRA.into();
    json["referral"]["notes"] = fixtures::CANARY.into();
    json["referral"]["attachments"] = serde_json::json!([]);
    Ok(json)
}

/// The filled-in template of `kind`, as JSON.
pub fn template_json(kind: &str) -> anyhow::Result<serde_json::Value> {
    let text = trm_forms::message_file::template(kind).context("no template")?;
    let value: toml::Value = toml::from_str(text)?;
    Ok(serde_json::to_value(value)?)
}
