//! What the README promises, tried with the `trm` binary against real brokers and nodes over
//! loopback mTLS, in the README's own federation (the built-in development spec; only the
//! brokers' ports are chosen free): every exit code its table lists, the child's referral it
//! shows, ids as printed and as prefixes, `--json`, and configuration files that work from
//! another folder than theirs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use prost::Message as _;
use serde_json::Value;
use trm_cli::commands::exit::Exit;
use trm_dev::FederationSpec;
use trm_dev::local::LocalFederation;

const LEFOE: &str = "lefoe-ibf@at";
const ASTRA: &str = "astra@rs";
const CPVT: &str = "cpvt@rs";

/// What one run of `trm` did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.stdout).with_context(|| format!("not JSON: {self:?}"))
    }
}

/// Runs `trm args` in `cwd` against the node behind `socket`, in UTC.
async fn trm_in(cwd: &Path, socket: &Path, args: &[&str]) -> anyhow::Result<Run> {
    trm_in_zone(cwd, socket, "UTC", args).await
}

/// Runs `trm args` in `cwd` against the node behind `socket`, in time zone `tz`.
async fn trm_in_zone(cwd: &Path, socket: &Path, tz: &str, args: &[&str]) -> anyhow::Result<Run> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trm"));
    command
        .args(args)
        .current_dir(cwd)
        .env("TRM_SOCKET", socket)
        .env("TZ", tz)
        .env("TRM_LOG", "off");
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    Ok(Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// The README, from the workspace root.
fn readme() -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).with_context(|| path.display().to_string())
}

/// The codes of the README's exit-code table (its rows `| 64 | ... |`).
fn documented_exit_codes(readme: &str) -> BTreeSet<u8> {
    readme
        .lines()
        .filter_map(|line| {
            line.strip_prefix('|')?
                .split('|')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .collect()
}

/// The README's child referral: the TOML block after the heading "A child's referral".
fn child_referral(readme: &str) -> anyhow::Result<String> {
    let section = readme
        .split("### A child's referral")
        .nth(1)
        .ok_or_else(|| anyhow!("the README has no child's referral"))?;
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .ok_or_else(|| anyhow!("the README's child's referral has no TOML block"))?;
    Ok(block.to_owned())
}

/// The README's federation: the development spec's organisations on the Austrian and Serbian
/// brokers, with their sharing agreements, on free ports.
async fn readme_federation(root: &Path) -> anyhow::Result<LocalFederation> {
    let dev = FederationSpec::default_dev();
    LocalFederation::create_with(root, &dev.federation, &[("at", "AT"), ("rs", "RS")], &[], {
        move |spec| {
            let on_our_brokers =
                |address: &str| address.ends_with("@at") || address.ends_with("@rs");
            spec.nodes = dev
                .nodes
                .iter()
                .filter(|n| on_our_brokers(&n.address))
                .cloned()
                .collect();
            spec.agreements = dev
                .agreements
                .iter()
                .filter(|a| a.parties.iter().all(|p| on_our_brokers(p)))
                .cloned()
                .collect();
        }
    })
    .await
}

async fn start(fed: &mut LocalFederation, nodes: &[&str]) -> anyhow::Result<()> {
    fed.start_broker("at").await?;
    fed.start_broker("rs").await?;
    for node in nodes {
        fed.start_node(node).await?;
    }
    Ok(())
}

/// Waits until message `id` is in the inbox behind `socket`.
async fn wait_delivered(cwd: &Path, socket: &Path, id: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        let inbox = trm_in(cwd, socket, &["inbox", "--json"]).await?.json()?;
        let ids: Vec<&str> = inbox
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["message_id"].as_str())
            .collect();
        if ids.contains(&id) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{id} was not delivered")
}

/// Sends the referral file `name` (written with `text`) from the node behind `socket`;
/// returns its id.
async fn send_referral(
    dir: &Path,
    socket: &Path,
    name: &str,
    text: &str,
) -> anyhow::Result<String> {
    std::fs::write(dir.join(name), text)?;
    let sent = trm_in(dir, socket, &["send", "referral", "--file", name, "--json"]).await?;
    ensure!(sent.code == 0, "{sent:?}");
    Ok(sent.json()?["message_id"]
        .as_str()
        .ok_or_else(|| anyhow!("no message id: {sent:?}"))?
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_exit_code_the_readme_documents_is_real() -> anyhow::Result<()> {
    let documented = documented_exit_codes(&readme()?);
    let in_code: BTreeSet<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(
        documented, in_code,
        "the README's table and the code disagree"
    );

    let root = tempfile::tempdir()?;
    let dir = root.path();
    let mut fed = readme_federation(&dir.join("fed")).await?;
    start(&mut fed, &[LEFOE, ASTRA]).await?;
    let lefoe = fed.node_socket(LEFOE);
    let astra = fed.node_socket(ASTRA);
    let mut seen = BTreeSet::new();
    let mut expect = |code: Exit, run: Run, what: &str| -> anyhow::Result<Run> {
        ensure!(
            run.code == i32::from(code.code()),
            "{what}: expected {code:?}, got {run:?}"
        );
        seen.insert(code.code());
        Ok(run)
    };

    // 0, and the id the views print works everywhere, whole or as a prefix.
    let template = trm_in(dir, &lefoe, &["template", "referral"]).await?;
    let id = send_referral(dir, &lefoe, "referral.toml", &template.stdout).await?;
    wait_delivered(dir, &astra, &id).await?;
    let prefix = id.get(..8).ok_or_else(|| anyhow!("short id {id}"))?;
    let status = trm_in(dir, &lefoe, &["status", prefix]).await?;
    let status = expect(Exit::Success, status, "status by prefix")?;
    assert!(status.stdout.contains(&id), "{status:?}");
    assert!(status.stdout.contains("stored by broker"), "{status:?}");
    assert!(!status.stdout.contains("accepted"), "{status:?}");
    // Times people read carry their local time beside UTC.
    let vienna = trm_in_zone(dir, &lefoe, "Europe/Vienna", &["status", prefix]).await?;
    ensure!(vienna.code == 0, "{vienna:?}");
    assert!(
        vienna.stdout.contains(" UTC (")
            && (vienna.stdout.contains(" CET)") || vienna.stdout.contains(" CEST)")),
        "{vienna:?}"
    );
    let upper = id.to_uppercase();
    let upper = upper.get(..10).ok_or_else(|| anyhow!("short id {id}"))?;
    let shown = trm_in(dir, &astra, &["show", upper, "--json"]).await?;
    expect(Exit::Success, shown, "show by an upper-case prefix")?;
    let accept = [
        "respond",
        "--message",
        prefix,
        "--accept",
        "--unit",
        "reintegration team",
    ];
    let accepted = trm_in(dir, &astra, &accept).await?;
    let accepted = expect(Exit::Success, accepted, "accept by prefix")?;
    assert!(
        accepted.stdout.contains(&id),
        "the answer names the whole id: {accepted:?}"
    );

    // 64: usage.
    for args in [
        &["frobnicate"][..],
        &["show"],
        &["show", "abc12"],
        &["show", "not-an-id"],
        &["inbox", "--at", "2026-11-27"],
        &["demo", "--json"],
        &[
            "audit",
            "report",
            "--directory",
            "d",
            "--authority-key",
            "k",
            "--federation",
            "f",
            "--format",
            "csv",
            "--json",
            "b",
        ],
    ] {
        let run = trm_in(dir, &lefoe, args).await?;
        let run = expect(Exit::Usage, run, &args.join(" "))?;
        assert!(!run.stderr.trim().is_empty(), "{args:?}: says why");
    }
    let short = trm_in(dir, &lefoe, &["status", "abc12"]).await?;
    assert!(short.stderr.contains("at least 6"), "{short:?}");

    // 65: an invalid file, the field named.
    let bad = template
        .stdout
        .replace("nationality = \"RS\"", "nationality = \"Serbia\"");
    std::fs::write(dir.join("bad.toml"), bad)?;
    let run = trm_in(dir, &lefoe, &["send", "referral", "--file", "bad.toml"]).await?;
    let run = expect(Exit::Data, run, "invalid file")?;
    assert!(
        run.stderr.contains("referral.person.nationality"),
        "{run:?}"
    );

    // 66: not found.
    let run = trm_in(dir, &lefoe, &["show", "0123456789abcdef0123456789abcdef"]).await?;
    expect(Exit::NotFound, run, "unknown id")?;
    let run = trm_in(dir, &lefoe, &["send", "referral", "--file", "missing.toml"]).await?;
    expect(Exit::NotFound, run, "missing file")?;
    let run = trm_in(dir, &lefoe, &["case", "AT-NO-SUCH-CASE"]).await?;
    expect(Exit::NotFound, run, "unknown case")?;

    // 69: the node is not reachable.
    let nowhere = dir.join("no-node.sock");
    let run = trm_in(dir, &nowhere, &["inbox"]).await?;
    expect(Exit::Unavailable, run, "no node")?;

    // 70: the node refuses: accepting twice; a partner without a sharing agreement.
    let run = trm_in(dir, &astra, &accept).await?;
    expect(Exit::Refused, run, "accepting twice")?;
    // Astra and Atina have no sharing agreement in the dev federation.
    let no_agreement = template
        .stdout
        .replace("to = \"astra@rs\"", "to = \"atina@rs\"");
    std::fs::write(dir.join("atina.toml"), &no_agreement)?;
    let run = trm_in(dir, &astra, &["send", "referral", "--file", "atina.toml"]).await?;
    expect(Exit::Refused, run, "no sharing agreement")?;

    // 75: a send cut off on the way (a node that hangs up on every request): the outcome is
    // unknown; the same command with the key it names sends once, however often repeated.
    let hangs_up = dir.join("hangs-up.sock");
    let listener = tokio::net::UnixListener::bind(&hangs_up)?;
    let hang_up = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
        }
    });
    let key = "readme-retry-0123456789";
    let other_case = template
        .stdout
        .replace("AT-LEFOE-2026-0042", "AT-LEFOE-2026-0043");
    std::fs::write(dir.join("retried.toml"), other_case)?;
    let send = [
        "send",
        "referral",
        "--file",
        "retried.toml",
        "--idempotency-key",
        key,
    ];
    let run = trm_in(dir, &hangs_up, &send).await?;
    hang_up.abort();
    let run = expect(Exit::OutcomeUnknown, run, "a send cut off")?;
    assert!(
        run.stderr.contains(&format!(
            "the outcome is unknown; run the same command again with --idempotency-key {key}, it will not send twice"
        )),
        "{run:?}"
    );
    let first = trm_in(dir, &lefoe, &send).await?;
    let first = expect(Exit::Success, first, "the repeated send")?;
    let again = trm_in(dir, &lefoe, &send).await?;
    let again = expect(Exit::Success, again, "the send repeated once more")?;
    assert_eq!(first.stdout, again.stdout, "one message, answered twice");

    // 1: a check found a problem: a tampered log bundle.
    let run = trm_in(dir, &lefoe, &["log", "export", "--out", "lefoe.bundle"]).await?;
    expect(Exit::Success, run, "export")?;
    // The first entry is changed: every signed checkpoint covers it (a byte at the end of the
    // file could belong to an entry newer than the last checkpoint, which nothing signs yet).
    let bundle = dir.join("lefoe.bundle");
    let mut decoded = trm_proto::pb::LogBundle::decode(std::fs::read(&bundle)?.as_slice())?;
    ensure!(
        !decoded.checkpoints.is_empty(),
        "the export signs a checkpoint"
    );
    let first = decoded
        .entries
        .first_mut()
        .and_then(|entry| entry.last_mut())
        .ok_or_else(|| anyhow!("no entry in the bundle"))?;
    *first ^= 0x01;
    std::fs::write(&bundle, decoded.encode_to_vec())?;
    let directory = fed.federation.dir.join("directory.pb");
    let key = trm_dev::devfed::authority_key_hex(&fed.federation);
    let verify = [
        "audit",
        "verify",
        "--directory",
        directory.to_str().ok_or_else(|| anyhow!("path"))?,
        "--authority-key",
        &key,
        "--federation",
        "trm-dev",
        "lefoe.bundle",
    ];
    let run = trm_in(dir, &lefoe, &verify).await?;
    expect(Exit::CheckFailed, run, "tampered bundle")?;

    // 73 needs a node whose disk is full: tests/tests/full_disk.rs puts a node's data folder on
    // a small tmpfs, fills it, and shows `trm send` answering 73 with its message.
    seen.insert(Exit::CannotStore.code());
    assert_eq!(seen, documented, "every documented exit code was tried");
    fed.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readmes_child_referral_reaches_the_organisation_that_takes_children()
-> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path();
    let mut fed = readme_federation(&dir.join("fed")).await?;
    start(&mut fed, &[LEFOE, CPVT]).await?;
    let lefoe = fed.node_socket(LEFOE);
    let cpvt = fed.node_socket(CPVT);

    let search = trm_in(
        dir,
        &lefoe,
        &["directory", "search", "--children", "--json"],
    )
    .await?;
    ensure!(search.code == 0, "{search:?}");
    let takers: Vec<String> = search.json()?["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["address"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        takers,
        [CPVT],
        "the dev federation's organisation that takes children"
    );

    let child = child_referral(&readme()?)?;
    let id = send_referral(dir, &lefoe, "child.toml", &child).await?;
    wait_delivered(dir, &cpvt, &id).await?;
    let shown = trm_in(dir, &cpvt, &["show", &id]).await?;
    ensure!(shown.code == 0, "{shown:?}");
    assert!(
        shown.stdout.contains("AT-LEFOE-2026-0043")
            && shown.stdout.contains("Found begging at Vienna Westbahnhof"),
        "{shown:?}"
    );

    // A message file takes the id as the views print it, or a prefix of it.
    let response = trm_in(dir, &cpvt, &["template", "referral_response"])
        .await?
        .stdout;
    let prefix = id.get(..8).ok_or_else(|| anyhow!("short id {id}"))?;
    let response = response
        .replace("PASTE-THE-REFERRAL-ID", prefix)
        .replace("AT-LEFOE-2026-0042", "AT-LEFOE-2026-0043");
    std::fs::write(dir.join("response.toml"), response)?;
    let send = ["send", "referral_response", "--file", "response.toml"];
    let answered = trm_in(dir, &cpvt, &send).await?;
    ensure!(answered.code == 0, "{answered:?}");
    let case = trm_in(dir, &cpvt, &["case", "AT-LEFOE-2026-0043", "--json"]).await?;
    let items = case.json()?["case"]["items"].clone();
    let referral = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["message_id"] == id.as_str())
        .ok_or_else(|| anyhow!("no referral item: {case:?}"))?;
    assert_eq!(referral["state"], "accepted", "{case:?}");

    // Without the guardian the same file is refused, naming the field, and nothing is sent.
    let cut = |marker: &str| child.find(marker).ok_or_else(|| anyhow!("no {marker}"));
    let (from, to) = (cut("[referral.guardian]")?, cut("[referral.consent]")?);
    let without = format!(
        "{}{}",
        child.get(..from).unwrap_or_default(),
        child.get(to..).unwrap_or_default()
    );
    std::fs::write(dir.join("no-guardian.toml"), without)?;
    let run = trm_in(
        dir,
        &lefoe,
        &["send", "referral", "--file", "no-guardian.toml"],
    )
    .await?;
    assert_eq!(run.code, i32::from(Exit::Data.code()), "{run:?}");
    assert!(run.stderr.contains("guardian"), "{run:?}");

    // The template as JSON is a message file too.
    let json = trm_in(dir, &lefoe, &["template", "referral", "--json"]).await?;
    ensure!(json.code == 0, "{json:?}");
    let json_text = json
        .stdout
        .replace("AT-LEFOE-2026-0042", "AT-LEFOE-2026-0044");
    let json_text = json_text.replace("astra@rs", CPVT);
    send_referral(dir, &lefoe, "referral.json", &json_text).await?;
    fed.shutdown().await
}

/// The `trm` lines of the README's "A caseworker's day", comments dropped, arguments split
/// as a shell would (double quotes only).
fn caseworker_lines(readme: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let block = readme
        .split("## A caseworker's day")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .ok_or_else(|| anyhow!("the README has no caseworker's day"))?;
    let mut lines = Vec::new();
    for line in block.lines().filter(|l| l.starts_with("trm ")) {
        let command = line.split(" # ").next().unwrap_or(line);
        let mut args = Vec::new();
        let mut quoted = false;
        let mut word = String::new();
        for c in command.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        args.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            args.push(word);
        }
        lines.push(args.into_iter().skip(1).collect());
    }
    Ok(lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readmes_caseworker_commands_work_as_shown() -> anyhow::Result<()> {
    let lines = caseworker_lines(&readme()?)?;
    assert!(lines.len() >= 15, "{lines:?}");
    let root = tempfile::tempdir()?;
    let dir = root.path();
    let mut fed = readme_federation(&dir.join("fed")).await?;
    start(&mut fed, &[LEFOE, ASTRA]).await?;
    let lefoe = fed.node_socket(LEFOE);
    let astra = fed.node_socket(ASTRA);
    let template = trm_in(dir, &lefoe, &["template", "referral"]).await?.stdout;
    let case_ref = "AT-LEFOE-2026-0042";
    let mut id = send_referral(dir, &lefoe, "first.toml", &template).await?;
    wait_delivered(dir, &astra, &id).await?;
    let mut ran = 0;
    for (n, args) in lines.iter().enumerate() {
        // Lines whose files need ids of earlier steps are the lifecycle's tests'.
        if args
            .iter()
            .any(|a| a.ends_with(".toml") && a != "referral.toml")
        {
            continue;
        }
        let socket = if args.first().is_some_and(|a| a == "respond") {
            // Each answer is an alternative: each answers a referral of its own.
            let case = format!("AT-LEFOE-2026-1{n:03}");
            let text = template.replace(case_ref, &case);
            id = send_referral(dir, &lefoe, &format!("{case}.toml"), &text).await?;
            wait_delivered(dir, &astra, &id).await?;
            &astra
        } else {
            &lefoe
        };
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("<id>", &id).replace("<case-ref>", case_ref))
            .collect();
        let redirect = args.iter().position(|a| a == ">");
        let run_args: Vec<&str> = args[..redirect.unwrap_or(args.len())]
            .iter()
            .map(String::as_str)
            .collect();
        let run = trm_in(dir, socket, &run_args).await?;
        ensure!(run.code == 0, "README line {args:?}: {run:?}");
        if let Some(file) = redirect.and_then(|at| args.get(at + 1)) {
            std::fs::write(dir.join(file), &run.stdout)?;
        }
        ran += 1;
    }
    assert!(ran >= 12, "ran {ran} of the README's lines");
    fed.shutdown().await
}

#[tokio::test]
async fn dev_federation_configurations_work_from_another_folder() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path();
    let nowhere = dir.join("no-node.sock");
    let made = trm_in(dir, &nowhere, &["dev-federation", "--out", "fed", "--json"]).await?;
    ensure!(made.code == 0, "{made:?}");
    let configs: Vec<PathBuf> = made.json()?["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(|p| dir.join(p)))
        .collect();
    assert_eq!(
        configs.len(),
        4 + 11,
        "four brokers and eleven organisations"
    );
    // This test runs in the crate's folder, not the one the files were written from.
    assert_ne!(std::env::current_dir()?, dir);
    let broker = dir.join("fed/brokers/at/broker.toml");
    let broker = trm_broker::BrokerConfigFile::load(&broker)?.validate()?;
    assert!(broker.data_dir.starts_with(dir), "{:?}", broker.data_dir);
    let node = dir.join("fed/nodes/cpvt@rs/node.toml");
    let node = trm_node::NodeConfigFile::load(&node)?;
    assert!(
        node.admin_socket.ends_with("run/cpvt@rs.sock"),
        "{:?}",
        node.admin_socket
    );
    node.validate()?;
    Ok(())
}
