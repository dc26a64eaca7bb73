//! One POST of a notification: a fresh connection per attempt (HTTP/1.1), TLS with rustls on
//! ring for `https://`, a deadline on connecting (TCP and TLS) and one on the answer, and no
//! redirect followed (a 3xx is a failed attempt: the receiver must be registered at its real
//! address). Only the status is read; the answer's body is not.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::target::Target;

/// Why an attempt failed, in words for `trm webhooks list` and the log.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// No TCP connection (refused, unreachable, name not found).
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    /// Connecting (TCP and TLS) took longer than allowed.
    #[error("connecting to {0} took longer than {1} s")]
    ConnectTimeout(String, u64),
    /// The TLS handshake failed (an untrusted certificate, say).
    #[error("TLS with {0} failed: {1}")]
    Tls(String, std::io::Error),
    /// The HTTP exchange failed.
    #[error("HTTP exchange with {0} failed: {1}")]
    Http(String, hyper::Error),
    /// No answer in time.
    #[error("{0} did not answer within {1} s")]
    AnswerTimeout(String, u64),
    /// A redirect, which is never followed.
    #[error("{0} answered {1} (a redirect, not followed): register the final URL")]
    Redirect(String, u16),
    /// Any other status than 2xx.
    #[error("{0} answered {1}")]
    Status(String, u16),
    /// The request could not be built.
    #[error("cannot build the request: {0}")]
    Request(#[from] http::Error),
}

/// Why the TLS roots could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    /// The configured CA file holds no usable certificate.
    #[error("webhooks CA file {path}: {problem}")]
    CaFile {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// Where the system's CA bundle is on common systems (Debian/Ubuntu, Fedora/RHEL, Alpine,
/// openSUSE); `SSL_CERT_FILE` comes first when set.
const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The roots from PEM text.
fn roots_from_pem(pem: &[u8]) -> (rustls::RootCertStore, usize) {
    let mut roots = rustls::RootCertStore::empty();
    let certificates = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect::<Vec<_>>();
    let (added, _ignored) = roots.add_parsable_certificates(certificates);
    (roots, added)
}

/// The roots that verify receivers: the CA file's certificates (`ca_pem`, read with the
/// configuration) when configured, otherwise the system's bundle (none found: `https://`
/// receivers fail with an untrusted certificate, said in each attempt's error).
pub fn roots(ca_pem: Option<(&str, &str)>) -> Result<rustls::RootCertStore, RootsError> {
    if let Some((path, pem)) = ca_pem {
        let (roots, added) = roots_from_pem(pem.as_bytes());
        if added == 0 {
            return Err(RootsError::CaFile {
                path: path.to_owned(),
                problem: "holds no PEM certificate".into(),
            });
        }
        return Ok(roots);
    }
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    for path in from_env.iter().map(String::as_str).chain(SYSTEM_BUNDLES) {
        if let Ok(pem) = std::fs::read(path) {
            let (roots, added) = roots_from_pem(&pem);
            if added > 0 {
                return Ok(roots);
            }
        }
    }
    tracing::warn!(
        "no system CA bundle found: https:// webhooks cannot be verified; set webhooks.ca_file"
    );
    Ok(rustls::RootCertStore::empty())
}

/// Posts notifications.
#[derive(Clone)]
pub struct Client {
    tls: tokio_rustls::TlsConnector,
    connect_timeout: Duration,
    answer_timeout: Duration,
}

impl Client {
    /// A client verifying receivers with `roots`.
    pub fn new(
        roots: rustls::RootCertStore,
        connect_timeout: Duration,
        answer_timeout: Duration,
    ) -> Result<Self, rustls::Error> {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            connect_timeout,
            answer_timeout,
        })
    }

    /// POSTs `body` with `headers` to `target`; `Ok` on a 2xx answer.
    pub async fn post(
        &self,
        target: &Target,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<u16, AttemptError> {
        let url = format!(
            "{}://{}{}",
            if target.https { "https" } else { "http" },
            target.authority,
            target.path_and_query
        );
        let mut request = http::Request::post(target.path_and_query.as_str())
            .header(http::header::HOST, target.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "trm-node webhooks");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let connect_secs = self.connect_timeout.as_secs();
        let tcp = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| AttemptError::ConnectTimeout(url.clone(), connect_secs))?
        .map_err(|e| AttemptError::Connect(url.clone(), e))?;
        let _ = tcp.set_nodelay(true);
        let status = if target.https {
            let name = ServerName::try_from(target.host.clone()).map_err(|e| {
                AttemptError::Tls(url.clone(), std::io::Error::other(e.to_string()))
            })?;
            let tls = tokio::time::timeout(self.connect_timeout, self.tls.connect(name, tcp))
                .await
                .map_err(|_| AttemptError::ConnectTimeout(url.clone(), connect_secs))?
                .map_err(|e| AttemptError::Tls(url.clone(), e))?;
            self.exchange(&url, tls, request).await?
        } else {
            self.exchange(&url, tcp, request).await?
        };
        match status {
            200..=299 => Ok(status),
            300..=399 => Err(AttemptError::Redirect(url, status)),
            _ => Err(AttemptError::Status(url, status)),
        }
    }

    /// One request over `io`, within the answer deadline; the status of the answer.
    async fn exchange<S>(
        &self,
        url: &str,
        io: S,
        request: http::Request<Full<Bytes>>,
    ) -> Result<u16, AttemptError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let answer_secs = self.answer_timeout.as_secs();
        let exchange = async {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
                .await
                .map_err(|e| AttemptError::Http(url.to_owned(), e))?;
            // Drives the connection until the answer's head is read; dropped with it.
            let driver = tokio::spawn(connection);
            let answer = sender.send_request(request).await;
            driver.abort();
            answer
                .map(|a| a.status().as_u16())
                .map_err(|e| AttemptError::Http(url.to_owned(), e))
        };
        tokio::time::timeout(self.answer_timeout, exchange)
            .await
            .map_err(|_| AttemptError::AnswerTimeout(url.to_owned(), answer_secs))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Reads a request's head from `stream` and writes `answer` (nothing when empty: the
    /// receiver hangs).
    async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, answer: &'static str) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.extend_from_slice(&byte),
                _ => return,
            }
        }
        if answer.is_empty() {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    fn client(roots: rustls::RootCertStore) -> Result<Client, rustls::Error> {
        Client::new(roots, Duration::from_secs(5), Duration::from_secs(1))
    }

    #[tokio::test]
    async fn https_with_the_configured_ca_succeeds_and_an_unknown_ca_fails() -> TestResult {
        let key = rcgen::KeyPair::generate()?;
        let cert =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()])?.self_signed(&key)?;
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    answer(tls, "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await;
                }
            }
        });
        let target = Target::parse(&format!("https://localhost:{port}/hooks"))?;
        let trusted = roots(Some(("ca.pem", &cert.pem())))?;
        assert_eq!(
            client(trusted)?.post(&target, &[], b"{}".to_vec()).await?,
            202
        );
        let untrusted = client(rustls::RootCertStore::empty())?
            .post(&target, &[], b"{}".to_vec())
            .await;
        assert!(
            matches!(untrusted, Err(AttemptError::Tls(..))),
            "{untrusted:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn redirects_are_not_followed_and_silence_times_out() -> TestResult {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let mut answers = [
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
                "",
            ]
            .into_iter();
            while let Ok((tcp, _)) = listener.accept().await {
                let reply = answers.next().unwrap_or_default();
                tokio::spawn(answer(tcp, reply));
            }
        });
        let target = Target::parse(&format!("http://{addr}/"))?;
        let client = client(rustls::RootCertStore::empty())?;
        let redirect = client.post(&target, &[], Vec::new()).await;
        assert!(
            matches!(redirect, Err(AttemptError::Redirect(_, 302))),
            "{redirect:?}"
        );
        let failed = client.post(&target, &[], Vec::new()).await;
        assert!(
            matches!(failed, Err(AttemptError::Status(_, 500))),
            "{failed:?}"
        );
        let silent = client.post(&target, &[], Vec::new()).await;
        assert!(
            matches!(silent, Err(AttemptError::AnswerTimeout(..))),
            "{silent:?}"
        );
        let closed = Target::parse("http://127.0.0.1:1/")?;
        let refused = client.post(&closed, &[], Vec::new()).await;
        assert!(
            matches!(refused, Err(AttemptError::Connect(..))),
            "{refused:?}"
        );
        Ok(())
    }
}
