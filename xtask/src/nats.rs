//! A three-server NATS JetStream cluster on loopback for the test run's second pass: the
//! broker-facing integration tests again, with every broker's store on JetStream
//! (`TRM_TEST_STORE=jetstream`, `TRM_TEST_NATS=<urls>`). Ports are picked at run time on
//! 127.0.0.1, every write is fsynced before it is acknowledged, and the servers are killed
//! when the cluster is dropped. (The tests' own helper, `tests/src/nats.rs`, kills and restarts
//! servers; this one only runs them.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running cluster.
pub struct Cluster {
    children: Vec<Child>,
    /// The client URLs, `nats://127.0.0.1:port`.
    pub urls: Vec<String>,
    _dir: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// `GET path` on the monitoring port: the status and the body.
fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

impl Cluster {
    /// Starts `n` clustered servers of `program` and waits until each has JetStream enabled and
    /// the meta leader lists every server as a current peer.
    pub fn start(program: &Path, n: usize) -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let mut ports = Vec::new();
        for _ in 0..n {
            ports.push((free_port()?, free_port()?, free_port()?));
        }
        let root = dir.path().to_owned();
        // Built first, so that the servers already started are killed if one fails to start.
        let mut cluster = Cluster {
            children: Vec::new(),
            urls: ports
                .iter()
                .map(|(c, _, _)| format!("nats://{c}"))
                .collect(),
            _dir: dir,
        };
        for (i, (client, http, route)) in ports.iter().enumerate() {
            let routes: Vec<String> = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, _, r))| format!("\"nats-route://{r}\""))
                .collect();
            let config = root.join(format!("n{i}.conf"));
            std::fs::write(
                &config,
                format!(
                    "server_name: n{i}\nlisten: {client}\nhttp: {http}\nmax_payload: 24MB\n\
                     jetstream {{ store_dir: \"{}\", sync_interval: always, \
                     max_memory_store: 64MB, max_file_store: 4GB }}\n\
                     cluster {{ name: trm-test, listen: {route}, routes: [{}] }}\n",
                    root.join(format!("n{i}")).display(),
                    routes.join(", ")
                ),
            )?;
            let log = std::fs::File::create(root.join(format!("n{i}.log")))?;
            cluster.children.push(
                Command::new(program)
                    .arg("--config")
                    .arg(&config)
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .with_context(|| format!("starting {}", program.display()))?,
            );
        }
        let https: Vec<SocketAddr> = ports.iter().map(|(_, h, _)| *h).collect();
        let start = Instant::now();
        loop {
            let healthy = https
                .iter()
                .all(|h| matches!(get(*h, "/healthz?js-enabled-only=true"), Ok((200, _))));
            let current = https
                .iter()
                .filter_map(|h| get(*h, "/jsz").ok())
                .map(|(_, body)| {
                    // The leader lists its peers; each current one says `"current": true`.
                    body.matches("\"current\": true").count() + 1
                })
                .max()
                .unwrap_or(0);
            if healthy && current >= n {
                return Ok(cluster);
            }
            if start.elapsed() > Duration::from_secs(60) {
                bail!("the NATS cluster did not become ready in 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_servers_start_ready_and_stop_with_the_cluster() -> anyhow::Result<()> {
        let program = crate::workspace_root().join(crate::tools::NATS_SERVER);
        if !program.is_file() {
            bail!(
                "{} is missing: `cargo xtask test` installs it",
                program.display()
            );
        }
        let cluster = Cluster::start(&program, 3)?;
        let addrs: Vec<SocketAddr> = cluster
            .urls
            .iter()
            .map(|url| url.trim_start_matches("nats://").parse())
            .collect::<Result<_, _>>()?;
        assert_eq!(addrs.len(), 3);
        for addr in &addrs {
            TcpStream::connect(addr)?;
        }
        drop(cluster);
        for addr in &addrs {
            assert!(TcpStream::connect(addr).is_err(), "{addr} still listens");
        }
        Ok(())
    }
}
