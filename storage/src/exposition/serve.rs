//! The tiny HTTP server of the metrics page: it answers `GET /metrics` (and `GET /`) on up to
//! [`MAX_CONNECTIONS`] connections at once, each within [`REQUEST_TIMEOUT`], and closes the
//! connection after every answer: a scraper every few seconds is all it expects. A request
//! must name the host as an IP address or `localhost` (answered 421 otherwise), so that a web
//! page cannot read the metrics through DNS rebinding. [`start`] binds the configured
//! address and writes the bound one to the data folder; [`fetch`] is the client side.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::settings::BOUND_ADDRESS_FILE;

/// How long one request may take to arrive and be answered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections are answered at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 4;

/// The pause after a failed accept (out of file descriptors, say), so the server does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The largest request head read; longer requests are answered 431.
const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// The content type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the metrics page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// The bound address could not be written to the data folder.
    #[error("cannot write the metrics address file: {0}")]
    AddressFile(#[from] crate::fs::WriteError),
}

/// Binds `addr`, writes the bound address (useful with port 0) to [`BOUND_ADDRESS_FILE`] in
/// `data_dir` and logs it.
pub async fn start(addr: SocketAddr, data_dir: &Path) -> Result<TcpListener, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    crate::fs::write_atomically(
        &data_dir.join(BOUND_ADDRESS_FILE),
        format!("{bound}\n").as_bytes(),
        crate::fs::PUBLIC,
    )?;
    tracing::info!(addr = %bound, "serving metrics");
    Ok(listener)
}

/// Removes the address file [`start`] wrote, at shutdown, so that a `status` command does
/// not ask an address nobody serves any more.
pub fn forget(data_dir: &Path) {
    match std::fs::remove_file(data_dir.join(BOUND_ADDRESS_FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(cause = %e, "cannot remove the metrics address file"),
    }
}

/// Answers `GET /metrics` (and `GET /`) on `listener` with the page `render` writes, until
/// `shutdown` completes: up to [`MAX_CONNECTIONS`] at once, each within [`REQUEST_TIMEOUT`].
pub async fn serve<R, P>(listener: TcpListener, render: R, shutdown: impl Future<Output = ()>)
where
    R: Fn() -> P + Sync,
    P: Future<Output = String> + Send,
{
    tokio::pin!(shutdown);
    let mut open: Vec<Connection<'_>> = Vec::new();
    loop {
        let event = tokio::select! {
            accepted = listener.accept(), if open.len() < MAX_CONNECTIONS => Event::Accepted(accepted),
            () = std::future::poll_fn(|cx| finish_any(&mut open, cx)), if !open.is_empty() => Event::Finished,
            () = &mut shutdown => return,
        };
        match event {
            Event::Accepted(Ok((stream, _))) => {
                open.push(Box::pin(answer_in_time(stream, &render)))
            }
            Event::Accepted(Err(e)) => {
                // Out of file descriptors, say: pause rather than spin.
                tracing::debug!(cause = %e, "metrics connection not accepted");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
            Event::Finished => {}
        }
    }
}

/// One connection being answered.
type Connection<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// What woke the server.
enum Event {
    /// A connection came (or accepting failed).
    Accepted(std::io::Result<(TcpStream, SocketAddr)>),
    /// At least one connection was answered.
    Finished,
}

/// Polls every open connection, dropping those done: ready when at least one finished.
fn finish_any(
    open: &mut Vec<Connection<'_>>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<()> {
    let before = open.len();
    open.retain_mut(|connection| connection.as_mut().poll(cx).is_pending());
    if open.len() < before {
        std::task::Poll::Ready(())
    } else {
        std::task::Poll::Pending
    }
}

/// Answers one connection within [`REQUEST_TIMEOUT`].
async fn answer_in_time<R, P>(stream: TcpStream, render: &R)
where
    R: Fn() -> P + Sync,
    P: Future<Output = String> + Send,
{
    match tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, render)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(cause = %e, "metrics request failed"),
        Err(_) => tracing::debug!("metrics request timed out"),
    }
}

/// Whether a request's `Host` header may be answered: absent, `localhost` or an IP address
/// (with or without a port). A browser tricked by DNS rebinding sends the attacker's host
/// name, which is refused.
fn host_allowed(head: &str) -> bool {
    let host = head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim())
    });
    let Some(host) = host else {
        return true;
    };
    if host.parse::<SocketAddr>().is_ok() || host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

/// Reads one request head and answers it.
async fn answer<R, P>(mut stream: TcpStream, render: &R) -> std::io::Result<()>
where
    R: Fn() -> P,
    P: Future<Output = String>,
{
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_BYTES {
            return respond(&mut stream, "431 Request Header Fields Too Large", "").await;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(chunk.get(..read).unwrap_or_default());
    }
    let head = String::from_utf8_lossy(&head);
    if !host_allowed(&head) {
        return respond(
            &mut stream,
            "421 Misdirected Request",
            "ask by IP address or localhost\n",
        )
        .await;
    }
    let line = head.split('\r').next().unwrap_or_default();
    let mut words = line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics" | "/") => respond(&mut stream, "200 OK", &render().await).await,
        ("GET", _) => respond(&mut stream, "404 Not Found", "only /metrics is here\n").await,
        _ => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "only GET is answered\n",
            )
            .await
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Fetches the page at `addr` (for `status` commands and tests): the body of a 200 answer.
pub async fn fetch(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let fetching = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        match answer.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
            _ => Err(std::io::Error::other(format!(
                "unexpected answer from {addr}: {}",
                answer.lines().next().unwrap_or("nothing")
            ))),
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, fetching)
        .await
        .map_err(|_| std::io::Error::other(format!("{addr} did not answer within 5 seconds")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_server_answers_metrics_and_refuses_other_paths_and_methods() {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
            panic!("cannot bind loopback");
        };
        let Ok(addr) = listener.local_addr() else {
            panic!("no address");
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, || async { "up 1\n".to_owned() }, async {
            let _ = stopped.await;
        }));
        assert_eq!(fetch(addr).await.ok().as_deref(), Some("up 1\n"));
        for (request, status) in [
            ("GET /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404"),
            ("POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405"),
        ] {
            let Ok(mut stream) = TcpStream::connect(addr).await else {
                panic!("cannot connect");
            };
            let _ = stream.write_all(request.as_bytes()).await;
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer).await;
            assert!(answer.starts_with(status), "{answer}");
        }
        let _ = stop.send(());
        assert!(server.await.is_ok());
    }

    #[test]
    fn a_host_name_other_than_localhost_is_refused() {
        for (head, allowed) in [
            ("GET / HTTP/1.1\r\nHost: localhost:9464", true),
            ("GET / HTTP/1.1\r\nhost: 127.0.0.1:9464", true),
            ("GET / HTTP/1.1\r\nHost: [::1]:9464", true),
            ("GET / HTTP/1.1\r\nHost: 192.0.2.7", true),
            ("GET / HTTP/1.1", true),
            ("GET / HTTP/1.1\r\nHost: evil.example:9464", false),
            ("GET / HTTP/1.1\r\nHost: localhost.evil.example", false),
        ] {
            assert_eq!(host_allowed(head), allowed, "{head}");
        }
    }

    #[tokio::test]
    async fn an_idle_connection_does_not_hold_up_a_scrape_nor_a_rebound_host_get_the_page() {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
            panic!("cannot bind loopback");
        };
        let Ok(addr) = listener.local_addr() else {
            panic!("no address");
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, || async { "up 1\n".to_owned() }, async {
            let _ = stopped.await;
        }));
        let idle = TcpStream::connect(addr).await;
        assert!(idle.is_ok());
        let started = std::time::Instant::now();
        assert_eq!(fetch(addr).await.ok().as_deref(), Some("up 1\n"));
        assert!(started.elapsed() < Duration::from_secs(2));
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            panic!("cannot connect");
        };
        let _ = stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: evil.example\r\n\r\n")
            .await;
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
        assert!(!answer.contains("up 1"), "{answer}");
        let _ = stop.send(());
        assert!(server.await.is_ok());
    }
}
