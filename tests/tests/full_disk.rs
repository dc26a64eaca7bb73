//! A full disk over real processes: the broker's data folder on a small tmpfs that a ballast
//! file fills while senders send. New submissions are refused with RESOURCE_EXHAUSTED and a
//! message naming the folder and its free space, the health service reports the write path
//! NOT_SERVING. Once the ballast is removed the broker takes submissions again within 10 s,
//! without a restart; every acknowledged referral, those queued before the fault included, is
//! delivered exactly once, and the log tells of the fault once. (Delivering what was queued
//! while the disk is still full holds only until the storage engine itself fails a write on
//! the full disk: it then fails reads too, until the store reopens.) The same for a node: `trm
//! send` is refused with its own exit code (73) and says the disk is full, the node still
//! answers about what it holds, and sends are taken again within 10 s of space returning.
//!
//! Mounting needs root (as these tests run in CI and on the development machines); where
//! mounting is impossible the test fails and says why, it never passes without having run.

use std::collections::{BTreeSet, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use prost::Message;
use sha2::Digest as _;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use trm_cli::commands::{self, CommandError};
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};
use trm_tests::{craft, process, raw};

/// The size of the filesystem the data folder is on.
const TMPFS_SIZE: &str = "24m";

/// The health-service name of the broker's write path.
const WRITES: &str = "trm.v1.Broker.writes";

/// The longest the broker may take to notice that space has returned.
const RECOVERY: Duration = Duration::from_secs(10);

/// How long the test waits for anything else.
const WAIT: Duration = Duration::from_secs(60);

/// A tmpfs mounted at a folder, unmounted when dropped.
struct Tmpfs {
    /// Where it is mounted.
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it) at `dir`, creating `dir`; what
    /// `dir` held is copied onto the tmpfs.
    fn mount(dir: &Path, size: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let held = tempfile::tempdir()?;
        copy_tree(dir, held.path())?;
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .context("this test mounts a small tmpfs and could not run `mount`")?;
        if !output.status.success() {
            bail!(
                "this test needs to mount a small tmpfs at {} (as root) and could not: {}",
                dir.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let mounted = Self {
            dir: dir.to_path_buf(),
        };
        copy_tree(held.path(), dir)?;
        Ok(mounted)
    }
}

/// Copies the files and folders in `from` into `to`.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process the test failed to stop must not keep the mount behind.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the filesystem holding `ballast` with that file until the disk refuses more.
fn fill(ballast: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(ballast)?;
    for chunk in [1 << 20, 4 << 10, 512] {
        let bytes = vec![0x5a_u8; chunk];
        loop {
            match file.write_all(&bytes) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    // On tmpfs written pages are the filesystem's at once; the sync is for form's sake.
    let _ = file.sync_all();
    Ok(())
}

/// What a sender needs to seal referrals from LEFÖ-IBF to Astra.
struct Sealer {
    /// LEFÖ-IBF's keys.
    keys: trm_node::keys::NodeKeys,
    /// The federation's directory.
    directory: trm_proto::directory::Directory,
    /// The referral.
    request: pb::SendRequest,
}

impl Sealer {
    fn new(fed: &LocalFederation) -> anyhow::Result<Self> {
        Ok(Self {
            keys: craft::keys(&fed.federation, LEFOE)?,
            directory: craft::directory(&fed.federation)?,
            request: fixtures::referral(ASTRA)?,
        })
    }

    /// A freshly sealed referral, and its message id.
    fn referral(&self) -> anyhow::Result<(pb::Envelope, String)> {
        let envelope = craft::sealed(&self.keys, &self.directory, &self.request)?;
        let id = pb::EnvelopeHeader::decode(envelope.header.as_slice())?.message_id;
        Ok((envelope, id))
    }
}

/// What the senders saw.
#[derive(Default)]
struct Outcomes {
    /// Ids of the referrals the broker acknowledged.
    acknowledged: Vec<String>,
    /// Refusals, as (code, message).
    refused: Vec<(Code, String)>,
}

/// Submits one referral, recording the outcome; `true` if acknowledged.
async fn submit_one(
    sealer: &Sealer,
    channel: &Channel,
    outcomes: &Mutex<Outcomes>,
) -> anyhow::Result<bool> {
    let (envelope, id) = sealer.referral()?;
    let answer = raw::broker(channel.clone()).submit(envelope).await;
    let mut outcomes = outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    Ok(match answer {
        Ok(_) => {
            outcomes.acknowledged.push(id);
            true
        }
        Err(status) => {
            outcomes
                .refused
                .push((status.code(), status.message().to_owned()));
            false
        }
    })
}

/// Waits until Astra's inbox holds every id in `acknowledged`; returns the inbox.
async fn wait_for_all(
    astra: &NodeAdminClient<Channel>,
    acknowledged: &[String],
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    loop {
        let inbox = fixtures::inbox_ids(&mut astra.clone()).await?;
        if acknowledged.iter().all(|id| inbox.contains(id)) {
            return Ok(inbox);
        }
        if started.elapsed() > WAIT {
            let missing: Vec<_> = acknowledged
                .iter()
                .filter(|id| !inbox.contains(id))
                .collect();
            bail!("acknowledged referrals not delivered: {missing:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The health of the broker's write path.
async fn writes_health(channel: &Channel) -> anyhow::Result<ServingStatus> {
    let answer = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: WRITES.into(),
        })
        .await?
        .into_inner();
    Ok(ServingStatus::try_from(answer.status)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_broker_disk_refuses_new_envelopes_delivers_what_it_holds_and_recovers_by_itself()
-> anyhow::Result<()> {
    fixtures::log_to_test_output();
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let data_dir = fed.broker_data_dir(BROKER);
    let _tmpfs = Tmpfs::mount(&data_dir, TMPFS_SIZE)?;

    // The broker as a process of its own, its data on the tmpfs, with no free-space watermark:
    // what is shown is the store surviving a disk filled by something else.
    let addr = fed.broker_addr(BROKER)?;
    let material = fed
        .federation
        .broker(BROKER)
        .with_context(|| format!("no broker {BROKER}"))?
        .clone();
    let mut config =
        trm_dev::devfed::broker_config(&fed.federation, &material, addr, data_dir.clone());
    config.quotas.min_free_disk_bytes = 0;
    config.quotas.min_free_disk_percent = 0;
    let config_path = dir.path().join("broker.toml");
    std::fs::write(&config_path, toml::to_string(&config)?)?;
    let log_path = dir.path().join("broker.log");
    let _broker = process::spawn_broker_logging(
        Path::new(env!("CARGO_BIN_EXE_broker-process")),
        &config_path,
        addr,
        Stdio::from(std::fs::File::create(&log_path)?),
        "info",
    )
    .await?;
    let channel = fixtures::channel_as(&fed, LEFOE).await?;
    assert_eq!(writes_health(&channel).await?, ServingStatus::Serving);

    // Referrals queued for Astra, whose node is not running yet.
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let sealer = Arc::new(Sealer::new(&fed)?);
    const QUEUED: usize = 10;
    for _ in 0..QUEUED {
        assert!(
            submit_one(&sealer, &channel, &outcomes).await?,
            "before the fault"
        );
    }

    // Two senders keep sending while the ballast fills the disk.
    let sending = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (sealer, channel, outcomes, sending) = (
            Arc::clone(&sealer),
            channel.clone(),
            Arc::clone(&outcomes),
            Arc::clone(&sending),
        );
        senders.spawn(async move {
            while sending.load(std::sync::atomic::Ordering::Relaxed) {
                submit_one(&sealer, &channel, &outcomes).await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            anyhow::Ok(())
        });
    }
    let ballast = data_dir.join("ballast");
    tokio::task::spawn_blocking({
        let ballast = ballast.clone();
        move || fill(&ballast)
    })
    .await??;

    // New submissions are refused, saying why.
    let folder = data_dir.display().to_string();
    let full_prefix = format!("the broker's store at {folder} is full (");
    trm_dev::wait::wait_for(WAIT, "a submission refused for the full disk", || {
        let outcomes = Arc::clone(&outcomes);
        let full_prefix = full_prefix.clone();
        async move {
            let outcomes = outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            Ok(outcomes.refused.iter().any(|(code, message)| {
                *code == Code::ResourceExhausted && message.starts_with(&full_prefix)
            }))
        }
    })
    .await?;
    {
        let outcomes = outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        // The writes under way when the disk filled failed with their outcome unknown (the
        // sender retries them); every later one was refused before it started.
        let mut unknown = 0;
        for (code, message) in &outcomes.refused {
            if *code == Code::Unavailable {
                unknown += 1;
                continue;
            }
            assert_eq!(*code, Code::ResourceExhausted, "{message}");
            assert!(message.starts_with(&full_prefix), "{message}");
            assert!(
                message.ends_with("; new envelopes are refused until space is freed"),
                "{message}"
            );
        }
        assert!(
            unknown <= 4,
            "{unknown} submissions failed with an unknown outcome"
        );
    }
    assert_eq!(writes_health(&channel).await?, ServingStatus::NotServing);
    let acknowledged_before = outcomes
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .acknowledged
        .len();

    // Astra comes up while the disk is full. What was queued before reaches it while full
    // only if the storage engine has not itself failed a write on the full disk (after which
    // it fails reads too, until the store reopens once space returns): that gap is open, so
    // the queued referrals are checked with the rest, once space is back.
    fed.start_node(ASTRA).await?;
    let astra = fed.client(ASTRA).await?;
    let refused_while_full = {
        let outcomes = outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        assert!(
            outcomes.acknowledged.len() == acknowledged_before,
            "a submission was acknowledged while the disk was full"
        );
        outcomes.refused.len()
    };
    assert!(refused_while_full > 0);

    // Space returns: submissions are taken again within 10 s, without a restart.
    std::fs::remove_file(&ballast)?;
    let freed = Instant::now();
    trm_dev::wait::wait_for(
        RECOVERY,
        "a submission accepted after space returned",
        || {
            let outcomes = Arc::clone(&outcomes);
            async move {
                let outcomes = outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                Ok(outcomes.acknowledged.len() > acknowledged_before)
            }
        },
    )
    .await
    .context("the broker did not take submissions again within 10 s of space returning")?;
    let recovered_in = freed.elapsed();
    sending.store(false, std::sync::atomic::Ordering::Relaxed);
    while let Some(sender) = senders.join_next().await {
        sender??;
    }
    assert_eq!(writes_health(&channel).await?, ServingStatus::Serving);

    // Every acknowledged referral reaches Astra, each once.
    let acknowledged: Vec<String> = outcomes
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .acknowledged
        .clone();
    let expected: BTreeSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        expected.len(),
        acknowledged.len(),
        "an id acknowledged twice"
    );
    let inbox = wait_for_all(&astra, &acknowledged).await?;
    let unique: HashSet<&String> = inbox.iter().collect();
    assert_eq!(
        unique.len(),
        inbox.len(),
        "a referral delivered twice: {inbox:?}"
    );
    for id in &acknowledged {
        assert!(
            unique.contains(id),
            "acknowledged referral {id} was not delivered"
        );
    }

    // The log tells of the fault once, and of its end once.
    let log = std::fs::read_to_string(&log_path)?;
    let faults: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" ERROR ") && l.contains(&full_prefix))
        .collect();
    assert_eq!(faults.len(), 1, "{log}");
    let cleared = log
        .lines()
        .filter(|l| l.contains(" INFO ") && l.contains("takes writes again after"))
        .count();
    assert_eq!(cleared, 1, "{log}");
    // Beyond those two, the storage engine's own report of the writes under way and, when the
    // failed engine is let go, one line for each of its trees that it could not flush. The
    // acknowledgements refused while full (the node retries them with backoff) are not
    // warned of one by one: the fault said why.
    let noisy = log
        .lines()
        .filter(|l| l.contains(" ERROR ") || l.contains(" WARN "))
        .count();
    assert!(noisy < 20, "{noisy} warnings and errors:\n{log}");
    println!(
        "refused while full: {refused_while_full}; acknowledged: {}; recovered {:.1} s after \
         space returned",
        acknowledged.len(),
        recovered_in.as_secs_f64()
    );
    fed.shutdown().await?;
    Ok(())
}

/// Sends the test referral from `admin`'s node as `trm send` does, under a fresh idempotency
/// key.
async fn trm_send(
    admin: &mut NodeAdminClient<Channel>,
) -> anyhow::Result<Result<pb::SendResponse, CommandError>> {
    let key = hex::encode(rand_key());
    let send = commands::send_with_key(admin, fixtures::referral(ASTRA)?, key);
    tokio::time::timeout(WAIT, send)
        .await
        .context("`trm send` got no answer within a minute")
}

/// Sixteen bytes that differ from call to call: an idempotency key.
fn rand_key() -> [u8; 16] {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut key = [0u8; 16];
    key.copy_from_slice(&sha2::Sha256::digest(now.to_be_bytes())[..16]);
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_node_disk_refuses_sends_with_their_own_exit_code_serves_cases_and_recovers_by_itself()
-> anyhow::Result<()> {
    fixtures::log_to_test_output();
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let data_dir = fed.node_data_dir(LEFOE);
    let _tmpfs = Tmpfs::mount(&data_dir, TMPFS_SIZE)?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let astra = fed.client(ASTRA).await?;

    let mut acknowledged = Vec::new();
    let first = trm_send(&mut lefoe).await??;
    acknowledged.push(first.message_id.clone());
    let ballast = data_dir.join("ballast");
    tokio::task::spawn_blocking({
        let ballast = ballast.clone();
        move || fill(&ballast)
    })
    .await??;

    // `trm send` is refused with its own exit code, saying the disk is full. A send under way
    // when the disk filled may instead end with its outcome unknown (75); the next is refused.
    let started = Instant::now();
    let refused = loop {
        match trm_send(&mut lefoe).await? {
            Ok(sent) => acknowledged.push(sent.message_id),
            Err(e) if e.code == commands::exit::OUTCOME_UNKNOWN => {}
            Err(refused) => break refused,
        }
        if started.elapsed() > WAIT {
            bail!("the node kept acknowledging sends on a full disk");
        }
    };
    let folder = data_dir.display().to_string();
    assert_eq!(
        refused.code,
        commands::exit::CANNOT_STORE,
        "{}",
        refused.message
    );
    assert!(
        refused.message.starts_with(&format!(
            "the node's disk is full, so it cannot store the message now (the node's store at \
             {folder} is full ("
        )),
        "{}",
        refused.message
    );
    assert!(
        refused
            .message
            .contains("new messages are refused until space is freed"),
        "{}",
        refused.message
    );
    // Refused at once from now on, the same way.
    let again = trm_send(&mut lefoe)
        .await?
        .err()
        .context("a send on a full disk")?;
    assert_eq!(
        again.code,
        commands::exit::CANNOT_STORE,
        "{}",
        again.message
    );
    // The node still serves what it holds.
    let steps = tokio::time::timeout(WAIT, fixtures::steps(&mut lefoe, &first.message_id))
        .await
        .context("the node did not answer about a message within a minute")??;
    assert!(steps.contains(&"submitted".to_owned()), "{steps:?}");

    // Space returns: `trm send` works again within 10 s, without a restart.
    std::fs::remove_file(&ballast)?;
    let freed = Instant::now();
    let sent = loop {
        match trm_send(&mut lefoe).await? {
            Ok(sent) => break sent,
            Err(refused) => {
                if freed.elapsed() > RECOVERY {
                    bail!(
                        "the node did not take sends again within 10 s of space returning: {}",
                        refused.message
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let recovered_in = freed.elapsed();
    acknowledged.push(sent.message_id);

    // Every acknowledged referral reaches Astra, each once (a send whose outcome was unknown
    // may have been stored and sent too).
    let inbox = wait_for_all(&astra, &acknowledged).await?;
    let unique: HashSet<&String> = inbox.iter().collect();
    assert_eq!(
        unique.len(),
        inbox.len(),
        "a referral delivered twice: {inbox:?}"
    );
    for id in &acknowledged {
        assert!(
            unique.contains(id),
            "acknowledged referral {id} was not delivered"
        );
    }
    println!(
        "acknowledged: {}; sends taken again {:.1} s after space returned",
        acknowledged.len(),
        recovered_in.as_secs_f64()
    );
    fed.shutdown().await?;
    Ok(())
}
