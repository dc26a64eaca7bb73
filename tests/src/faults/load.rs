//! The load: one sender per route, each sending referrals one after another through its node's
//! admin socket, as `trm send` does. Every referral has its own case reference and idempotency
//! key; a call that fails (the node was killed mid-call, say) is repeated with the same key
//! until the node answers, so the sender never creates a second referral. A referral counts as
//! sent once the node acknowledged it. The round pauses the senders (waiting for calls in
//! flight) before it checks.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedRwLockWriteGuard, RwLock};
use tokio::task::JoinSet;
use trm_proto::pb;

use super::cluster::{Cluster, ROUTES};
use crate::fixtures;

/// How long one call may take before it is given up and repeated.
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// How long a sender keeps repeating one referral before it records its outcome as unknown.
const GIVE_UP: Duration = Duration::from_secs(90);
/// The pause between two referrals of one sender.
const PACE: Duration = Duration::from_millis(250);
/// The pause before a failed call is repeated.
const RETRY: Duration = Duration::from_millis(250);

/// A referral the sender's node acknowledged.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The message id the node answered.
    pub id: String,
    /// The sender.
    pub from: String,
    /// The addressee.
    pub to: String,
    /// Unique to this referral.
    pub case_ref: String,
    /// The round it was sent in.
    pub round: usize,
}

/// A referral whose call never succeeded: it may or may not have been sent.
#[derive(Clone, Debug)]
pub struct Unknown {
    /// Its case reference.
    pub case_ref: String,
    /// The last error.
    pub error: String,
}

/// What the senders did.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Acknowledged referrals, in order.
    pub sent: Vec<Sent>,
    /// Referrals given up on.
    pub unknown: Vec<Unknown>,
    /// Calls that failed and were repeated.
    pub retries: u64,
    /// The round in progress.
    pub round: usize,
}

/// The running senders.
pub struct Load {
    gate: Arc<RwLock<()>>,
    /// What the senders did.
    pub ledger: Arc<Mutex<Ledger>>,
    senders: JoinSet<()>,
}

impl Load {
    /// Starts one sender per route, paused; `seed` makes the keys of this run its own.
    pub fn start(cluster: &Cluster, seed: u64) -> anyhow::Result<(Self, Paused)> {
        let gate = Arc::new(RwLock::new(()));
        let paused = Paused {
            _held: gate.clone().try_write_owned()?,
        };
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut senders = JoinSet::new();
        for (n, (from, to)) in ROUTES.iter().enumerate() {
            let sender = Sender {
                name: format!("{seed}-{n}"),
                from: (*from).to_owned(),
                to: (*to).to_owned(),
                socket: cluster.fed.node_socket(from),
                template: fixtures::referral(to)?,
                gate: gate.clone(),
                ledger: ledger.clone(),
            };
            senders.spawn(sender.run());
        }
        Ok((
            Self {
                gate,
                ledger,
                senders,
            },
            paused,
        ))
    }

    /// Pauses the senders: answers once every call in flight has finished.
    pub async fn pause(&self) -> Paused {
        Paused {
            _held: self.gate.clone().write_owned().await,
        }
    }

    /// The acknowledged referrals and the count of those given up on, so far.
    pub fn snapshot(&self) -> (Vec<Sent>, Vec<Unknown>, u64) {
        match self.ledger.lock() {
            Ok(l) => (l.sent.clone(), l.unknown.clone(), l.retries),
            Err(_) => (Vec::new(), Vec::new(), 0),
        }
    }

    /// Starts round `round`: what is acknowledged from now on belongs to it.
    pub fn resume(&self, paused: Paused, round: usize) {
        if let Ok(mut l) = self.ledger.lock() {
            l.round = round;
        }
        drop(paused);
    }

    /// Stops the senders.
    pub fn stop(&mut self) {
        self.senders.abort_all();
    }
}

/// The senders are paused while this is held.
pub struct Paused {
    _held: OwnedRwLockWriteGuard<()>,
}

struct Sender {
    name: String,
    from: String,
    to: String,
    socket: PathBuf,
    template: pb::SendRequest,
    gate: Arc<RwLock<()>>,
    ledger: Arc<Mutex<Ledger>>,
}

impl Sender {
    async fn run(self) {
        let mut client = None;
        for n in 0u64.. {
            let permit = self.gate.read().await;
            let mut request = self.template.clone();
            request.case_ref = format!("FAULTS-{}-{n}", self.name);
            request.idempotency_key = format!("faults-key-{}-{n}", self.name);
            let started = Instant::now();
            let outcome = loop {
                match self.call(&mut client, &request).await {
                    Ok(id) => break Ok(id),
                    Err(e) if started.elapsed() > GIVE_UP => break Err(e),
                    Err(_) => {
                        client = None;
                        if let Ok(mut l) = self.ledger.lock() {
                            l.retries += 1;
                        }
                        tokio::time::sleep(RETRY).await;
                    }
                }
            };
            if let Ok(mut l) = self.ledger.lock() {
                match outcome {
                    Ok(id) => {
                        let round = l.round;
                        l.sent.push(Sent {
                            id,
                            from: self.from.clone(),
                            to: self.to.clone(),
                            case_ref: request.case_ref.clone(),
                            round,
                        });
                    }
                    Err(e) => l.unknown.push(Unknown {
                        case_ref: request.case_ref.clone(),
                        error: e.to_string(),
                    }),
                }
            }
            drop(permit);
            tokio::time::sleep(PACE).await;
        }
    }

    async fn call(
        &self,
        client: &mut Option<pb::node_admin_client::NodeAdminClient<tonic::transport::Channel>>,
        request: &pb::SendRequest,
    ) -> anyhow::Result<String> {
        let mut connected = match client.take() {
            Some(c) => c,
            None => trm_dev::socket::connect(&self.socket).await?,
        };
        let answer = tokio::time::timeout(CALL_LIMIT, connected.send(request.clone())).await??;
        *client = Some(connected);
        Ok(answer.into_inner().message_id)
    }
}
