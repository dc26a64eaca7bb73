//! `cargo xtask`: see the crate documentation ([`xtask`]) for the tasks.

use std::process::ExitCode;

use anyhow::bail;
use xtask::{deb, reference, verify, workspace_root};

const USAGE: &str =
    "usage: cargo xtask deb [--release] [--verify]\n       cargo xtask config-docs [--check]";

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
        ["config-docs"] => {
            let path = root.join(reference::FILE);
            std::fs::write(&path, reference::generate(&root)?)?;
            println!("wrote {}", path.display());
            Ok(())
        }
        ["config-docs", "--check"] => {
            let path = root.join(reference::FILE);
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != reference::generate(&root)? {
                bail!(
                    "{} is not current: run `{}`",
                    path.display(),
                    reference::COMMAND
                );
            }
            println!("{} is current", path.display());
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}
