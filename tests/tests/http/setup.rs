//! A federation with LEFÖ-IBF's node as a real process serving the HTTP API on a free
//! loopback port with a certificate made for `localhost`, Astra's node in process as the
//! partner, and one account per role created over the admin socket.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use trm_dev::local::LocalFederation;
use trm_node::accounts::Role;
use trm_proto::pb;
use trm_proto::pb::node_accounts_client::NodeAccountsClient;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};
use trm_tests::process::{NodeProcess, spawn_node};

use super::client::{Https, Who};

/// Every account's password (long enough for the policy).
pub const PASSWORD: &str = "correct horse battery staple";

/// A running node with its API.
pub struct Node {
    /// The federation (keeps the broker and Astra running).
    pub _fed: LocalFederation,
    /// LEFÖ-IBF's node process (stopped when dropped).
    pub _process: NodeProcess,
    /// Its API.
    pub api: Https,
    /// Its admin socket.
    pub socket: PathBuf,
    /// The folder everything is in.
    pub _dir: tempfile::TempDir,
}

/// The login name of the account holding `role`.
pub fn name_of(role: Role) -> String {
    format!("{}-1", role.name().replace('_', "-"))
}

/// An accounts client over the admin socket (the host's administrator).
pub async fn accounts(socket: &Path) -> anyhow::Result<NodeAccountsClient<Channel>> {
    let path = socket.to_owned();
    let channel = Endpoint::from_static("http://node.local")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await?;
    Ok(NodeAccountsClient::new(channel))
}

/// How long a session of the node [`start`] makes may stay unused, seconds: long enough for
/// the matrix to use every session again well within it, short enough to wait out.
pub const IDLE_SESSION_SECS: u64 = 10;

/// Starts everything, with one account per role (`name_of(role)`, [`PASSWORD`]) and sessions
/// that end after [`IDLE_SESSION_SECS`] unused.
pub async fn start() -> anyhow::Result<Node> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(ASTRA).await?;
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let cert_pem = issued.cert.pem();
    let cert = dir.path().join("api.crt");
    let key = dir.path().join("api.key");
    std::fs::write(&cert, &cert_pem)?;
    std::fs::write(&key, issued.signing_key.serialize_pem())?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let mut config = fed.node_config(LEFOE)?;
    config.http.listen = Some("127.0.0.1:0".into());
    config.http.tls_cert = Some(cert);
    config.http.tls_key = Some(key);
    config.http.max_body_bytes = Some(64 * 1024);
    config.accounts.idle_session_secs = IDLE_SESSION_SECS;
    let data_dir = config.data_dir.clone();
    let socket = fed.node_socket(LEFOE);
    let path = dir.path().join("lefoe.toml");
    std::fs::write(&path, toml::to_string(&config)?)?;
    let log = std::fs::File::create(dir.path().join("lefoe.log"))?;
    let process = spawn_node(
        Path::new(env!("CARGO_BIN_EXE_node-process")),
        &path,
        &socket,
        Stdio::from(log),
    )
    .await?;
    let addr_file = data_dir.join("http.addr");
    trm_dev::wait::wait_for(Duration::from_secs(20), "the HTTP API address", || {
        let addr_file = addr_file.clone();
        async move { Ok(addr_file.exists()) }
    })
    .await?;
    let addr = std::fs::read_to_string(&addr_file)?
        .trim()
        .parse()
        .context("http.addr")?;
    let api = Https::new(addr, &cert_pem)?;
    let mut admin = accounts(&socket).await?;
    for role in Role::ALL {
        admin
            .add_account(pb::AddAccountRequest {
                name: name_of(role),
                roles: vec![role.name().to_owned()],
                password: PASSWORD.to_owned(),
            })
            .await?;
    }
    Ok(Node {
        _fed: fed,
        _process: process,
        api,
        socket,
        _dir: dir,
    })
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
