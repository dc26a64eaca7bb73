//! The load tool's short runs, as CI makes them: `trm-load --short` starts its processes, runs
//! every scenario on the embedded store and prints every row; a second short run measures the
//! acceptance and end-to-end rows on the JetStream store (a 3-server NATS cluster the tool
//! starts) and prints them beside the embedded ceiling's. Their figures are printed for people,
//! never asserted: this only checks that the tool ran to the end and left no row out.

use std::process::Command;

use trm_tests::load::Options;

/// Runs `trm-load` with `args`; fails unless it succeeds and its table has every row of `rows`.
fn prints_every_row(args: &[&str], rows: Vec<String>) -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_trm-load"))
        .args(args)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "trm-load {} failed ({}):\n{stdout}\n{stderr}",
        args.join(" "),
        output.status
    );
    let table = stdout
        .split_once("## Figures")
        .map(|(_, table)| table)
        .ok_or_else(|| anyhow::anyhow!("no table of figures in:\n{stdout}"))?;
    for key in rows {
        anyhow::ensure!(
            table
                .lines()
                .any(|line| line.starts_with(&format!("| {key} |"))),
            "row {key} is missing from the table:\n{table}"
        );
    }
    println!("{stdout}");
    Ok(())
}

#[test]
fn the_short_run_prints_every_row() -> anyhow::Result<()> {
    prints_every_row(&["--short"], Options::short().rows())
}

#[test]
fn the_short_jetstream_run_prints_its_rows() -> anyhow::Result<()> {
    prints_every_row(
        Options::SHORT_JETSTREAM_ARGS,
        Options::short_jetstream().rows(),
    )
}
