//! A link proxy: a TCP forwarder on loopback in front of one target address, whose behaviour
//! can be switched while connections are open, to put the faults of real networks between two
//! processes.
//!
//! - [`Mode::Pass`] forwards bytes both ways.
//! - [`Mode::Reset`] closes every open connection with a TCP reset (RST) and resets each new
//!   one as soon as it is accepted, as a host whose service is gone does.
//! - [`Mode::Blackhole`] accepts connections but drops every byte both ways and never closes,
//!   as a broken middlebox or a half-dead host does. A connection accepted in this mode opens
//!   no connection to the target (a silent host holds none); one that was open when the mode
//!   came keeps its target connection (whose end hears nothing more, as behind a cut link) and
//!   stays silent for good, even after the mode is switched back (its stream is broken, as
//!   TCP's would be after the retransmissions gave up): only new connections pass again. A
//!   broken connection is let go once both ends have closed it.
//! - [`Mode::Hold`] accepts connections but forwards nothing until switched back; then what was
//!   held passes (a path that stalls and recovers before TCP gives up).
//!
//! [`LinkProxy::connections`] counts accepted connections and the bytes in each direction.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the proxy treats the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Reset every connection, open and new.
    Reset,
    /// Accept, drop every byte both ways, never close.
    Blackhole,
    /// Accept, forward nothing until switched back, then pass what was held.
    Hold,
}

/// What the proxy has seen since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Connections accepted (reset ones included).
    pub accepted: u64,
    /// Connections reset on arrival, in [`Mode::Reset`].
    pub reset_on_arrival: u64,
    /// Bytes forwarded from the clients to the target.
    pub to_target: u64,
    /// Bytes forwarded from the target to the clients.
    pub to_client: u64,
    /// Bytes dropped in [`Mode::Blackhole`], both ways.
    pub dropped: u64,
    /// Connections to the target open now.
    pub open_to_target: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    reset_on_arrival: AtomicU64,
    to_target: AtomicU64,
    to_client: AtomicU64,
    dropped: AtomicU64,
    open_to_target: AtomicU64,
}

/// Counts one open connection to the target while it lives.
struct OpenToTarget(Arc<Counters>);

impl OpenToTarget {
    fn new(counters: &Arc<Counters>) -> Self {
        counters.open_to_target.fetch_add(1, Ordering::Relaxed);
        Self(counters.clone())
    }
}

impl Drop for OpenToTarget {
    fn drop(&mut self) {
        self.0.open_to_target.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A running proxy; it stops (and resets its connections) when dropped.
#[derive(Debug)]
pub struct LinkProxy {
    addr: SocketAddr,
    target: SocketAddr,
    mode: watch::Sender<Mode>,
    counters: Arc<Counters>,
    accept: JoinHandle<()>,
}

impl LinkProxy {
    /// Listens on 127.0.0.1 on a free port, forwarding to `target` in [`Mode::Pass`].
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (mode, _) = watch::channel(Mode::Pass);
        let counters = Arc::new(Counters::default());
        let accept = tokio::spawn(accept_loop(
            listener,
            target,
            mode.subscribe(),
            counters.clone(),
        ));
        Ok(Self {
            addr,
            target,
            mode,
            counters,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://` and [`LinkProxy::addr`], as a directory or configuration names an endpoint.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Where the proxy forwards to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Switches the mode; open connections follow at once.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// What the proxy has seen so far.
    pub fn connections(&self) -> Counts {
        let c = &self.counters;
        Counts {
            accepted: c.accepted.load(Ordering::Relaxed),
            reset_on_arrival: c.reset_on_arrival.load(Ordering::Relaxed),
            to_target: c.to_target.load(Ordering::Relaxed),
            to_client: c.to_client.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            open_to_target: c.open_to_target.load(Ordering::Relaxed),
        }
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Reset);
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    mode: watch::Receiver<Mode>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: wait a little instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        match *mode.borrow() {
            Mode::Reset => {
                counters.reset_on_arrival.fetch_add(1, Ordering::Relaxed);
                reset(&client);
            }
            Mode::Blackhole => {
                tokio::spawn(silent(client, mode.clone(), counters.clone()));
            }
            Mode::Pass | Mode::Hold => {
                tokio::spawn(forward(client, target, mode.clone(), counters.clone()));
            }
        }
    }
}

/// Makes the socket's close send RST instead of FIN.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// One direction of a connection.
struct Side {
    open: bool,
    buf: Vec<u8>,
}

impl Side {
    fn new() -> Self {
        Self {
            open: true,
            buf: vec![0; 16 * 1024],
        }
    }
}

/// What happened to one connection's turn.
enum Step {
    /// Read `n` bytes from the client (`true`) or the target (`false`); 0 is end of stream.
    Read(bool, usize),
    /// A read failed.
    Failed,
    /// The mode changed.
    Mode,
}

async fn forward(
    mut client: TcpStream,
    target: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    counters: Arc<Counters>,
) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        fail(client, None, mode, &counters).await;
        return;
    };
    let open = OpenToTarget::new(&counters);
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut from_client = Side::new();
    let mut from_target = Side::new();
    // Set once a byte was dropped: the stream is broken for good.
    let mut broken = false;
    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Reset {
            reset(&client);
            reset(&upstream);
            return;
        }
        // Both ends closed: nothing is left to forward or to drop (a broken connection too,
        // whose ends no longer hear anything either way).
        if !from_client.open && !from_target.open {
            return;
        }
        let reading = current != Mode::Hold;
        let step = tokio::select! {
            // A change of mode first: no byte passes under a mode that no longer holds.
            biased;
            changed = mode.changed() => match changed {
                Ok(()) => Step::Mode,
                Err(_) => Step::Failed,
            },
            read = client.read(&mut from_client.buf), if reading && from_client.open => {
                read.map_or(Step::Failed, |n| Step::Read(true, n))
            }
            read = upstream.read(&mut from_target.buf), if reading && from_target.open => {
                read.map_or(Step::Failed, |n| Step::Read(false, n))
            }
        };
        let (from_client_side, n) = match step {
            Step::Mode => continue,
            Step::Failed => {
                drop(open);
                fail(client, Some(upstream), mode, &counters).await;
                return;
            }
            Step::Read(side, n) => (side, n),
        };
        let (source, sink, counter) = if from_client_side {
            (&mut from_client, &mut upstream, &counters.to_target)
        } else {
            (&mut from_target, &mut client, &counters.to_client)
        };
        if current == Mode::Blackhole || broken {
            if n == 0 {
                // Never pass the close on: the other side hears nothing.
                source.open = false;
            } else {
                broken = true;
                counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            }
            continue;
        }
        if n == 0 {
            source.open = false;
            let _ = sink.shutdown().await;
            continue;
        }
        let Some(bytes) = source.buf.get(..n) else {
            continue;
        };
        // A write that blocks (the reader stopped) still yields to a blackhole or a reset.
        let written = tokio::select! {
            biased;
            changed = mode.wait_for(|m| matches!(m, Mode::Blackhole | Mode::Reset)) => {
                Some(changed.map_or(Mode::Reset, |m| *m))
            }
            written = sink.write_all(bytes) => match written {
                Ok(()) => None,
                Err(_) => Some(Mode::Reset),
            },
        };
        match written {
            None => {
                counter.fetch_add(n as u64, Ordering::Relaxed);
            }
            Some(Mode::Reset) => {
                drop(open);
                fail(client, Some(upstream), mode, &counters).await;
                return;
            }
            // Blackholed mid-write: the bytes are lost and the stream is broken for good.
            Some(_) => {
                broken = true;
                counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}

/// A connection accepted in [`Mode::Blackhole`]: no connection to the target, every byte from
/// the client dropped, until the client gives up or the mode changes (then it is reset).
async fn silent(client: TcpStream, mode: watch::Receiver<Mode>, counters: Arc<Counters>) {
    fail(client, None, mode, &counters).await;
}

/// A connection whose target cannot be reached or failed: reset at once, except in
/// [`Mode::Blackhole`], where the client hears nothing (its bytes are dropped) until it gives
/// up or the mode turns to [`Mode::Reset`].
async fn fail(
    mut client: TcpStream,
    upstream: Option<TcpStream>,
    mut mode: watch::Receiver<Mode>,
    counters: &Counters,
) {
    if let Some(upstream) = &upstream {
        reset(upstream);
    }
    drop(upstream);
    let mut buf = vec![0; 16 * 1024];
    loop {
        if *mode.borrow_and_update() != Mode::Blackhole {
            reset(&client);
            return;
        }
        tokio::select! {
            biased;
            changed = mode.changed() => {
                if changed.is_err() {
                    reset(&client);
                    return;
                }
            }
            read = client.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An echo server; returns its address.
    async fn echo() -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Ok(addr)
    }

    async fn round_trip(s: &mut TcpStream, wait: Duration) -> anyhow::Result<Option<Vec<u8>>> {
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(wait, s.read_exact(&mut buf)).await {
            Ok(read) => {
                read?;
                Ok(Some(buf.to_vec()))
            }
            Err(_) => Ok(None),
        }
    }

    /// A server that closes each connection a second after accepting it; returns its address.
    async fn closing_after_a_second() -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    drop(s);
                });
            }
        });
        Ok(addr)
    }

    /// Waits up to five seconds for the proxy to hold `open` connections to its target.
    async fn until_open_to_target(proxy: &LinkProxy, open: u64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while proxy.connections().open_to_target != open {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{:?}, expected {open} open to the target",
                proxy.connections()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_silent_endpoint_holds_no_connection_to_its_target() -> anyhow::Result<()> {
        let proxy = LinkProxy::start(closing_after_a_second().await?).await?;

        // Open before the silence: its target connection stays until both ends closed it.
        let mut before = TcpStream::connect(proxy.addr()).await?;
        until_open_to_target(&proxy, 1).await?;
        proxy.set(Mode::Blackhole);
        before.write_all(b"lost").await?;
        // Accepted in the silence: no target connection at all.
        let mut during = TcpStream::connect(proxy.addr()).await?;
        during.write_all(b"lost too").await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(proxy.connections().open_to_target, 1);
        drop(before);
        // The target closes its end within a second: the broken connection is let go.
        until_open_to_target(&proxy, 0).await?;

        let counts = proxy.connections();
        assert_eq!(counts.accepted, 2);
        assert_eq!(counts.dropped, 12, "{counts:?}");
        drop(during);
        Ok(())
    }

    #[tokio::test]
    async fn each_mode_does_what_it_says() -> anyhow::Result<()> {
        let proxy = LinkProxy::start(echo().await?).await?;
        let short = Duration::from_millis(300);
        let mut a = TcpStream::connect(proxy.addr()).await?;
        assert_eq!(round_trip(&mut a, short).await?, Some(b"ping".to_vec()));

        // Hold: nothing passes, then what was held does.
        proxy.set(Mode::Hold);
        assert_eq!(round_trip(&mut a, short).await?, None);
        proxy.set(Mode::Pass);
        let mut buf = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), a.read_exact(&mut buf)).await??;
        assert_eq!(&buf, b"ping");

        // Blackhole: bytes vanish; that connection stays dead, a new one passes.
        proxy.set(Mode::Blackhole);
        assert_eq!(round_trip(&mut a, short).await?, None);
        proxy.set(Mode::Pass);
        assert_eq!(round_trip(&mut a, short).await?, None);
        let mut b = TcpStream::connect(proxy.addr()).await?;
        assert_eq!(round_trip(&mut b, short).await?, Some(b"ping".to_vec()));

        // Reset: open connections and new ones are reset.
        proxy.set(Mode::Reset);
        let mut buf = [0u8; 4];
        let read = tokio::time::timeout(Duration::from_secs(5), b.read(&mut buf)).await?;
        assert!(read.is_err() || read.is_ok_and(|n| n == 0));
        let mut c = TcpStream::connect(proxy.addr()).await?;
        let read = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await?;
        assert!(read.is_err() || read.is_ok_and(|n| n == 0));

        let counts = proxy.connections();
        assert_eq!(counts.accepted, 3);
        assert_eq!(counts.reset_on_arrival, 1);
        assert_eq!(counts.to_target, 12);
        assert_eq!(counts.to_client, 12);
        assert!(counts.dropped >= 4, "{counts:?}");
        Ok(())
    }
}
