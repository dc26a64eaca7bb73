//! The ceiling the broker is measured against: a raw tonic server on the broker's own TLS
//! material (its certificate and key, client certificates required and checked against the
//! federation's CA), answering `Broker/Submit` by storing each envelope's bytes into the
//! broker's storage engine (opened as the broker opens it), and answering only once a group commit
//! ([`trm_storage::GroupCommit`]) has flushed it. No signature checks, no quotas, no receipts
//! worth the name: what is left is the transport and the durable write, the least any broker
//! must do for an envelope.
//!
//! It runs as a process of its own (`trm-load ceiling`), as the broker does, so that the two
//! share the machine the same way. It prints `listening <address>` once it accepts calls.

use std::path::Path;
use std::pin::Pin;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use prost::Message;
use std::io::BufRead;
use tokio_stream::Stream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};
use trm_proto::pb;

/// What the ceiling prints before the address it listens on.
const LISTENING: &str = "listening ";

/// Inserts one envelope's bytes under its key into the engine (not yet durable).
type Insert = Box<dyn Fn([u8; 8], Vec<u8>) -> Result<(), String> + Send + Sync>;

/// The ceiling's `Broker` service: `Submit` stores and flushes; nothing else is offered.
struct Ceiling {
    store: Insert,
    commit: trm_storage::GroupCommit,
    next: AtomicU64,
}

#[tonic::async_trait]
impl pb::broker_server::Broker for Ceiling {
    async fn submit(
        &self,
        request: Request<pb::Envelope>,
    ) -> Result<Response<pb::SignedReceipt>, Status> {
        let bytes = request.into_inner().encode_to_vec();
        let key = self.next.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        (self.store)(key, bytes).map_err(|e| Status::unavailable(format!("storing: {e}")))?;
        self.commit
            .durable()
            .await
            .map_err(|e| Status::unavailable(format!("flushing: {e}")))?;
        Ok(Response::new(pb::SignedReceipt::default()))
    }

    type DeliverStream = Pin<Box<dyn Stream<Item = Result<pb::Delivery, Status>> + Send>>;

    async fn deliver(
        &self,
        _request: Request<tonic::Streaming<pb::DeliveryAck>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        Err(Status::unimplemented("the ceiling only stores submissions"))
    }

    async fn fetch_directory(
        &self,
        _request: Request<pb::FetchDirectoryRequest>,
    ) -> Result<Response<pb::SignedDirectory>, Status> {
        Err(Status::unimplemented("the ceiling only stores submissions"))
    }
}

/// Serves the ceiling on a free loopback port with the TLS material of the broker configured
/// in `broker_config`, storing into a database in `data`, until the process is killed.
pub async fn serve(broker_config: &Path, data: &Path) -> anyhow::Result<()> {
    let config = trm_broker::config::BrokerConfigFile::load(broker_config)?.validate()?;
    let db = trm_storage::open_db(data)?;
    let envelopes = db.open_tree("envelopes")?;
    let ceiling = Ceiling {
        store: Box::new(move |key, bytes| {
            envelopes
                .insert(key, bytes)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        commit: trm_storage::GroupCommit::try_start(db, data)?,
        next: AtomicU64::new(0),
    };
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            &config.tls_cert_pem,
            &config.tls_key_pem,
        ))
        .client_ca_root(Certificate::from_pem(&config.ca_pem));
    let incoming = TcpIncoming::bind(([127, 0, 0, 1], 0).into())?.with_nodelay(Some(true));
    let addr = incoming.local_addr()?;
    println!("{LISTENING}{addr}");
    Server::builder()
        .tls_config(tls)?
        .add_service(
            pb::broker_server::BrokerServer::new(ceiling)
                .max_decoding_message_size(config.max_envelope_bytes + 64 * 1024),
        )
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// The ceiling running as a process, killed when dropped.
pub struct CeilingProcess {
    child: Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Kept open so that its printing never fails.
    _stdout: std::io::BufReader<ChildStdout>,
}

impl CeilingProcess {
    /// Starts `program ceiling` (this tool) on the broker's configuration, storing under
    /// `data`, and waits until it says where it listens.
    pub async fn start(program: &Path, broker_config: &Path, data: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(program)
            .arg("ceiling")
            .arg("--broker-config")
            .arg(broker_config)
            .arg("--data")
            .arg(data)
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the ceiling server")?;
        let stdout: ChildStdout = child.stdout.take().context("the ceiling has no output")?;
        let reading = tokio::task::spawn_blocking(move || {
            let mut stdout = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let read = stdout.read_line(&mut line);
            (stdout, line, read)
        });
        let read = tokio::time::timeout(Duration::from_secs(20), reading).await;
        let (stdout, line) = match read {
            Ok(Ok((stdout, line, Ok(_)))) => (Some(stdout), line),
            _ => (None, String::new()),
        };
        let addr = line.trim().strip_prefix(LISTENING).map(str::parse);
        match (addr, stdout) {
            (Some(Ok(addr)), Some(stdout)) => Ok(Self {
                child,
                addr,
                _stdout: stdout,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the ceiling server did not say where it listens (it printed {line:?})")
            }
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for CeilingProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ceiling's figures, measured in a run's first pass and the baseline of every store's.
#[derive(Clone, Debug, Default)]
pub struct Ceilings {
    /// The median acceptance rate by envelope size, per second.
    pub accept: std::collections::BTreeMap<usize, f64>,
    /// The JetStream ceiling's median publish rate by envelope size, per second (measured in
    /// the JetStream pass).
    pub accept_jetstream: std::collections::BTreeMap<usize, f64>,
    /// The median p99 time from submission to receipt, milliseconds, by offered rate (its
    /// place in `--rates`).
    pub latency_p99: std::collections::BTreeMap<usize, f64>,
    /// The median CPU time the ceiling server spent per accepted envelope, milliseconds, by
    /// envelope size.
    pub cpu_per_envelope: std::collections::BTreeMap<usize, f64>,
}

impl Ceilings {
    /// The acceptance rate the end-to-end and drain rates are compared with: the ceiling's at
    /// the largest size measured up to `e2e_size`, else at the smallest.
    pub fn baseline(&self, e2e_size: usize) -> Option<f64> {
        baseline(&self.accept, e2e_size)
    }

    /// The same for the JetStream ceiling.
    pub fn baseline_jetstream(&self, e2e_size: usize) -> Option<f64> {
        baseline(&self.accept_jetstream, e2e_size)
    }
}

/// The rate at the largest size up to `size` in `rates`, else at the smallest.
fn baseline(rates: &std::collections::BTreeMap<usize, f64>, size: usize) -> Option<f64> {
    {
        rates
            .range(..=size)
            .next_back()
            .or_else(|| rates.iter().next())
            .map(|(_, rate)| *rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_is_the_largest_size_up_to_the_end_to_end_size() {
        let mut ceilings = Ceilings::default();
        assert_eq!(ceilings.baseline(8192), None);
        ceilings.accept.insert(16_384, 300.0);
        assert_eq!(ceilings.baseline(8192), Some(300.0));
        ceilings.accept.insert(1024, 5_000.0);
        ceilings.accept.insert(8192, 1_300.0);
        assert_eq!(ceilings.baseline(8192), Some(1_300.0));
        assert_eq!(ceilings.baseline(4096), Some(5_000.0));
    }
}
