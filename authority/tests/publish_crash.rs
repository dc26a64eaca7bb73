//! The publish killed at each step: the real `trm-authority` binary (the debug build, which
//! honours `TRM_AUTHORITY_CRASH_AT`) aborts right after a step, is run again, and every signed
//! directory ever written to the federation folder is kept; no version number may ever carry
//! two different directories.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Output};

use prost::Message;
use trm_authority::crash;
use trm_authority::files;
use trm_proto::{directory, pb, signing, time};

type Seen = BTreeMap<u64, BTreeSet<Vec<u8>>>;

/// A federation folder with one broker and two nodes, at directory version 1.
fn federation(dir: &Path) -> anyhow::Result<()> {
    let authority = signing::generate_key();
    let key = |n: u8| -> anyhow::Result<pb::NodeEntry> {
        Ok(pb::NodeEntry {
            address: format!("node{n}@at"),
            organisation: format!("Organisation {n}"),
            country: "AT".into(),
            certificate_sha256: vec![n; 32],
            signing_key: signing::generate_key().verifying_key().to_bytes().to_vec(),
            age_recipient: age::x25519::Identity::generate().to_public().to_string(),
            ..Default::default()
        })
    };
    let now = time::now_ms();
    let first = pb::Directory {
        federation: "trm-crash".into(),
        version: 1,
        issued_at_ms: now,
        expires_at_ms: now + 86_400_000,
        brokers: vec![pb::BrokerEntry {
            name: "at".into(),
            endpoints: vec!["https://127.0.0.1:1".into()],
            certificate_sha256: vec![9; 32],
            signing_key: signing::generate_key().verifying_key().to_bytes().to_vec(),
            country: "AT".into(),
        }],
        nodes: vec![key(1)?, key(2)?],
        agreements: Vec::new(),
    };
    std::fs::write(
        dir.join(files::AUTHORITY_KEY),
        signing::encode_secret(&authority),
    )?;
    std::fs::write(
        dir.join(files::DIRECTORY),
        directory::sign(&first, &authority).encode_to_vec(),
    )?;
    Ok(())
}

/// One publish: a new agreement `reference`, stopped after `crash_at` if given.
fn publish(dir: &Path, reference: &str, crash_at: Option<&str>) -> anyhow::Result<Output> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trm-authority"));
    command
        .arg("--federation")
        .arg(dir)
        .args(["agree", "--reference", reference])
        .args(["--parties", "node1@at", "node2@at"])
        .env_remove(crash::CRASH_AT);
    if let Some(step) = crash_at {
        command.env(crash::CRASH_AT, step);
    }
    Ok(command.output()?)
}

/// Every signed directory now in the folder (the file in use, the copies in `published/`, and
/// any temporary file a write left), added to `seen` by version.
fn collect(dir: &Path, seen: &mut Seen) -> anyhow::Result<()> {
    let mut candidates = vec![
        dir.join(files::DIRECTORY),
        trm_storage::fs::temporary_path(&dir.join(files::DIRECTORY)),
    ];
    if let Ok(entries) = std::fs::read_dir(dir.join(files::PUBLISHED)) {
        for entry in entries {
            candidates.push(entry?.path());
        }
    }
    for path in candidates {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let signed = pb::SignedDirectory::decode(bytes.as_slice())?;
        let version = pb::Directory::decode(signed.directory.as_slice())?.version;
        seen.entry(version).or_default().insert(signed.directory);
    }
    Ok(())
}

fn version_in_use(dir: &Path) -> anyhow::Result<u64> {
    let signed =
        pb::SignedDirectory::decode(std::fs::read(dir.join(files::DIRECTORY))?.as_slice())?;
    Ok(pb::Directory::decode(signed.directory.as_slice())?.version)
}

#[test]
fn a_publish_killed_at_any_step_and_run_again_never_signs_two_directories_with_one_version()
-> anyhow::Result<()> {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: release builds do not honour {}", crash::CRASH_AT);
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    federation(dir.path())?;
    let mut seen = Seen::new();
    collect(dir.path(), &mut seen)?;
    let mut count = 0;
    for round in 0..2 {
        for step in crash::STEPS {
            let before = version_in_use(dir.path())?;
            count += 1;
            let crashed = publish(dir.path(), &format!("MoU {count}"), Some(step))?;
            assert_eq!(
                crashed.status.signal(),
                Some(6),
                "round {round}: the publish aborts after {step}: {crashed:?}"
            );
            collect(dir.path(), &mut seen)?;
            let in_use = version_in_use(dir.path())?;
            if step == crash::AFTER_WRITE {
                assert!(in_use > before, "{step}: the new version is in use");
            } else {
                assert_eq!(in_use, before, "{step}: the version in use is unchanged");
            }

            count += 1;
            let rerun = publish(dir.path(), &format!("MoU {count}"), None)?;
            assert!(
                rerun.status.success(),
                "round {round}: the publish run again after {step} succeeds: {}",
                String::from_utf8_lossy(&rerun.stderr)
            );
            collect(dir.path(), &mut seen)?;
            let after = version_in_use(dir.path())?;
            assert!(after > in_use, "{step}: a newer version is in use");
            assert_eq!(
                String::from_utf8_lossy(&rerun.stdout).trim_end(),
                format!(
                    "agreement MoU {count} between node1@at and node2@at; \
                     published directory version {after}"
                ),
            );
        }
    }
    for (version, contents) in &seen {
        assert_eq!(
            contents.len(),
            1,
            "version {version} was signed {} times",
            contents.len()
        );
    }
    // Each round reserves 8 numbers (4 crashed publishes, 4 reruns) and writes 6 of them:
    // the crashes after-archive and after-write got theirs on disk, those after-reserve and
    // after-sign did not, and their numbers are skipped, never reused.
    let published: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(published.len(), 1 + 2 * 6, "{published:?}");
    assert_eq!(published.first(), Some(&1));
    assert_eq!(published.last(), Some(&(1 + 2 * 8)));
    Ok(())
}

#[test]
fn an_unreadable_reserved_version_stops_the_publish_and_changes_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    federation(dir.path())?;
    let original = std::fs::read(dir.path().join(files::DIRECTORY))?;
    std::fs::write(dir.path().join(files::NEXT_VERSION), "two\n")?;
    let refused = publish(dir.path(), "MoU 1", None)?;
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        format!(
            "trm-authority: {}: holds \"two\", not a version number",
            dir.path().join(files::NEXT_VERSION).display()
        )
    );
    assert_eq!(std::fs::read(dir.path().join(files::DIRECTORY))?, original);
    assert!(!dir.path().join(files::PUBLISHED).exists());
    Ok(())
}

#[test]
fn a_second_authority_on_the_same_folder_is_refused_until_the_first_is_done() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    federation(dir.path())?;
    let first = trm_authority::Authority::open(dir.path())?;
    // Two at once could each sign a directory without the other's change.
    match trm_authority::Authority::open(dir.path()) {
        Err(e) => assert!(e.to_string().contains("is locked"), "{e}"),
        Ok(_) => anyhow::bail!("a second authority opened a locked federation folder"),
    }
    drop(first);
    trm_authority::Authority::open(dir.path())?;
    Ok(())
}
