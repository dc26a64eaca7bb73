//! `trm-config-docs [--check]`: writes `docs/configuration.md`, or checks that the committed
//! copy is current. Run as `cargo xtask config-docs [--check]`.

use std::process::ExitCode;

use anyhow::bail;
use trm_config_docs::{COMMAND, FILE, generate, workspace_root};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("config-docs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let path = root.join(FILE);
    match args {
        [] => {
            std::fs::write(&path, generate(&root)?)?;
            println!("wrote {}", path.display());
        }
        [flag] if flag == "--check" => {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != generate(&root)? {
                bail!("{} is not current: run `{COMMAND}`", path.display());
            }
            println!("{} is current", path.display());
        }
        _ => bail!("usage: {COMMAND} [--check]"),
    }
    Ok(())
}
