//! `cargo xtask`: see the crate documentation ([`xtask`]) for the tasks.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use xtask::lint::ClippyInBuild;
use xtask::{cargo, deb, nats, run_shown, tools, verify, workspace_root};

const USAGE: &str = "usage: cargo xtask test [--no-clippy] [NEXTEST ARGS]\n       \
                     cargo xtask deb [--release] [--verify]\n       \
                     cargo xtask config-docs [--check]\n       \
                     cargo xtask openapi";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let root = workspace_root();
    match args {
        ["test", "--no-clippy", rest @ ..] => test(&root, rest, None),
        ["test", rest @ ..] => test(&root, rest, Some(ClippyInBuild::find()?)),
        ["deb", flags @ ..] => {
            let release = flags.contains(&"--release");
            let check = flags.contains(&"--verify");
            if let Some(unknown) = flags
                .iter()
                .find(|f| !matches!(**f, "--release" | "--verify"))
            {
                bail!("unknown option {unknown}\n{USAGE}");
            }
            let binaries = deb::build_binaries(&root, release)?;
            let out = deb::target_dir(&root).join("debian");
            let built = deb::build(&root, &binaries, &out, !release)?;
            for (package, path) in deb::PACKAGES.iter().zip(&built) {
                println!("built {}", path.display());
                if check {
                    for finding in verify::verify(package, path)? {
                        println!("  ok: {finding}");
                    }
                }
            }
            Ok(())
        }
        ["config-docs", flags @ ..] => {
            let mut args = vec!["run", "--locked", "--quiet", "-p", "trm-config-docs", "--"];
            args.extend(flags);
            run_shown(cargo(&root, &args))
        }
        ["openapi"] => {
            // The node's code generates the document: its currency test rewrites the
            // committed copy when asked to.
            let mut command = cargo(
                &root,
                &[
                    "test",
                    "--locked",
                    "-p",
                    "trm-node",
                    "--lib",
                    "--",
                    "http::openapi::tests::the_committed_document_is_current",
                    "--exact",
                ],
            );
            command.env("TRM_WRITE_OPENAPI", "1");
            run_shown(command)?;
            println!("wrote {}", root.join("docs/openapi.json").display());
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}

/// `cargo xtask test [--no-clippy] [ARGS]`: builds every target (linting the workspace's crates
/// as it compiles them unless `--no-clippy` is given), runs every test, then without ARGS the
/// integration tests again on a JetStream cluster.
fn test(root: &Path, rest: &[&str], clippy: Option<ClippyInBuild>) -> anyhow::Result<()> {
    tools::ensure_all(root)?;
    let cargo = |args: &[&str]| {
        let mut command = cargo(root, args);
        if let Some(clippy) = &clippy {
            clippy.apply(&mut command);
        }
        command
    };
    // Everything, every target: the programs the packaging test packs are then in the target
    // folder, and nextest's own build finds nothing left to do.
    run_shown(cargo(&[
        "build",
        "--locked",
        "--workspace",
        "--all-targets",
    ]))?;
    let mut nextest = vec![
        "nextest",
        "run",
        "--workspace",
        "--locked",
        "--no-fail-fast",
    ];
    nextest.extend(rest);
    let nats_server = root.join(tools::NATS_SERVER);
    let mut command = cargo(&nextest);
    // The JetStream tests' servers (tests/src/nats.rs looks here first).
    command.env("TRM_NATS_SERVER", &nats_server);
    let everything = run_shown(command);
    if !rest.is_empty() {
        return everything;
    }
    // The same integration tests with every broker's store on a JetStream cluster.
    let cluster = nats::Cluster::start(&nats_server, 3)?;
    // `--workspace` with a filter, not `-p trm-tests --test integration`: the features of
    // shared dependencies are then unified as in the build above, and nothing is compiled
    // again.
    let mut command = cargo(&[
        "nextest",
        "run",
        "--workspace",
        "--locked",
        "--no-fail-fast",
        "-E",
        "binary_id(trm-tests::integration)",
    ]);
    command
        .env("TRM_NATS_SERVER", &nats_server)
        .env("TRM_TEST_STORE", "jetstream")
        .env("TRM_TEST_NATS", cluster.urls.join(","));
    eprintln!("xtask: the integration tests again, the brokers' store on JetStream");
    let jetstream = run_shown(command);
    drop(cluster);
    everything.and(jetstream)
}
