//! A small HTTPS client for the tests: hyper over tokio-rustls (ring), trusting only the
//! certificate the node under test was given, one connection per request.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

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
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The API of one node.
#[derive(Clone)]
pub struct Https {
    addr: SocketAddr,
    tls: TlsConnector,
}

impl Https {
    /// A client of the API at `addr`, trusting only `cert_pem` (its name is `localhost`).
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

    /// Sends a request with raw headers and body.
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
            .context("TLS handshake with the API")?;
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

    /// Signs in; the session cookie and CSRF token of the answer.
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
        let set_cookie = answer
            .headers
            .get(http::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .context("no Set-Cookie")?
            .to_owned();
        let cookie = set_cookie
            .split(';')
            .next()
            .and_then(|pair| pair.strip_prefix("trm_session="))
            .context("no session cookie")?
            .to_owned();
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
}
