//! Backup and restore of a running node over real processes: Astra's node runs as the
//! `trm-node` program (`node-process`) in a federation with a real broker and partner nodes
//! over loopback mutual TLS; `trm-node backup` runs while partners are sending to it,
//! `trm-node restore` rebuilds it in a new folder, and the restored program, started while the
//! original is stopped, opens its old cases, verifies its handover log and receives again.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use age::secrecy::ExposeSecret as _;
use anyhow::Context as _;
use tonic::transport::Channel;
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_tests::fixtures::{self, ASTRA, CANARY, LEFOE, OPEN_GATE};

const PROGRAM: &str = env!("CARGO_BIN_EXE_node-process");
const WAIT: Duration = Duration::from_secs(60);
/// A case Astra keeps.
const KEPT: &str = "AT-LEFOE-2026-0042";
/// A case whose consent LEFÖ withdraws before the backup: Astra erases it.
const WITHDRAWN: &str = "AT-LEFOE-2026-0043";
/// A case Astra refers onward to Open Gate.
const SENT: &str = "RS-ASTRA-2026-0007";
/// The notes of Astra's onward referral.
const ONWARD_NOTE: &str = "Astra onward referral: shelter place found in Skopje";
/// Referrals each partner sends at least while the backup is taken.
const MIN_LOAD: usize = 5;

/// A `trm-node` process, stopped with SIGTERM (or killed when dropped).
struct NodeProcess(Child);

impl NodeProcess {
    async fn start(config: &Path, socket: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        let child = Self(
            Command::new(PROGRAM)
                .arg("--config")
                .arg(config)
                .args(extra)
                .env("TRM_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()?,
        );
        let socket = socket.to_owned();
        trm_dev::wait::wait_for(WAIT, "the node program's admin socket", || {
            let socket = socket.clone();
            async move { Ok(tokio::net::UnixStream::connect(&socket).await.is_ok()) }
        })
        .await?;
        Ok(child)
    }

    /// Stops it gracefully and waits until it has exited.
    async fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status()?;
        for _ in 0..200 {
            if self.0.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the node program did not stop within 20 s of SIGTERM")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs `trm-node` with `args` to completion.
async fn run(args: Vec<std::ffi::OsString>) -> anyhow::Result<Output> {
    Ok(tokio::task::spawn_blocking(move || Command::new(PROGRAM).args(args).output()).await??)
}

fn args(parts: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<std::ffi::OsString> {
    parts.iter().map(|p| p.as_ref().to_owned()).collect()
}

/// The test referral to `to` in case `case_ref`.
fn referral(to: &str, case_ref: &str) -> anyhow::Result<pb::SendRequest> {
    let mut request = fixtures::referral(to)?;
    request.case_ref = case_ref.to_owned();
    Ok(request)
}

async fn send(
    client: &mut NodeAdminClient<Channel>,
    request: pb::SendRequest,
) -> anyhow::Result<String> {
    Ok(client.send(request).await?.into_inner().message_id)
}

async fn delivered(client: &NodeAdminClient<Channel>, id: &str) -> anyhow::Result<()> {
    fixtures::wait_for_step(client, id, "delivered", WAIT).await
}

async fn show(client: &mut NodeAdminClient<Channel>, id: &str) -> anyhow::Result<pb::ShowResponse> {
    Ok(client
        .show(pb::ShowRequest {
            message_id: id.to_owned(),
        })
        .await?
        .into_inner())
}

/// Every folder under `dir` (itself included) and every file, with its permission bits.
fn modes(dir: &Path) -> anyhow::Result<Vec<(PathBuf, bool, u32)>> {
    let mut found = vec![(
        dir.to_owned(),
        true,
        std::fs::metadata(dir)?.permissions().mode() & 0o777,
    )];
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            found.extend(modes(&entry.path())?);
        } else if kind.is_file() {
            let mode = entry.metadata()?.permissions().mode() & 0o777;
            found.push((entry.path(), false, mode));
        }
    }
    Ok(found)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_backed_up_under_load_restores_elsewhere_with_its_cases_and_its_log()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, OPEN_GATE]).await?;
    let astra_config = dir.path().join("astra.toml");
    std::fs::write(&astra_config, toml::to_string(&fed.node_config(ASTRA)?)?)?;
    let mut astra = NodeProcess::start(&astra_config, &fed.node_socket(ASTRA), &[]).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let mut astra_admin = fed.client(ASTRA).await?;

    // Astra has sent a referral (before it received any: what partners send under H2 may not
    // be passed on) and received two.
    let mut onward = referral(OPEN_GATE, SENT)?;
    if let Some(pb::body::Content::Referral(r)) =
        onward.body.as_mut().and_then(|b| b.content.as_mut())
    {
        // Astra's own words: what LEFÖ sent under H2 may not be passed on.
        r.notes = ONWARD_NOTE.to_owned();
    }
    let sent = send(&mut astra_admin, onward).await?;
    delivered(&astra_admin, &sent).await?;
    let kept = send(&mut lefoe, referral(ASTRA, KEPT)?).await?;
    let withdrawn = send(&mut lefoe, referral(ASTRA, WITHDRAWN)?).await?;
    delivered(&lefoe, &kept).await?;
    delivered(&lefoe, &withdrawn).await?;

    // LEFÖ withdraws consent in one case: Astra destroys that case's key.
    let astra_dir = fed.node_data_dir(ASTRA);
    let erased_case = trm_node::cases::case_key(LEFOE, WITHDRAWN);
    let erased_file = trm_node::vault::Vault::open(&astra_dir)?.key_path(&erased_case);
    let erased_key = trm_tests::case_keys::case_key_on_disk(&astra_dir, &erased_case)?;
    trm_cli::case_commands::withdraw_consent(
        &fed.node_socket(LEFOE),
        WITHDRAWN,
        "",
        "LEFÖ-IBF caseworker",
        "",
        trm_cli::commands::Output { json: true },
    )
    .await?;
    trm_dev::wait::wait_for(WAIT, "Astra to destroy the case key", || {
        let gone = trm_tests::case_keys::has_case_key(&astra_dir, &erased_case).map(|has| !has);
        async move { gone }
    })
    .await?;

    // Partners keep sending to Astra until the backup is written.
    let done = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for (from, prefix) in [(LEFOE, "AT-LOAD"), (OPEN_GATE, "MK-LOAD")] {
        let mut client = fed.client(from).await?;
        let (done, in_flight, stop) = (done.clone(), in_flight.clone(), stop.clone());
        senders.spawn(async move {
            let mut ids = Vec::new();
            while !stop.load(Ordering::SeqCst) || ids.len() < MIN_LOAD {
                let case_ref = format!("{prefix}-{:04}", ids.len());
                in_flight.fetch_add(1, Ordering::SeqCst);
                ids.push(send(&mut client, referral(ASTRA, &case_ref)?).await?);
                in_flight.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            }
            anyhow::Ok((client, ids))
        });
    }
    trm_dev::wait::wait_for(WAIT, "the partners to start sending", || {
        let started = done.load(Ordering::SeqCst) >= 2;
        async move { Ok(started) }
    })
    .await?;
    let recovery = age::x25519::Identity::generate();
    let recovery_file = dir.path().join("recovery.key");
    std::fs::write(&recovery_file, recovery.to_string().expose_secret())?;
    let backup_file = dir.path().join("astra.backup");
    let sent_before = done.load(Ordering::SeqCst);
    let sending_at_start = in_flight.load(Ordering::SeqCst);
    let taken = run(args(&[
        &"backup",
        &"--config",
        &astra_config,
        &"--to",
        &backup_file,
        &"--recipient",
        &recovery.to_public().to_string(),
    ]))
    .await?;
    let sent_during = done.load(Ordering::SeqCst) - sent_before;
    stop.store(true, Ordering::SeqCst);
    let said = String::from_utf8_lossy(&taken.stdout);
    assert!(
        taken.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&taken.stderr)
    );
    assert!(said.contains("backup of astra@marri written to"), "{said}");
    eprintln!(
        "{said}({sent_before} referrals sent before it began, {sending_at_start} in flight as it \
         began, {sent_during} while it ran)"
    );
    // A quick backup can end before any referral finishes: one in flight as it began is load
    // the node was storing while it copied.
    assert!(
        sent_during > 0 || sending_at_start > 0,
        "partners were sending while the backup was taken"
    );
    while let Some(finished) = senders.join_next().await {
        let (client, ids) = finished??;
        for id in ids {
            delivered(&client, &id).await?;
        }
    }
    let original = astra_admin
        .verify_log(pb::VerifyLogRequest {})
        .await?
        .into_inner();
    assert!(original.ok, "{}", original.problem);
    astra.stop().await?;

    // The file is encrypted, private, and opens only with the recovery key.
    let bytes = std::fs::read(&backup_file)?;
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    for secret in [
        CANARY.as_bytes(),
        b"AGE-SECRET-KEY",
        b"PRIVATE KEY",
        b"ed25519:",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} in the backup file",
            String::from_utf8_lossy(secret)
        );
    }
    assert_eq!(
        std::fs::metadata(&backup_file)?.permissions().mode() & 0o777,
        0o600
    );
    let wrong_file = dir.path().join("wrong.key");
    let wrong = age::x25519::Identity::generate();
    std::fs::write(&wrong_file, wrong.to_string().expose_secret())?;
    let refused_into = dir.path().join("refused");
    let refused = run(args(&[
        &"restore",
        &"--from",
        &backup_file,
        &"--identity",
        &wrong_file,
        &"--into",
        &refused_into,
    ]))
    .await?;
    let complaint = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        complaint.contains("cannot be opened with the key in")
            && complaint.contains("encrypted to another recovery key"),
        "{complaint}"
    );
    assert!(!refused_into.exists(), "a refused restore writes nothing");
    let occupied = dir.path().join("occupied");
    std::fs::create_dir(&occupied)?;
    std::fs::write(occupied.join("notes.txt"), b"kept")?;
    let refused = run(args(&[
        &"restore",
        &"--from",
        &backup_file,
        &"--identity",
        &recovery_file,
        &"--into",
        &occupied,
    ]))
    .await?;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not empty"));
    assert_eq!(std::fs::read_dir(&occupied)?.count(), 1);

    // Restored into a new folder: private modes, and no key of the erased case.
    let restored = dir.path().join("restored");
    let done_restore = run(args(&[
        &"restore",
        &"--from",
        &backup_file,
        &"--identity",
        &recovery_file,
        &"--into",
        &restored,
    ]))
    .await?;
    assert!(
        done_restore.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&done_restore.stderr)
    );
    assert!(
        !dir.path().join("restored.partial").exists(),
        "the partial folder is renamed into place"
    );
    let told = String::from_utf8_lossy(&done_restore.stdout);
    assert!(
        told.contains("WARNING: consent withdrawals and erasures received after")
            && told.contains("--take-over"),
        "{told}"
    );
    for (path, is_dir, mode) in modes(&restored)? {
        let private = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, private, "{}", path.display());
    }
    let case_keys: Vec<_> =
        std::fs::read_dir(restored.join("data/case-keys"))?.collect::<Result<_, _>>()?;
    assert!(case_keys.len() > 2, "the live cases' keys are restored");
    for entry in case_keys {
        assert_ne!(Some(entry.file_name().as_os_str()), erased_file.file_name());
        assert_ne!(
            std::fs::read(entry.path())?,
            erased_key.text.as_bytes(),
            "the erased key is not restored"
        );
    }
    assert!(!erased_key.found_in(&restored)?, "nor is it anywhere else");

    // The restored node does not start until the operator takes over from the original.
    let socket = restored.join("trm-node.sock");
    let unconfirmed = tokio::task::spawn_blocking({
        let config = restored.join("node.toml");
        move || {
            Command::new(PROGRAM)
                .arg("--config")
                .arg(config)
                .env("TRM_LOG", "warn")
                .output()
        }
    })
    .await??;
    let complaint = String::from_utf8_lossy(&unconfirmed.stderr);
    assert!(
        !unconfirmed.status.success(),
        "a restored node started unconfirmed"
    );
    assert!(
        complaint.contains("stop the original node first") && complaint.contains("--take-over"),
        "{complaint}"
    );
    assert!(
        !socket.exists(),
        "an unconfirmed restored node binds no socket"
    );

    // Taken over, it runs from its new folder with the same identity.
    let mut copy =
        NodeProcess::start(&restored.join("node.toml"), &socket, &["--take-over"]).await?;
    assert!(
        !restored.join("data/RESTORED").exists(),
        "--take-over removes the mark"
    );
    let mut admin = trm_dev::socket::connect(&socket).await?;
    let verified = admin
        .verify_log(pb::VerifyLogRequest {})
        .await?
        .into_inner();
    assert!(verified.ok, "{}", verified.problem);
    assert!(verified.entries > 0 && verified.entries <= original.entries);
    let old = show(&mut admin, &kept).await?;
    assert!(
        format!("{:?}", old.body).contains(CANARY),
        "the old case's content is readable"
    );
    assert!(
        format!("{:?}", show(&mut admin, &sent).await?.body).contains(ONWARD_NOTE),
        "the sent referral too"
    );
    let erased = show(&mut admin, &withdrawn).await?;
    assert!(erased.body.is_none() && !erased.erased.is_empty());
    let cases = trm_dev::socket::connect_cases(&socket)
        .await?
        .cases(pb::CasesRequest::default())
        .await?
        .into_inner();
    assert!(
        format!("{cases:?}").contains(KEPT),
        "the case list holds the old case"
    );

    // It takes part in the federation again.
    let after = send(&mut lefoe, referral(ASTRA, "AT-LEFOE-2026-0099")?).await?;
    delivered(&lefoe, &after)
        .await
        .context("a referral to the restored node")?;
    assert!(format!("{:?}", show(&mut admin, &after).await?.body).contains(CANARY));
    copy.stop().await?;
    fed.shutdown().await?;
    Ok(())
}
