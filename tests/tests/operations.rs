//! Operating brokers and nodes, over real processes on loopback mutual TLS: the metrics page
//! answers with its series during traffic and shows a stopped peer broker with its last error,
//! `trm-broker status` says the same for a person, SIGHUP adopts a directory that revokes a
//! node so that its next submission is refused within seconds (no restart), and the logs, at
//! trace level, hold neither escape codes nor a referral's free text or case reference; a
//! SIGHUP while a daemon starts does not end it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use tonic::Code;
use trm_authority::Authority;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_storage::exposition::{self, Sample};
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, BROKER, CANARY, LEFOE, OPEN_GATE};

const WAIT: Duration = Duration::from_secs(30);

/// A process killed (SIGKILL) when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Running {
    /// Sends SIGHUP.
    fn hangup(&self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.0.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -HUP failed");
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `program --config config` with `env`, its output going to `log`.
fn spawn(
    program: &str,
    config: &Path,
    env: &[(&str, &str)],
    log: &Path,
) -> anyhow::Result<Running> {
    let mut command = Command::new(program);
    command
        .arg("--config")
        .arg(config)
        .env_remove("TRM_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .stdout(Stdio::from(std::fs::File::create(log)?))
        .stderr(Stdio::from(
            std::fs::File::options().append(true).open(log)?,
        ));
    for (name, value) in env {
        command.env(name, value);
    }
    Ok(Running(command.spawn()?))
}

/// Writes broker `name`'s configuration (metrics on a free loopback port, quick retries);
/// returns the file.
fn broker_config_file(fed: &LocalFederation, name: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let material = fed.federation.broker(name).context("no such broker")?;
    let addr = fed.broker_addr(name)?;
    let mut config =
        trm_dev::devfed::broker_config(&fed.federation, material, addr, fed.broker_data_dir(name));
    config.metrics.listen = Some("127.0.0.1:0".into());
    config.relay_backoff_initial_ms = trm_dev::local::TEST_RELAY_BACKOFF_INITIAL_MS;
    config.relay_backoff_max_ms = trm_dev::local::TEST_RELAY_BACKOFF_MAX_MS;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok(path)
}

/// Writes broker `name`'s configuration, serving metrics on a free loopback port and retrying
/// peers quickly, and starts it as a process; returns it with its configuration file.
async fn broker_process(
    fed: &LocalFederation,
    name: &str,
    dir: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<(Running, PathBuf)> {
    let addr = fed.broker_addr(name)?;
    let path = broker_config_file(fed, name, dir)?;
    let process = spawn(
        env!("CARGO_BIN_EXE_broker-process"),
        &path,
        env,
        &dir.join(format!("{name}.log")),
    )?;
    trm_dev::wait::wait_for(WAIT, "the broker process to listen", || async move {
        Ok(tokio::net::TcpStream::connect(addr).await.is_ok())
    })
    .await?;
    Ok((process, path))
}

/// Writes node `address`'s configuration (metrics on a free loopback port); returns the file.
fn node_config_file(fed: &LocalFederation, address: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{address}.toml"));
    let mut config = fed.node_config(address)?;
    config.metrics.listen = Some("127.0.0.1:0".into());
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok(path)
}

/// Starts node `address` as a process with `env`, serving metrics on a free loopback port;
/// waits until its admin socket answers.
async fn node_process(
    fed: &LocalFederation,
    address: &str,
    dir: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<Running> {
    let path = node_config_file(fed, address, dir)?;
    let process = spawn(
        env!("CARGO_BIN_EXE_node-process"),
        &path,
        env,
        &dir.join(format!("{address}.log")),
    )?;
    trm_dev::wait::wait_for(
        WAIT,
        "the node process to serve its socket",
        || async move { Ok(fed.client(address).await.is_ok()) },
    )
    .await?;
    Ok(process)
}

/// Where the broker or node with data folder `data_dir` serves its metrics, once it has
/// written the address.
async fn metrics_addr(data_dir: &Path) -> anyhow::Result<SocketAddr> {
    let file = data_dir.join(exposition::BOUND_ADDRESS_FILE);
    trm_dev::wait::wait_for(WAIT, "the metrics address file", || {
        let file = file.clone();
        async move { Ok(file.exists()) }
    })
    .await?;
    Ok(std::fs::read_to_string(&file)?.trim().parse()?)
}

/// The value of series `name` whose `label` is `value` (or the unlabelled one).
fn value(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && label.is_none_or(|(l, v)| s.label(l) == Some(v)))
        .map(|s| s.value)
}

/// Waits until the metrics page at `addr` satisfies `check`; returns that page.
async fn wait_for_metrics(
    addr: SocketAddr,
    what: &str,
    check: impl Fn(&[Sample]) -> bool,
) -> anyhow::Result<Vec<Sample>> {
    let deadline = Instant::now() + WAIT;
    loop {
        let samples = exposition::parse(&exposition::fetch(addr).await?);
        if check(&samples) {
            return Ok(samples);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "metrics never showed {what}: {samples:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const AT: &str = "at";
const RS: &str = "rs";
const LEFOE_AT: &str = "lefoe-ibf@at";
const CARITAS_AT: &str = "caritas@at";
const ASTRA_RS: &str = "astra@rs";

#[tokio::test]
async fn the_metrics_show_traffic_and_a_stopped_peer_with_its_error_and_status_says_so()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = LocalFederation::create(
        dir.path(),
        "trm-operations-test",
        &[(AT, "AT"), (RS, "RS")],
        &[
            (LEFOE_AT, "LEFÖ-IBF", "ngo", "AT"),
            (CARITAS_AT, "Caritas", "ngo", "AT"),
            (ASTRA_RS, "Astra", "ngo", "RS"),
        ],
    )
    .await?;
    let (_at, at_config) = broker_process(&fed, AT, dir.path(), &[("TRM_LOG", "info")]).await?;
    fed.start_broker(RS).await?;
    for node in [LEFOE_AT, CARITAS_AT, ASTRA_RS] {
        fed.start_node(node).await?;
    }
    let addr = metrics_addr(&fed.broker_data_dir(AT)).await?;
    let mut lefoe = fed.client(LEFOE_AT).await?;
    lefoe.send(fixtures::referral(CARITAS_AT)?).await?;
    lefoe.send(fixtures::referral(ASTRA_RS)?).await?;
    fixtures::wait_for_inbox(&fed.client(CARITAS_AT).await?, 1, WAIT).await?;
    fixtures::wait_for_inbox(&fed.client(ASTRA_RS).await?, 1, WAIT).await?;

    let peer = Some(("peer", RS));
    let samples = wait_for_metrics(addr, "the traffic", |s| {
        value(s, "trm_broker_submissions_total", None) >= Some(2.0)
            && value(s, "trm_broker_deliveries_total", None) >= Some(1.0)
            && value(s, "trm_broker_peer_batches_total", peer) >= Some(1.0)
    })
    .await?;
    assert_eq!(
        value(&samples, "trm_broker_peer_reachable", peer),
        Some(1.0)
    );
    assert_eq!(value(&samples, "trm_broker_outbox_items", peer), Some(0.0));
    for node in [LEFOE_AT, CARITAS_AT] {
        let queued = value(&samples, "trm_broker_queue_items", Some(("node", node)));
        assert!(queued.is_some(), "no queue series for {node}");
    }
    assert_eq!(
        value(&samples, "trm_broker_queue_items", Some(("node", ASTRA_RS))),
        None
    );
    assert_eq!(
        value(&samples, "trm_broker_directory_version", None),
        Some(1.0)
    );
    let now = trm_proto::time::now_ms() as f64 / 1000.0;
    let directory_expiry = value(
        &samples,
        "trm_broker_directory_expiry_timestamp_seconds",
        None,
    );
    assert!(directory_expiry.is_some_and(|t| t > now + 20.0 * 86_400.0));
    let certificate_expiry = value(
        &samples,
        "trm_broker_certificate_expiry_timestamp_seconds",
        None,
    );
    assert!(certificate_expiry.is_some_and(|t| t > now));
    let commits = value(&samples, "trm_broker_store_commit_seconds_count", None);
    assert!(commits >= Some(2.0), "{commits:?}");
    let all = value(
        &samples,
        "trm_broker_store_commit_seconds_bucket",
        Some(("le", "+Inf")),
    );
    assert_eq!(all, commits);

    // The peer goes away: the next referral waits in the outbox and the peer shows as
    // unreachable, with why.
    fed.stop_broker(RS).await?;
    lefoe.send(fixtures::referral(ASTRA_RS)?).await?;
    let samples = wait_for_metrics(addr, "the peer outage", |s| {
        value(s, "trm_broker_peer_reachable", peer) == Some(0.0)
            && value(s, "trm_broker_outbox_items", peer) >= Some(1.0)
            && s.iter()
                .any(|s| s.name == "trm_broker_peer_last_error" && s.label("peer") == Some(RS))
    })
    .await?;
    assert!(value(&samples, "trm_broker_peer_failures", peer) >= Some(1.0));
    let error = samples
        .iter()
        .find(|s| s.name == "trm_broker_peer_last_error")
        .and_then(|s| s.label("error"))
        .unwrap_or_default()
        .to_owned();
    // A fixed word (`unavailable`, `timed_out`, ...), never text the peer chose.
    let fixed_word = |kind: &str| {
        !kind.is_empty()
            && kind.len() < 40
            && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    };
    assert!(fixed_word(&error), "{error}");

    let status = Command::new(env!("CARGO_BIN_EXE_broker-process"))
        .arg("status")
        .arg("--config")
        .arg(&at_config)
        .output()?;
    let text = String::from_utf8(status.stdout)?;
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("Federation directory: version 1, expires"),
        "{text}"
    );
    assert!(text.contains(&format!("{RS:<12} UNREACHABLE")), "{text}");
    // The kind again (the failure itself may differ from one attempt to the next).
    let shown = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("last error: "))
        .unwrap_or_default();
    assert!(fixed_word(shown), "{text}");
    assert!(
        text.contains(LEFOE_AT) && text.contains(CARITAS_AT),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn sighup_adopts_a_directory_revoking_a_node_whose_next_submission_is_refused_at_once()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let (broker, config) = broker_process(&fed, BROKER, dir.path(), &[("TRM_LOG", "info")]).await?;
    let addr = metrics_addr(&fed.broker_data_dir(BROKER)).await?;
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, OPEN_GATE)?;
    let mut open_gate = fixtures::raw_client_as(&fed, OPEN_GATE).await?;
    open_gate
        .submit(craft::sealed(
            &keys,
            &directory,
            &fixtures::referral(ASTRA)?,
        )?)
        .await?;

    // A change that needs a restart is named, not silently ignored.
    let text = std::fs::read_to_string(&config)?;
    let changed = text.replace(
        "max_envelope_bytes = 4194304",
        "max_envelope_bytes = 2097152",
    );
    anyhow::ensure!(changed != text, "no max_envelope_bytes line in {text}");
    std::fs::write(&config, changed)?;
    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.revoke(OPEN_GATE)?;
    authority.publish(30)?;
    let hung_up = Instant::now();
    broker.hangup()?;
    // Accepted while the reload is under way, before the new directory is in use.
    let mut accepted = 1.0;
    let refused = loop {
        let envelope = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
        match open_gate.submit(envelope).await {
            Err(status) => break status,
            Ok(_) => {
                accepted += 1.0;
                anyhow::ensure!(hung_up.elapsed() < WAIT, "never refused after SIGHUP");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let took = hung_up.elapsed();
    assert!(took < Duration::from_secs(5), "refused only after {took:?}");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("not registered in federation directory version 2"),
        "{refused:?}"
    );
    let samples = exposition::parse(&exposition::fetch(addr).await?);
    assert_eq!(
        value(&samples, "trm_broker_directory_version", None),
        Some(2.0)
    );
    let refusals = value(
        &samples,
        "trm_broker_refusals_total",
        Some(("reason", "unknown_certificate")),
    );
    assert!(refusals >= Some(1.0), "{refusals:?}");
    assert_eq!(
        value(&samples, "trm_broker_submissions_total", None),
        Some(accepted)
    );
    // A second reload names the change again: it is still not in effect.
    let log_path = dir.path().join(format!("{BROKER}.log"));
    broker.hangup()?;
    trm_dev::wait::wait_for(WAIT, "the second reload", || {
        let log_path = log_path.clone();
        async move {
            let log = std::fs::read_to_string(&log_path)?;
            Ok(log.matches("reload done").count() >= 2)
        }
    })
    .await?;
    // The same process: the counters were not reset by a restart.
    drop(broker);
    let log = std::fs::read_to_string(dir.path().join(format!("{BROKER}.log")))?;
    assert!(log.contains("reloading on SIGHUP"), "{log}");
    assert!(log.contains("adopted federation directory"), "{log}");
    let warned = log
        .lines()
        .find(|line| line.contains("configuration key changed"))
        .unwrap_or_default();
    assert!(
        warned.contains("WARN") && warned.contains("max_envelope_bytes"),
        "{log}"
    );
    assert_eq!(log.matches("configuration key changed").count(), 2, "{log}");
    Ok(())
}

#[tokio::test]
async fn logs_at_trace_level_hold_no_escape_codes_and_no_free_text_or_case_reference()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let trace = [("TRM_LOG", "trace")];
    let (broker, _) = broker_process(&fed, BROKER, dir.path(), &trace).await?;
    let lefoe_process = node_process(&fed, LEFOE, dir.path(), &trace).await?;
    let astra_process = node_process(
        &fed,
        ASTRA,
        dir.path(),
        &[("TRM_LOG", "trace"), ("TRM_LOG_FORMAT", "json")],
    )
    .await?;
    let case_ref = "AT-CANARYREF-7f3a";
    let mut referral = fixtures::referral(ASTRA)?;
    referral.case_ref = case_ref.into();
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = lefoe.send(referral).await?.into_inner();
    let mut astra = fed.client(ASTRA).await?;
    fixtures::wait_for_inbox(&astra, 1, WAIT).await?;
    let shown = astra
        .show(pb::ShowRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    assert!(format!("{shown:?}").contains(CANARY), "the canary was sent");
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    // The nodes' own metrics pages count what happened.
    let sender = exposition::parse(
        &exposition::fetch(metrics_addr(&fed.node_data_dir(LEFOE)).await?).await?,
    );
    assert_eq!(value(&sender, "trm_node_sent_total", None), Some(1.0));
    assert_eq!(value(&sender, "trm_node_outbox_items", None), Some(0.0));
    assert!(value(&sender, "trm_node_log_entries", None) >= Some(1.0));
    assert_eq!(
        value(&sender, "trm_node_directory_version", None),
        Some(1.0)
    );
    let receiver = exposition::parse(
        &exposition::fetch(metrics_addr(&fed.node_data_dir(ASTRA)).await?).await?,
    );
    assert_eq!(value(&receiver, "trm_node_received_total", None), Some(1.0));
    assert_eq!(value(&receiver, "trm_node_refused_total", None), Some(0.0));
    drop((broker, lefoe_process, astra_process));

    for (name, json) in [(BROKER, false), (LEFOE, false), (ASTRA, true)] {
        let log = std::fs::read_to_string(dir.path().join(format!("{name}.log")))?;
        let lines: Vec<&str> = log.lines().collect();
        assert!(lines.len() > 20, "{name} logged {} lines", lines.len());
        assert!(
            lines
                .iter()
                .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
            "{name} did not log at trace level"
        );
        for line in &lines {
            assert!(
                !line.contains('\u{1b}'),
                "escape code in {name}'s log: {line:?}"
            );
            assert!(!line.contains(CANARY), "free text in {name}'s log: {line}");
            assert!(
                !line.contains(case_ref),
                "case reference in {name}'s log: {line}"
            );
            assert!(
                !line.contains("CANARYREF"),
                "case reference in {name}'s log: {line}"
            );
            if json {
                let parsed: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("{name}'s line is not JSON: {line}"))?;
                assert!(parsed["level"].is_string() && parsed["timestamp"].is_string());
            }
        }
    }
    Ok(())
}

/// A node reloads too: SIGHUP makes it adopt the newer directory in its configured file.
#[tokio::test]
async fn sighup_makes_a_node_adopt_the_newer_directory_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let (_broker, _) = broker_process(&fed, BROKER, dir.path(), &[]).await?;
    let node = node_process(&fed, LEFOE, dir.path(), &[("TRM_LOG", "info")]).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let version = |search: pb::DirectorySearchResponse| search.version;
    let before = lefoe
        .search_directory(pb::DirectorySearchRequest::default())
        .await?
        .into_inner();
    assert_eq!(version(before), 1);
    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.revoke(OPEN_GATE)?;
    authority.publish(30)?;
    node.hangup()?;
    trm_dev::wait::wait_for(
        Duration::from_secs(5),
        "the node to adopt version 2",
        || {
            let mut lefoe = lefoe.clone();
            async move {
                let search = lefoe
                    .search_directory(pb::DirectorySearchRequest::default())
                    .await?
                    .into_inner();
                Ok(search.version == 2 && search.nodes.iter().all(|n| n.address != OPEN_GATE))
            }
        },
    )
    .await?;
    let log = std::fs::read_to_string(dir.path().join(format!("{LEFOE}.log")))?;
    assert!(log.contains("reloading on SIGHUP"), "{log}");
    Ok(())
}

/// Whether process `pid` catches SIGHUP (bit 0 of `SigCgt` in `/proc/<pid>/status`).
fn catches_hangup(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .is_some_and(|mask| mask & 1 == 1)
}

/// Sends SIGHUP as soon as `process` catches it (a signal before `main` runs cannot be
/// caught by any program).
async fn hangup_once_caught(process: &Running) -> anyhow::Result<()> {
    let pid = process.0.id();
    trm_dev::wait::wait_for(WAIT, "the process to catch SIGHUP", || async move {
        Ok(catches_hangup(pid))
    })
    .await?;
    process.hangup()
}

/// A SIGHUP that comes while a daemon starts (a reload racing the start) does not end it.
#[tokio::test]
async fn a_sighup_right_after_the_start_ends_neither_broker_nor_node() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let config = broker_config_file(&fed, BROKER, dir.path())?;
    let mut broker = spawn(
        env!("CARGO_BIN_EXE_broker-process"),
        &config,
        &[],
        &dir.path().join("broker-early.log"),
    )?;
    hangup_once_caught(&broker).await?;
    let addr = fed.broker_addr(BROKER)?;
    trm_dev::wait::wait_for(WAIT, "the broker process to listen", || async move {
        Ok(tokio::net::TcpStream::connect(addr).await.is_ok())
    })
    .await?;
    anyhow::ensure!(broker.0.try_wait()?.is_none(), "the broker ended");
    let config = node_config_file(&fed, LEFOE, dir.path())?;
    let mut node = spawn(
        env!("CARGO_BIN_EXE_node-process"),
        &config,
        &[],
        &dir.path().join("node-early.log"),
    )?;
    hangup_once_caught(&node).await?;
    trm_dev::wait::wait_for(WAIT, "the node process to serve its socket", || async {
        Ok(fed.client(LEFOE).await.is_ok())
    })
    .await?;
    anyhow::ensure!(node.0.try_wait()?.is_none(), "the node ended");
    broker.hangup()?;
    node.hangup()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    anyhow::ensure!(
        broker.0.try_wait()?.is_none(),
        "the broker ended on a later SIGHUP"
    );
    anyhow::ensure!(
        node.0.try_wait()?.is_none(),
        "the node ended on a later SIGHUP"
    );
    Ok(())
}
