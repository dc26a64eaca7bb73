//! The accept loop: the only way in. Each TCP connection first takes a place under two caps
//! (connections in total, connections from its IP address); one over either cap is closed at
//! once and logged once per address per interval. A connection with a place must complete the
//! TLS handshake ([`crate::handshake`]) within the configured time or is dropped; the place is
//! given back when the connection closes, whatever closed it. Established connections go to
//! tonic's `serve_with_incoming`, which reads the peer's certificates from them for the
//! per-call checks of [`crate::auth`].

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, warn};
use trm_tls::Refusals;

use crate::config::Network;

/// Established connections waiting for the server to take them.
const READY_BACKLOG: usize = 64;

/// Pause after a failed `accept` (out of file descriptors, say), so that the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A stream of established TLS connections for `serve_with_incoming`.
pub type Incoming = ReceiverStream<io::Result<TlsStream<Connection>>>;

/// Accepts TCP connections on `listener` under the caps of `network`, runs each TLS handshake
/// with `tls` on its own task within the handshake timeout, and yields the connections whose
/// handshake succeeded. Ends when the stream is dropped.
pub fn incoming(listener: TcpListener, tls: Arc<ServerConfig>, network: &Network) -> Incoming {
    let (ready, stream) = mpsc::channel(READY_BACKLOG);
    let acceptor = TlsAcceptor::from(tls);
    let limits = Arc::new(Limits::new(
        network.max_connections,
        network.max_connections_per_address,
    ));
    let keepalive = TcpKeepalive::new().with_time(network.tcp_keepalive);
    let handshake_timeout = network.handshake_timeout;
    let log = Arc::new(Refusals::default());
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = ready.closed() => return,
            };
            let (tcp, from) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    debug!(cause = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            let permit = match limits.admit(from.ip()) {
                Ok(permit) => permit,
                Err(refusal) => {
                    // Dropping the socket closes it before anything is read.
                    drop(tcp);
                    refused(&log, from, &refusal);
                    continue;
                }
            };
            if let Err(e) = tune(&tcp, &keepalive) {
                debug!(%from, cause = %e, "setting socket options failed");
            }
            let connection = Connection {
                tcp,
                _permit: permit,
            };
            let (acceptor, ready, log) = (acceptor.clone(), ready.clone(), log.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(handshake_timeout, acceptor.accept(connection)).await {
                    Ok(Ok(tls)) => {
                        let _ = ready.send(Ok(tls)).await;
                    }
                    // Certificate refusals are logged by the verifier, with the fingerprint.
                    Ok(Err(e)) => debug!(%from, cause = %e, "TLS handshake failed"),
                    Err(_) => refused(
                        &log,
                        from,
                        &format!(
                            "the TLS handshake did not finish within {} ms",
                            handshake_timeout.as_millis()
                        ),
                    ),
                }
            });
        }
    });
    ReceiverStream::new(stream)
}

/// Sets TCP keepalive and turns off Nagle's algorithm (gRPC sends small frames).
fn tune(tcp: &TcpStream, keepalive: &TcpKeepalive) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    SockRef::from(tcp).set_tcp_keepalive(keepalive)
}

/// Logs, at most once per address per interval, that a connection from `from` was dropped.
fn refused(log: &Refusals<IpAddr>, from: SocketAddr, reason: &dyn std::fmt::Display) {
    if let Some(suppressed) = log.admit(&from.ip().to_canonical(), Instant::now()) {
        warn!(address = %from.ip(), suppressed, "connection dropped: {reason}");
    }
}

/// Why a connection got no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The broker holds as many connections as it may.
    #[error("the broker already holds its limit of {0} connections")]
    Total(usize),
    /// The address holds as many connections as it may.
    #[error("this address already holds its limit of {0} connections")]
    Address(usize),
}

/// Counts open connections, in total and per IP address. Entries leave the table when their
/// last connection closes, so it holds at most as many entries as there are connections.
#[derive(Debug)]
struct Limits {
    total: usize,
    per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Limits {
    fn new(total: usize, per_address: usize) -> Self {
        Self {
            total,
            per_address,
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more connection from `ip`, or why there is none.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let ip = ip.to_canonical();
        let mut open = self.lock();
        if open.total >= self.total {
            return Err(Refusal::Total(self.total));
        }
        let from_ip = open.by_address.entry(ip).or_insert(0);
        if *from_ip >= self.per_address {
            return Err(Refusal::Address(self.per_address));
        }
        *from_ip += 1;
        open.total += 1;
        Ok(Permit {
            limits: self.clone(),
            ip,
        })
    }
}

/// One connection's place under the caps, given back on drop.
#[derive(Debug)]
struct Permit {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(from_ip) = open.by_address.get_mut(&self.ip) {
            *from_ip = from_ip.saturating_sub(1);
            if *from_ip == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

/// An accepted TCP connection holding its place under the caps until it is dropped.
#[derive(Debug)]
pub struct Connection {
    tcp: TcpStream,
    _permit: Permit,
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.tcp.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn each_address_and_the_total_are_capped_and_places_come_back_when_connections_close()
    -> Result<(), Refusal> {
        let limits = Arc::new(Limits::new(3, 2));
        let a1 = limits.admit(A)?;
        let a2 = limits.admit(A)?;
        assert_eq!(limits.admit(A).err(), Some(Refusal::Address(2)));
        let b1 = limits.admit(B)?;
        // B has room of its own, but the broker is full.
        assert_eq!(limits.admit(B).err(), Some(Refusal::Total(3)));
        drop(a1);
        let a3 = limits.admit(A)?;
        drop((a2, a3, b1));
        assert_eq!(limits.lock().total, 0);
        assert!(limits.lock().by_address.is_empty());
        Ok(())
    }

    #[test]
    fn an_ipv4_address_mapped_into_ipv6_counts_as_itself() -> Result<(), Refusal> {
        let limits = Arc::new(Limits::new(10, 1));
        let _v4 = limits.admit(A)?;
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(limits.admit(mapped).err(), Some(Refusal::Address(1)));
        // The refusal log keys by the same canonical address.
        assert_eq!(A.to_canonical(), mapped.to_canonical());
        Ok(())
    }

    /// A self-signed server certificate for `at.broker.trm`, and a client trusting it.
    fn tls_pair()
    -> Result<(Arc<ServerConfig>, Arc<rustls::ClientConfig>), Box<dyn std::error::Error>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = rcgen::generate_simple_self_signed(vec!["at.broker.trm".to_owned()])?;
        let cert = certified.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der())?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert)?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok((Arc::new(server), Arc::new(client)))
    }

    #[tokio::test]
    async fn accepted_connections_reach_the_server_with_nagle_turned_off()
    -> Result<(), Box<dyn std::error::Error>> {
        use tokio_stream::StreamExt;

        let (server, client) = tls_pair()?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut connections = incoming(listener, server, &Network::default());
        let dialling = tokio::spawn(async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = rustls::pki_types::ServerName::try_from("at.broker.trm")
                .map_err(io::Error::other)?;
            tokio_rustls::TlsConnector::from(client)
                .connect(name, tcp)
                .await
        });
        let accepted = tokio::time::timeout(Duration::from_secs(30), connections.next())
            .await?
            .ok_or("the accept loop ended")??;
        // tonic's own `tcp_nodelay` does not apply to connections handed to
        // `serve_with_incoming`: the accept loop must turn Nagle off itself.
        assert!(accepted.get_ref().0.tcp.nodelay()?, "Nagle is on");
        let keepalive = SockRef::from(&accepted.get_ref().0.tcp).keepalive()?;
        assert!(keepalive, "TCP keepalive is off");
        let _client = dialling.await??;
        Ok(())
    }
}
