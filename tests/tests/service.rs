//! The daemons as a service manager runs them: the broker program tells `NOTIFY_SOCKET`
//! `READY=1` once it accepts connections and the node program once its socket answers, and
//! both `STOPPING=1` on a SIGTERM sent the moment they said READY; the broker's and the
//! node's data folders are 0700 with every file in them 0600 after a real start, whatever the
//! umask; and a key file other users may read stops the daemon before it opens anything, with
//! the `chmod` that fixes it.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use trm_dev::local::LocalFederation;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

/// The broker program's configuration for the test federation, written to `dir/broker.toml`,
/// listening on `listen` (the federation's reserved address when `None`).
fn broker_toml(
    fed: &LocalFederation,
    dir: &Path,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let material = fed
        .federation
        .broker(BROKER)
        .ok_or_else(|| anyhow::anyhow!("no broker {BROKER}"))?
        .clone();
    let config = trm_dev::devfed::broker_config(
        &fed.federation,
        &material,
        listen.map_or_else(|| fed.broker_addr(BROKER), Ok)?,
        fed.broker_data_dir(BROKER),
    );
    let path = dir.join("broker.toml");
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok((path, config.tls_key))
}

/// Starts the broker program on `config` with `NOTIFY_SOCKET` set to `notify`.
fn spawn(config: &Path, notify: &Path) -> anyhow::Result<Child> {
    spawn_program(env!("CARGO_BIN_EXE_broker-process"), config, notify)
}

/// Starts `program` (a daemon) on `config` with `NOTIFY_SOCKET` set to `notify`.
fn spawn_program(program: &str, config: &Path, notify: &Path) -> anyhow::Result<Child> {
    Ok(Command::new(program)
        .arg("--config")
        .arg(config)
        .env("TRM_LOG", "warn")
        .env("NOTIFY_SOCKET", notify)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?)
}

/// The next notification on `socket`, within 30 seconds; an error with the daemon's own words
/// if it exits first.
fn next_state(socket: &UnixDatagram, broker: &mut Child) -> anyhow::Result<String> {
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut buffer = [0u8; 256];
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match socket.recv(&mut buffer) {
            Ok(read) => {
                return Ok(
                    String::from_utf8_lossy(buffer.get(..read).unwrap_or_default()).into_owned(),
                );
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(status) = broker.try_wait()? {
            let mut said = String::new();
            if let Some(mut stderr) = broker.stderr.take() {
                std::io::Read::read_to_string(&mut stderr, &mut said)?;
            }
            anyhow::bail!("the daemon exited ({status}) before notifying: {said}");
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no notification within 30 s"
        );
    }
}

/// A loopback address no one listens on, found just before use (the federation's reserved
/// one may have been taken by another test since).
fn fresh_address() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Every folder and file under `folder` (itself included) whose mode is not 0700 for a
/// folder or 0600 for a file (sockets too), as `path mode`.
fn loose_entries(folder: &Path) -> anyhow::Result<Vec<String>> {
    let mut loose = Vec::new();
    let metadata = std::fs::symlink_metadata(folder)?;
    let mode = metadata.permissions().mode() & 0o7777;
    let want = if metadata.is_dir() { 0o700 } else { 0o600 };
    if mode != want {
        loose.push(format!("{} {mode:04o}", folder.display()));
    }
    if metadata.is_dir() {
        for entry in std::fs::read_dir(folder)? {
            loose.extend(loose_entries(&entry?.path())?);
        }
    }
    Ok(loose)
}

#[tokio::test]
async fn the_broker_says_ready_when_it_listens_and_stopping_on_sigterm_with_private_files()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let listen = fresh_address()?;
    let (config, _) = broker_toml(&fed, dir.path(), Some(listen))?;
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path)?;
    let mut broker = spawn(&config, &notify_path)?;

    let ready = next_state(&notify, &mut broker);
    assert_eq!(ready?, "READY=1");
    // Ready means ready: the port takes a connection at once.
    tokio::net::TcpStream::connect(listen).await?;
    let data = fed.broker_data_dir(BROKER);
    assert_eq!(loose_entries(&data)?, Vec::<String>::new());
    assert!(
        std::fs::read_dir(&data)?.count() > 0,
        "the store is in the folder"
    );

    terminate(&broker)?;
    assert_eq!(next_state(&notify, &mut broker)?, "STOPPING=1");
    let exit = tokio::task::spawn_blocking(move || broker.wait()).await??;
    assert!(exit.success(), "{exit}");
    Ok(())
}

#[tokio::test]
async fn a_key_file_others_may_read_stops_the_broker_and_the_node_with_the_fix()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let (config, tls_key) = broker_toml(&fed, dir.path(), None)?;
    std::fs::set_permissions(&tls_key, std::fs::Permissions::from_mode(0o644))?;
    let broker = spawn(&config, &dir.path().join("nobody-listens"))?;
    let output = tokio::task::spawn_blocking(move || broker.wait_with_output()).await??;
    assert_eq!(output.status.code(), Some(64));
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        said.trim(),
        format!(
            "trm-broker: key file {0} may be read or changed by other users (mode 0644); \
             allow its owner only: chmod 600 {0}",
            tls_key.display()
        )
    );
    // Nothing was opened: no data folder.
    assert!(!fed.broker_data_dir(BROKER).exists());

    let node = fed.node_config(LEFOE)?;
    std::fs::set_permissions(&node.age_key, std::fs::Permissions::from_mode(0o640))?;
    let refused = node.clone().validate().err().map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("mode 0640") && e.contains("chmod 600")),
        "{refused:?}"
    );
    std::fs::set_permissions(&node.age_key, std::fs::Permissions::from_mode(0o600))?;
    node.validate()?;
    Ok(())
}

/// Sends SIGTERM to `child`.
fn terminate(child: &Child) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -TERM {}: {status}", child.id());
    Ok(())
}

#[tokio::test]
async fn the_node_says_ready_and_stops_cleanly_on_a_sigterm_sent_at_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let config = dir.path().join("lefoe.toml");
    std::fs::write(&config, toml::to_string(&fed.node_config(LEFOE)?)?)?;
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path)?;
    let mut node = spawn_program(env!("CARGO_BIN_EXE_node-process"), &config, &notify_path)?;

    assert_eq!(next_state(&notify, &mut node)?, "READY=1");
    // A service manager may stop a unit the moment it is ready: the handler is in place.
    terminate(&node)?;
    assert_eq!(next_state(&notify, &mut node)?, "STOPPING=1");
    let exit = tokio::task::spawn_blocking(move || node.wait()).await??;
    assert!(exit.success(), "{exit}");
    assert!(
        !fed.node_socket(LEFOE).exists(),
        "a clean stop removes the socket"
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_started_node_keeps_its_store_keys_and_socket_private() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    // A referral, so that per-case keys exist in the vault.
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(
        &lefoe,
        &sent.message_id,
        "delivered",
        Duration::from_secs(30),
    )
    .await?;
    for node in [LEFOE, ASTRA] {
        let data = fed.node_data_dir(node);
        assert_eq!(loose_entries(&data)?, Vec::<String>::new(), "{node}");
        assert_eq!(loose_entries(&fed.node_socket(node))?, Vec::<String>::new());
    }
    assert_eq!(
        loose_entries(&fed.broker_data_dir(BROKER))?,
        Vec::<String>::new()
    );
    fed.shutdown().await?;
    Ok(())
}
