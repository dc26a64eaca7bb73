//! Several endpoints for one broker, tried in turn: a connector for one HTTP/2 channel that
//! dials a broker's endpoints in the order the directory (or the configuration) lists them and
//! hands out a connection to the first that completes the pinned handshake.
//!
//! The rule, as an operator expects of a primary and its standbys:
//! - **Every dial is a round from the first listed endpoint** (the preferred one), then the
//!   next, and so on ([`dial_order`]); the round fails only when none answers, and the caller's
//!   backoff applies to whole rounds. A connection that dies (a reset, a keepalive unanswered)
//!   is re-dialled by the channel, so it never stays on a failed endpoint.
//! - **A connection to a later endpoint comes back to an earlier one**: every
//!   [`FailoverConnector::with_failback_every`] it tries the endpoints listed before it
//!   ([`failback_candidates`]) with a full pinned handshake; as soon as one answers, the
//!   connection to the later endpoint is closed, and the channel's next dial, starting from the
//!   first, lands on the recovered one. Calls in flight on the closed connection fail as on any
//!   broken connection and are retried by their callers (envelopes are deduplicated by id).
//!
//! The channel keeps one connection at a time, unlike `Channel::balance_list`, which would
//! spread calls over instances and split a node's delivery stream from its acknowledgements.
//! Every endpoint of a broker must present that broker's certificate: the pins are by broker
//! name and directory fingerprint, whichever endpoint answers.

use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::client::TlsStream;
use tower::Service;
use tracing::{info, warn};

use crate::connect::{Connector, DIAL_TIMEOUT, HANDSHAKE_TIMEOUT, connector_uri};

/// How often a connection to a later endpoint checks whether an earlier one answers again,
/// unless configured otherwise.
pub const DEFAULT_FAILBACK_EVERY: Duration = Duration::from_secs(30);

/// Why a list of endpoints cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointsError {
    /// The list is empty.
    #[error("no endpoint is listed")]
    Empty,
    /// An endpoint is not a URI with a host.
    #[error("endpoint {endpoint:?} is not a usable https://host:port URI")]
    Unusable {
        /// The endpoint as listed.
        endpoint: String,
    },
}

/// Why a round of dials found no endpoint that answered.
#[derive(Debug, thiserror::Error)]
#[error("no endpoint answered: {}", describe(.attempts))]
pub struct NoEndpointAnswered {
    /// Each endpoint tried, in order, with why it failed.
    pub attempts: Vec<(String, io::Error)>,
}

fn describe(attempts: &[(String, io::Error)]) -> String {
    attempts
        .iter()
        .map(|(endpoint, cause)| format!("{endpoint}: {cause}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The order of a round of dials over `count` endpoints: always from the first listed.
pub fn dial_order(count: usize) -> Range<usize> {
    0..count
}

/// The endpoints a connection to endpoint `connected` checks for recovery: those listed
/// before it (none for the first).
pub fn failback_candidates(connected: usize) -> Range<usize> {
    0..connected
}

/// One endpoint: as listed (for logs and errors) and as the HTTP/2 client sees it.
#[derive(Debug, Clone)]
struct Listed {
    endpoint: String,
    uri: http::Uri,
}

/// Dials a broker's endpoints in turn; see the module documentation for the rule.
#[derive(Debug, Clone)]
pub struct FailoverConnector {
    connector: Connector,
    endpoints: Arc<[Listed]>,
    failback_every: Duration,
}

impl FailoverConnector {
    /// A connector trying `endpoints` (`https://host:port` each, the preferred first) with
    /// `connector`, which pins the broker's certificate.
    pub fn new(connector: Connector, endpoints: &[String]) -> Result<Self, EndpointsError> {
        if endpoints.is_empty() {
            return Err(EndpointsError::Empty);
        }
        let endpoints = endpoints
            .iter()
            .map(|endpoint| {
                let uri: http::Uri =
                    connector_uri(endpoint)
                        .parse()
                        .map_err(|_| EndpointsError::Unusable {
                            endpoint: endpoint.clone(),
                        })?;
                if uri.host().is_none_or(str::is_empty) {
                    return Err(EndpointsError::Unusable {
                        endpoint: endpoint.clone(),
                    });
                }
                Ok(Listed {
                    endpoint: endpoint.clone(),
                    uri,
                })
            })
            .collect::<Result<Arc<[Listed]>, _>>()?;
        Ok(Self {
            connector,
            endpoints,
            failback_every: DEFAULT_FAILBACK_EVERY,
        })
    }

    /// The same connector checking for a recovered earlier endpoint every `every`.
    pub fn with_failback_every(mut self, every: Duration) -> Self {
        self.failback_every = every;
        self
    }

    /// The URI to give the HTTP/2 client (the first endpoint's; the connector ignores the URI
    /// it is called with and dials its own list).
    pub fn uri(&self) -> String {
        self.endpoints
            .first()
            .map_or_else(String::new, |listed| listed.uri.to_string())
    }

    /// How long a whole round may take when every endpoint costs its full dial and handshake
    /// deadlines: the channel's connect timeout.
    pub fn round_timeout(&self) -> Duration {
        let count = u32::try_from(self.endpoints.len()).unwrap_or(u32::MAX);
        DIAL_TIMEOUT
            .saturating_add(HANDSHAKE_TIMEOUT)
            .saturating_mul(count)
    }

    /// One round: the endpoints in [`dial_order`], the first that completes the handshake.
    async fn round(self) -> Result<TokioIo<FailoverStream>, NoEndpointAnswered> {
        let mut attempts = Vec::new();
        for index in dial_order(self.endpoints.len()) {
            let Some(listed) = self.endpoints.get(index) else {
                break;
            };
            match self.connector.clone().call(listed.uri.clone()).await {
                Ok(io) => {
                    let failback = (index > 0).then(|| {
                        for (endpoint, cause) in &attempts {
                            warn!(endpoint, cause = %cause, "broker endpoint did not answer");
                        }
                        info!(
                            endpoint = listed.endpoint,
                            "connected to a later broker endpoint"
                        );
                        let (close, closed) = oneshot::channel();
                        tokio::spawn(self.clone().watch_earlier(index, close));
                        closed
                    });
                    return Ok(TokioIo::new(FailoverStream {
                        inner: io.into_inner(),
                        failback,
                        closing: false,
                    }));
                }
                Err(cause) => attempts.push((listed.endpoint.clone(), cause)),
            }
        }
        Err(NoEndpointAnswered { attempts })
    }

    /// While the connection to endpoint `connected` lives, tries the earlier endpoints every
    /// `failback_every`; tells the connection to close when one answers. Each check is one dial
    /// and handshake within the connector's deadlines whose connection is closed at once, and
    /// the task ends as soon as the connection does, even in the middle of a check of a silent
    /// endpoint: checks leave neither connections nor tasks behind.
    async fn watch_earlier(self, connected: usize, mut close: oneshot::Sender<()>) {
        loop {
            tokio::select! {
                () = close.closed() => return,
                () = tokio::time::sleep(self.failback_every) => {}
            }
            for index in failback_candidates(connected) {
                let Some(listed) = self.endpoints.get(index) else {
                    break;
                };
                let answered = tokio::select! {
                    () = close.closed() => return,
                    answered = self.connector.clone().call(listed.uri.clone()) => answered.is_ok(),
                };
                if answered {
                    info!(
                        endpoint = listed.endpoint,
                        "an earlier broker endpoint answers again; moving the connection back"
                    );
                    let _ = close.send(());
                    return;
                }
            }
        }
    }
}

impl Service<http::Uri> for FailoverConnector {
    type Response = TokioIo<FailoverStream>;
    type Error = NoEndpointAnswered;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        Box::pin(self.clone().round())
    }
}

/// A connection to one endpoint; one to a later endpoint fails every read and write once told
/// that an earlier endpoint answers again, so that the channel dials a new round.
#[derive(Debug)]
pub struct FailoverStream {
    inner: TlsStream<TcpStream>,
    /// Completes when an earlier endpoint answers again; `None` on the first endpoint or once
    /// the watcher has ended without that.
    failback: Option<oneshot::Receiver<()>>,
    /// The connection is being moved back: every read and write fails.
    closing: bool,
}

impl FailoverStream {
    /// The TLS stream underneath.
    pub fn get_ref(&self) -> &TlsStream<TcpStream> {
        &self.inner
    }

    /// Whether the connection is being moved back, polling the signal (which registers the
    /// task to be woken when it comes).
    fn moving_back(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(signal) = self.failback.as_mut() {
            match Pin::new(signal).poll(cx) {
                Poll::Ready(Ok(())) => {
                    self.closing = true;
                    self.failback = None;
                }
                Poll::Ready(Err(_)) => self.failback = None,
                Poll::Pending => {}
            }
        }
        self.closing
    }
}

fn moved_back() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection closed to move back to an earlier broker endpoint that answers again",
    )
}

impl AsyncRead for FailoverStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.moving_back(cx) {
            return Poll::Ready(Err(moved_back()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FailoverStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.moving_back(cx) {
            return Poll::Ready(Err(moved_back()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.moving_back(cx) {
            return Poll::Ready(Err(moved_back()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.moving_back(cx) {
            return Poll::Ready(Err(moved_back()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
