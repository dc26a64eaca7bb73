//! A node serving its HTTPS address (the JSON API and the console) as a real process, for the
//! HTTP, console and browser tests: LEFÖ-IBF's node with a serverAuth certificate made for
//! `localhost` and `127.0.0.1`, Astra's node in process as the partner, one account per role
//! created over the admin socket; and a small HTTPS client (hyper over tokio-rustls, ring)
//! that trusts only that certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};
use trm_dev::local::LocalFederation;
use trm_node::accounts::Role;
use trm_proto::pb;
use trm_proto::pb::node_accounts_client::NodeAccountsClient;

use crate::fixtures::{self, ASTRA, BROKER, LEFOE};
use crate::process::{NodeProcess, spawn_node};

/// Every account's password (long enough for the policy).
pub const PASSWORD: &str = "correct horse battery staple";

/// The login name of the account holding `role`.
pub fn name_of(role: Role) -> String {
    format!("{}-1", role.name().replace('_', "-"))
}

/// How a request says who it is.
#[derive(Debug, Clone, Default)]
pub struct Who {
    /// The session cookie's value.
    pub cookie: Option<String>,
    /// The CSRF token sent with changes.
    pub csrf: Option<String>,
    /// An API token.
    pub bearer: Option<String>,
}

impl Who {
    /// Nobody: no cookie, no token.
    pub fn nobody() -> Self {
        Self::default()
    }

    /// A system with an API token.
    pub fn token(token: &str) -> Self {
        Self {
            bearer: Some(token.to_owned()),
            ..Self::default()
        }
    }
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `Content-Type` header without parameters.
    pub fn content_type(&self) -> String {
        self.header(http::header::CONTENT_TYPE.as_str())
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The value a `Set-Cookie` header of the answer gives cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    }
}

/// The HTTPS address of one node.
#[derive(Clone)]
pub struct Https {
    addr: SocketAddr,
    tls: TlsConnector,
}

impl Https {
    /// A client of the node at `addr`, trusting only `cert_pem` (made for `localhost`).
    pub fn new(addr: SocketAddr, cert_pem: &str) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            addr,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends a request with raw headers and body (`Host: localhost`).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<Answer> {
        let tcp = TcpStream::connect(self.addr).await?;
        let tls = self
            .tls
            .connect(ServerName::try_from("localhost")?.to_owned(), tcp)
            .await
            .context("TLS handshake with the node's HTTPS address")?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost");
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body)))?)
            .await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes().to_vec();
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// Sends a request as `who`, with a JSON body when given.
    pub async fn call(
        &self,
        who: &Who,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<Answer> {
        let mut headers = Vec::new();
        if let Some(cookie) = &who.cookie {
            headers.push(("cookie".to_owned(), format!("trm_session={cookie}")));
        }
        if let Some(csrf) = &who.csrf {
            headers.push(("x-csrf-token".to_owned(), csrf.clone()));
        }
        if let Some(token) = &who.bearer {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        let body = match body {
            Some(json) => {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
                serde_json::to_vec(json)?
            }
            None => Vec::new(),
        };
        self.raw(method, path, &headers, body).await
    }

    /// Signs in through the JSON API; the session cookie and CSRF token of the answer.
    pub async fn sign_in(&self, name: &str, password: &str) -> anyhow::Result<Who> {
        let answer = self
            .call(
                &Who::nobody(),
                "POST",
                "/api/v1/session",
                Some(&serde_json::json!({ "name": name, "password": password })),
            )
            .await?;
        anyhow::ensure!(
            answer.status == 200,
            "sign-in: {} {}",
            answer.status,
            answer.text()
        );
        let cookie = answer
            .set_cookie("trm_session")
            .context("no session cookie")?;
        let csrf = answer.json()["csrf_token"]
            .as_str()
            .context("no CSRF token")?
            .to_owned();
        Ok(Who {
            cookie: Some(cookie),
            csrf: Some(csrf),
            bearer: None,
        })
    }

    /// A console page (GET) with `cookies` (`name=value; ...`).
    pub async fn page(&self, path: &str, cookies: &str) -> anyhow::Result<Answer> {
        let mut headers = Vec::new();
        if !cookies.is_empty() {
            headers.push(("cookie".to_owned(), cookies.to_owned()));
        }
        self.raw("GET", path, &headers, Vec::new()).await
    }

    /// A console form (POST, urlencoded) with `cookies` and an `Origin` header (none when
    /// `origin` is empty).
    pub async fn form(
        &self,
        path: &str,
        cookies: &str,
        origin: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let mut headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        if !cookies.is_empty() {
            headers.push(("cookie".to_owned(), cookies.to_owned()));
        }
        if !origin.is_empty() {
            headers.push(("origin".to_owned(), origin.to_owned()));
        }
        let body = serde_urlencoded::to_string(fields)?;
        self.raw("POST", path, &headers, body.into_bytes()).await
    }

    /// A console form with files (POST, `multipart/form-data`): `fields` as text parts, then
    /// `files` as (input name, file name, bytes), with `cookies` and `Origin: origin`.
    pub async fn multipart(
        &self,
        path: &str,
        cookies: &str,
        origin: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> anyhow::Result<Answer> {
        const BOUNDARY: &str = "trm-test-boundary-7c1f4a";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let headers = vec![
            (
                "content-type".to_owned(),
                format!("multipart/form-data; boundary={BOUNDARY}"),
            ),
            ("cookie".to_owned(), cookies.to_owned()),
            ("origin".to_owned(), origin.to_owned()),
        ];
        self.raw("POST", path, &headers, body).await
    }
}

/// The console's own origin as the test client addresses it.
pub const ORIGIN: &str = "https://localhost";

/// A running node with its HTTPS address.
pub struct WebNode {
    /// The federation (keeps the broker and Astra running).
    pub fed: LocalFederation,
    /// LEFÖ-IBF's node process (stopped when dropped).
    pub _process: NodeProcess,
    /// Its HTTPS address.
    pub api: Https,
    /// Its admin socket.
    pub socket: PathBuf,
    /// The certificate it presents, PEM.
    pub cert_pem: String,
    /// The folder everything is in.
    pub dir: tempfile::TempDir,
}

impl WebNode {
    /// The console's base address for a browser, `https://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.api.addr().port())
    }
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

/// Starts the federation and LEFÖ-IBF's node process (`node_process`: the test's
/// `CARGO_BIN_EXE_node-process`) with its HTTPS address on a free loopback port, sessions
/// ending after `idle_session_secs` unused, and one account per role (`name_of(role)`,
/// [`PASSWORD`]).
pub async fn start(node_process: &Path, idle_session_secs: u64) -> anyhow::Result<WebNode> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(ASTRA).await?;
    let issued =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
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
    config.accounts.idle_session_secs = idle_session_secs;
    let data_dir = config.data_dir.clone();
    let socket = fed.node_socket(LEFOE);
    let path = dir.path().join("lefoe.toml");
    std::fs::write(&path, toml::to_string(&config)?)?;
    let log = std::fs::File::create(dir.path().join("lefoe.log"))?;
    let process = spawn_node(node_process, &path, &socket, Stdio::from(log)).await?;
    let addr_file = data_dir.join("http.addr");
    trm_dev::wait::wait_for(Duration::from_secs(20), "the HTTPS address", || {
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
    Ok(WebNode {
        fed,
        _process: process,
        api,
        socket,
        cert_pem,
        dir,
    })
}

/// A console session: its cookie header and the CSRF token its pages carry.
pub struct ConsoleSession {
    /// The `Cookie` header that carries the session.
    pub cookies: String,
    /// The session's CSRF token, as its forms carry it.
    pub csrf: String,
}

/// The value of the hidden `_csrf` field in a page.
pub fn csrf_of(page: &Answer) -> Option<String> {
    let text = page.text();
    let at = text.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let rest = text.get(at..)?;
    Some(rest.get(..rest.find('"')?)?.to_owned())
}

/// Signs `name` in through the console's form with [`PASSWORD`] (checking that the form's
/// hidden field repeats the pre-session cookie); the session.
pub async fn console_sign_in(node: &WebNode, name: &str) -> anyhow::Result<ConsoleSession> {
    let form = node.api.page("/sign-in", "").await?;
    let pre = form
        .set_cookie("trm_pre")
        .context("no pre-session cookie")?;
    anyhow::ensure!(
        csrf_of(&form).as_deref() == Some(pre.as_str()),
        "the field repeats the cookie"
    );
    let answer = node
        .api
        .form(
            "/sign-in",
            &format!("trm_pre={pre}"),
            ORIGIN,
            &[("_csrf", &pre), ("name", name), ("password", PASSWORD)],
        )
        .await?;
    anyhow::ensure!(
        answer.status == 303,
        "sign-in: {} {}",
        answer.status,
        answer.text()
    );
    let token = answer
        .set_cookie("trm_session")
        .context("no session cookie")?;
    let cookies = format!("trm_session={token}");
    let settings = node.api.page("/settings", &cookies).await?;
    let csrf = csrf_of(&settings).context("no CSRF field on the settings page")?;
    Ok(ConsoleSession { cookies, csrf })
}

/// How many messages the node behind the admin `socket` has sent (its handover log's SENT
/// entries): what a form that sends nothing must leave unchanged.
pub async fn sent_count(socket: &Path) -> anyhow::Result<usize> {
    let mut admin = trm_dev::socket::connect(socket).await?;
    Ok(admin
        .log(pb::LogRequest {
            from_index: 0,
            limit: 10_000,
        })
        .await?
        .into_inner()
        .entries
        .iter()
        .filter(|e| e.event == "sent")
        .count())
}
