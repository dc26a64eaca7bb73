//! The load tool's short run, as CI makes it: `trm-load --short` starts its processes, runs
//! every scenario and prints every row. Its figures are printed for people, never asserted:
//! this only checks that the tool ran to the end and left no row out.

use std::process::Command;

use trm_tests::load::Options;

#[test]
fn the_short_run_prints_every_row() -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_trm-load"))
        .arg("--short")
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "trm-load --short failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let table = stdout
        .split_once("## Figures")
        .map(|(_, table)| table)
        .ok_or_else(|| anyhow::anyhow!("no table of figures in:\n{stdout}"))?;
    for key in Options::short().rows() {
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
