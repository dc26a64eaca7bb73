//! The broker and the node as real processes: started from their programs on a written
//! configuration file, and killed (SIGKILL) when dropped so that a failing test leaves nothing
//! running.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running broker process.
pub struct BrokerProcess(Child);

impl BrokerProcess {
    /// The process id (to read its memory from `/proc`, say).
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL: no graceful shutdown, no flush on drop.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.0.kill()?;
        self.0.wait()?;
        Ok(())
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Starts the broker `program` (a test's `CARGO_BIN_EXE_broker-process`) on `config`, its log
/// (warnings and errors, written to standard output) going to `log`, and waits until it
/// accepts connections on `addr`.
pub async fn spawn_broker(
    program: &Path,
    config: &Path,
    addr: SocketAddr,
    log: Stdio,
) -> anyhow::Result<BrokerProcess> {
    spawn_broker_logging(program, config, addr, log, "warn").await
}

/// [`spawn_broker`] with the log filter `filter` (`TRM_LOG`, e.g. `info`), uncoloured.
pub async fn spawn_broker_logging(
    program: &Path,
    config: &Path,
    addr: SocketAddr,
    log: Stdio,
    filter: &str,
) -> anyhow::Result<BrokerProcess> {
    let child = BrokerProcess(
        Command::new(program)
            .arg("--config")
            .arg(config)
            .env("TRM_LOG", filter)
            .env("NO_COLOR", "1")
            .stdout(log)
            .spawn()?,
    );
    trm_dev::wait::wait_for(
        Duration::from_secs(20),
        "the broker process to listen",
        || async move { Ok(tokio::net::TcpStream::connect(addr).await.is_ok()) },
    )
    .await?;
    Ok(child)
}

/// A running node process: the same kind of handle as a broker's, killed (SIGKILL) when dropped.
pub type NodeProcess = BrokerProcess;

/// Starts the node `program` (a test's `CARGO_BIN_EXE_node-process`) on `config`, its log going
/// to `log`, and waits until its admin service answers on `socket`.
pub async fn spawn_node(
    program: &Path,
    config: &Path,
    socket: &Path,
    log: Stdio,
) -> anyhow::Result<NodeProcess> {
    let child = BrokerProcess(
        Command::new(program)
            .arg("--config")
            .arg(config)
            .env("TRM_LOG", "warn")
            .stdout(log)
            .spawn()?,
    );
    trm_dev::wait::wait_for(
        Duration::from_secs(20),
        "the node process to listen",
        || async move { Ok(tokio::net::UnixStream::connect(socket).await.is_ok()) },
    )
    .await?;
    Ok(child)
}
