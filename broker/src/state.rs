//! What every request handler and background task shares: identity, keys, the directory in
//! use (the newer of the configured file and the one kept from before a restart), the store, the wake-up signals of connected nodes' delivery streams, the links to peer
//! brokers, and the shutdown signal with the background tasks it stops.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::DirectoryHandle;

use crate::config::BrokerConfig;
use crate::connect::ClientTls;
use crate::link::{PeerLink, RelayStatus};
use crate::refresh;
use crate::store::{BrokerStore, WakeUp};

/// How this broker takes part in the federation: relaying to peers and refreshing the
/// directory.
#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// The federation's name, which every directory must carry.
    pub name: String,
    /// The pinned authority key that every directory must be signed with.
    pub authority_key: VerifyingKey,
    /// The directory file, re-read at every refresh.
    pub directory_file: PathBuf,
    /// Where the adopted directory is kept (in the data folder), so that a restart starts from
    /// it rather than from an older configured file.
    pub kept_directory: PathBuf,
    /// Interval between two directory refreshes.
    pub directory_refresh: Duration,
    /// First retry ceiling towards an unreachable peer.
    pub backoff_initial: Duration,
    /// Largest retry ceiling towards an unreachable peer.
    pub backoff_max: Duration,
    /// What this broker presents and trusts when it calls a peer.
    pub tls: ClientTls,
}

/// The broker's shared state.
pub struct BrokerState {
    /// This broker's name.
    pub name: BrokerName,
    /// Signs ACCEPTED and RELAYED receipts (and refusals of relays, for the sender).
    pub signing_key: SigningKey,
    /// The verified federation directory in use; call `current()` per request, so that a
    /// refresh (a revocation, a new key) takes effect at once.
    pub directory: DirectoryHandle,
    /// Durable queues, outboxes, duplicate table and relay log, behind the engine chosen at
    /// start-up (see [`BrokerStore`] for why a trait object).
    pub store: Arc<dyn BrokerStore>,
    /// Largest accepted envelope.
    pub max_envelope_bytes: usize,
    /// Queue caps, submission rates and the free-disk watermark.
    pub quotas: crate::quota::Quotas,
    /// Relaying and refreshing.
    pub federation: FederationSettings,
    /// How long a relay-log record is kept (`relay_log_retention_days`).
    pub relay_log_retention: Duration,
    /// Wakes the directory refresh task at once (tests, operators).
    pub refresh_now: Notify,
    /// Submissions, deliveries, refusals and write times, for the metrics page.
    pub metrics: crate::metrics::Counters,
    /// Held while a directory is kept on disk and adopted, so two adoptions cannot interleave.
    adopting: Mutex<()>,
    /// Turns true when the broker shuts down.
    shutdown: watch::Sender<bool>,
    /// The delivery streams' wake-up signals, per node.
    wakers: Mutex<HashMap<NodeAddr, Arc<Notify>>>,
    /// The links to peer brokers.
    links: Mutex<HashMap<BrokerName, Arc<PeerLink>>>,
    /// Relay and refresh tasks, joined at shutdown.
    tasks: Mutex<JoinSet<()>>,
}

impl BrokerState {
    /// Assembles the state from a validated configuration and an opened store.
    /// The directory in use is the newer of the configured one and the one kept in the data
    /// folder from before a restart ([`refresh::start_from_kept`]).
    pub fn new(config: &BrokerConfig, store: Arc<dyn BrokerStore>) -> Self {
        let kept_directory = config.data_dir.join(refresh::KEPT_DIRECTORY);
        let directory = refresh::start_from_kept(
            config.directory.clone(),
            &kept_directory,
            &config.authority_key,
            &config.federation,
        );
        Self {
            name: config.name.clone(),
            signing_key: config.signing_key.clone(),
            directory: DirectoryHandle::new(directory),
            store,
            max_envelope_bytes: config.max_envelope_bytes,
            quotas: crate::quota::Quotas::new(config.quotas.clone(), &config.data_dir),
            federation: FederationSettings {
                name: config.federation.clone(),
                authority_key: config.authority_key,
                directory_file: config.directory_file.clone(),
                kept_directory,
                directory_refresh: config.directory_refresh,
                backoff_initial: config.relay_backoff_initial,
                backoff_max: config.relay_backoff_max,
                tls: ClientTls::from_config(config),
            },
            relay_log_retention: config.relay_log_retention,
            refresh_now: Notify::new(),
            metrics: crate::metrics::Counters::default(),
            adopting: Mutex::new(()),
            shutdown: watch::Sender::new(false),
            wakers: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Held while a directory is kept on disk and adopted.
    pub fn adoption(&self) -> MutexGuard<'_, ()> {
        self.adopting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The signal a delivery stream for `node` waits on.
    pub fn waker(&self, node: &NodeAddr) -> Arc<Notify> {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.entry(node.clone()).or_default().clone()
    }

    /// Tells `node`'s delivery streams, if any, that something new is queued, here and (through
    /// the store) in the other broker processes on the same store, where the node may be
    /// connected instead. Every stream of the node is woken ([`wake_every_stream`]).
    pub fn wake(&self, node: &NodeAddr) {
        wake_every_stream(&self.waker(node));
        self.store.announce(WakeUp::Node(node.clone()));
    }

    /// Acts on a wake-up another broker process announced: wakes the delivery stream or relay
    /// task this process has for it, if any (it makes no entry for a node or peer it has none
    /// for, so announcements cannot grow its tables).
    pub fn woken(&self, wake_up: &WakeUp) {
        match wake_up {
            WakeUp::Node(node) => {
                let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(waker) = wakers.get(node) {
                    wake_every_stream(waker);
                }
            }
            WakeUp::Peer(peer) => {
                let links = self.links.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(link) = links.get(peer) {
                    link.wake();
                }
            }
        }
    }

    /// Wakes every delivery stream and relay task of this process, so that each looks at its
    /// queue or outbox again: the periodic rescan that catches a lost wake-up.
    pub fn wake_everyone(&self) {
        {
            let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
            for waker in wakers.values() {
                wake_every_stream(waker);
            }
        }
        let links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        for link in links.values() {
            link.wake();
        }
    }

    /// The link to peer broker `peer`.
    pub fn link(&self, peer: &BrokerName) -> Arc<PeerLink> {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        links.entry(peer.clone()).or_default().clone()
    }

    /// Tells the relay task for `peer` that something new is in its outbox, here and (through
    /// the store) in the other broker processes on the same store, one of which may hold the
    /// relay lease for `peer` instead.
    pub fn wake_relay(&self, peer: &BrokerName) {
        self.link(peer).wake();
        self.store.announce(WakeUp::Peer(peer.clone()));
    }

    /// The relay status towards `peer`, if this broker relays to it.
    pub fn relay_status(&self, peer: &BrokerName) -> Option<RelayStatus> {
        let links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        links.get(peer).map(|link| link.status())
    }

    /// A receiver that turns true when the broker shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Whether the broker is shutting down.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Runs `task` in the background until it ends; [`BrokerState::stop`] waits for it.
    /// Tasks must end when the shutdown signal turns true.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if self.is_shutting_down() {
            return;
        }
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.spawn(task);
    }

    /// Signals shutdown: delivery streams and background tasks end.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Signals shutdown and waits for every background task to end, so that none of them
    /// still holds the store when this returns.
    pub async fn stop(&self) {
        self.begin_shutdown();
        loop {
            let mut tasks = {
                let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
                std::mem::take(&mut *tasks)
            };
            if tasks.is_empty() {
                return;
            }
            while let Some(joined) = tasks.join_next().await {
                if let Err(e) = joined
                    && e.is_panic()
                {
                    tracing::error!(cause = %e, "background task panicked");
                }
            }
        }
    }
}

/// Wakes every delivery stream waiting on `waker`, and keeps a permit for the next one to wait
/// if none is waiting, so that a wake-up between two scans is not lost.
///
/// A node may have two streams open at once: a new one on the connection it dialled after its
/// old connection went silent (a cut link, a failover to another endpoint), and the old one,
/// which the broker ends only when its keepalive goes unanswered. Waking one stream only would
/// hand every other wake-up to the dead stream, and an item queued last would wait on the live
/// stream until something else is queued for the node.
fn wake_every_stream(waker: &Notify) {
    waker.notify_waiters();
    waker.notify_one();
}

/// Completes when `signal` (from [`BrokerState::shutdown_signal`]) turns true, or at once if
/// it already has.
pub async fn stopped(signal: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, so callers' futures stay `Send`.
    let _ = signal.wait_for(|stopping| *stopping).await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::wake_every_stream;

    /// How long a woken wait may take to complete.
    const WOKEN: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_wake_up_reaches_every_stream_of_a_node_not_only_the_oldest() {
        let waker = Notify::new();
        let (dead, live) = (waker.notified(), waker.notified());
        tokio::pin!(dead);
        tokio::pin!(live);
        dead.as_mut().enable();
        live.as_mut().enable();
        wake_every_stream(&waker);
        assert!(tokio::time::timeout(WOKEN, dead).await.is_ok());
        assert!(
            tokio::time::timeout(WOKEN, live).await.is_ok(),
            "the newer stream was not woken"
        );
    }

    #[tokio::test]
    async fn a_wake_up_while_no_stream_waits_is_kept_for_the_next_wait() {
        let waker = Notify::new();
        wake_every_stream(&waker);
        assert!(tokio::time::timeout(WOKEN, waker.notified()).await.is_ok());
    }
}
