//! The failover connector over real loopback sockets and real pinned handshakes: the rule's
//! order, a dead first endpoint skipped, the move back once it answers, checks of a silent
//! first endpoint that leave nothing open, a round that finds nobody, and lists that cannot be
//! used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tower::Service;

use super::*;
use crate::failover::{
    EndpointsError, FailoverConnector, FailoverStream, dial_order, failback_candidates,
};

#[test]
fn a_round_starts_from_the_first_and_failback_looks_only_earlier() {
    assert_eq!(dial_order(3).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(dial_order(0).count(), 0);
    assert_eq!(failback_candidates(0).count(), 0);
    assert_eq!(failback_candidates(2).collect::<Vec<_>>(), vec![0, 1]);
}

/// A loopback port with nobody listening on it (bound, then let go).
async fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// Serves `at`'s certificate on `listener`: each connection gets `tag` and is held open until
/// the client closes it.
fn serve(s: &Setup, listener: TcpListener, tag: u8) -> tokio::task::JoinHandle<()> {
    let acceptor = TlsAcceptor::from(s.server(&s.broker));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    return;
                };
                if stream.write_all(&[tag]).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
            });
        }
    })
}

fn connector(s: &Setup, endpoints: &[SocketAddr]) -> FailoverConnector {
    let inner = crate::Connector::new(s.client(&s.node), &"at".parse().expect("name"))
        .expect("connector")
        .with_timeouts(Duration::from_secs(1), Duration::from_secs(1));
    let listed: Vec<String> = endpoints.iter().map(|a| format!("https://{a}")).collect();
    FailoverConnector::new(inner, &listed)
        .expect("usable list")
        .with_failback_every(Duration::from_millis(200))
}

async fn tag_of(stream: &mut FailoverStream) -> u8 {
    let mut byte = [0; 1];
    stream.read_exact(&mut byte).await.expect("the tag");
    byte[0]
}

#[tokio::test]
async fn a_dead_first_endpoint_is_skipped_and_the_connection_moves_back_once_it_answers() {
    let s = setup();
    let first = dead_port().await;
    let second = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let second_addr = second.local_addr().expect("addr");
    let serving_second = serve(&s, second, b'b');
    let mut failover = connector(&s, &[first, second_addr]);
    let uri: http::Uri = failover.uri().parse().expect("uri");
    assert_eq!(
        uri.port_u16(),
        Some(first.port()),
        "the channel is given the first"
    );

    let mut on_second = failover
        .call(uri.clone())
        .await
        .expect("a round")
        .into_inner();
    assert_eq!(tag_of(&mut on_second).await, b'b');
    // Still down: the connection to the second stays (several checks pass meanwhile).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut probe = [0; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(100), on_second.read(&mut probe))
            .await
            .is_err(),
        "the connection to the second endpoint was closed while the first was still down"
    );

    // The first comes back: the connection to the second is closed within a few checks.
    let back = TcpListener::bind(first)
        .await
        .expect("rebind the first port");
    let serving_first = serve(&s, back, b'a');
    let closed = tokio::time::timeout(Duration::from_secs(5), on_second.read(&mut probe))
        .await
        .expect("closed within 5 s of the first answering");
    let error = closed.expect_err("a read fails once moving back");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionAborted);

    // The next round lands on the first, and a connection there is left alone.
    let mut on_first = failover.call(uri).await.expect("a round").into_inner();
    assert_eq!(tag_of(&mut on_first).await, b'a');
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(100), on_first.read(&mut probe))
            .await
            .is_err(),
        "a connection to the first endpoint has nothing to move back to"
    );
    serving_first.abort();
    serving_second.abort();
}

/// A port that accepts connections and never sends a byte (a half-dead host): counts the
/// connections it accepted and those their client has closed.
struct Silent {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (counting, closing) = (accepted.clone(), closed.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                counting.fetch_add(1, Ordering::SeqCst);
                let closing = closing.clone();
                tokio::spawn(async move {
                    let mut ignored = Vec::new();
                    let _ = tcp.read_to_end(&mut ignored).await;
                    closing.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            addr,
            accepted,
            closed,
            task,
        }
    }

    /// Connections accepted and not yet closed by their client.
    fn open(&self) -> usize {
        self.accepted.load(Ordering::SeqCst) - self.closed.load(Ordering::SeqCst)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn checks_of_a_silent_first_endpoint_leave_no_connection_or_task_behind() {
    let s = setup();
    let silent = Silent::start().await;
    let second = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let second_addr = second.local_addr().expect("addr");
    let serving_second = serve(&s, second, b'b');
    // Handshake deadline 1 s, a check every 200 ms: a check every 1.2 s.
    let mut failover = connector(&s, &[silent.addr, second_addr]);
    let uri: http::Uri = failover.uri().parse().expect("uri");
    let mut on_second = failover.call(uri).await.expect("a round").into_inner();
    assert_eq!(tag_of(&mut on_second).await, b'b');

    // Over several checks, each check's connection is closed at its deadline: at most the
    // check under way is open.
    let watched = tokio::time::Instant::now();
    while watched.elapsed() < Duration::from_secs(4) {
        assert!(silent.open() <= 1, "{} checks left open", silent.open());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let checks = silent.accepted() - 1;
    assert!((2..=4).contains(&checks), "{checks} checks in 4 s");

    // The connection ends in the middle of a check: the check is given up at once, and no
    // other starts.
    let during = silent.accepted();
    while silent.accepted() == during {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(on_second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(silent.open(), 0, "a check outlived its connection");
    let after = silent.accepted();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        silent.accepted(),
        after,
        "checks went on after the connection ended"
    );
    silent.task.abort();
    serving_second.abort();
}

#[tokio::test]
async fn a_round_where_no_endpoint_answers_says_why_for_each_in_order() {
    let s = setup();
    let (a, b) = (dead_port().await, dead_port().await);
    let mut failover = connector(&s, &[a, b]);
    let uri: http::Uri = failover.uri().parse().expect("uri");
    let Err(error) = failover.call(uri).await else {
        panic!("a round over two dead ports connected");
    };
    let tried: Vec<&str> = error.attempts.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(tried, vec![format!("https://{a}"), format!("https://{b}")]);
    assert!(
        error
            .to_string()
            .starts_with(&format!("no endpoint answered: https://{a}: ")),
        "{error}"
    );
}

#[tokio::test]
async fn every_endpoint_must_present_the_brokers_pinned_certificate() {
    let s = setup();
    // The first endpoint answers with a certificate the directory does not list for `at`.
    let impostor = leaf(&s.ca, "at.broker.trm");
    let first = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let first_addr = first.local_addr().expect("addr");
    let acceptor = TlsAcceptor::from(s.server(&impostor));
    let serving_first = tokio::spawn(async move {
        while let Ok((tcp, _)) = first.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });
    let second = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let second_addr = second.local_addr().expect("addr");
    let serving_second = serve(&s, second, b'b');
    let mut failover = connector(&s, &[first_addr, second_addr]);
    let uri: http::Uri = failover.uri().parse().expect("uri");
    let mut stream = failover.call(uri).await.expect("a round").into_inner();
    assert_eq!(tag_of(&mut stream).await, b'b');
    serving_first.abort();
    serving_second.abort();
}

#[test]
fn an_empty_or_unusable_list_is_refused() {
    let s = setup();
    let inner =
        crate::Connector::new(s.client(&s.node), &"at".parse().expect("name")).expect("connector");
    assert_eq!(
        FailoverConnector::new(inner.clone(), &[]).err(),
        Some(EndpointsError::Empty)
    );
    assert_eq!(
        FailoverConnector::new(inner, &["https://".into()]).err(),
        Some(EndpointsError::Unusable {
            endpoint: "https://".into()
        })
    );
}
