//! Checks a built package the way an operator's machine would see it, without installing it
//! on this one: its control data and file list (`dpkg-deb --info`, `--contents`: the program
//! in `/usr/bin`, the data folder at 0700), the program extracted into a throw-away root
//! (`dpkg-deb -x`) answering `--version` and `--help`, its `postinst` parsed by `sh -n`, and
//! its systemd unit passing `systemd-analyze verify` (no warning at all) and
//! `systemd-analyze security --offline` at an exposure of at most 2.0 ("OK").

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};

use crate::deb::{Package, run};

/// The highest exposure `systemd-analyze security` may give a unit, in tenths (2.0).
pub const EXPOSURE_THRESHOLD: u32 = 20;

/// What the checks of one package found, one line each, for a person.
pub type Findings = Vec<String>;

/// Checks `deb`, the package `package`.
pub fn verify(package: &Package, deb: &Path) -> anyhow::Result<Findings> {
    let mut found = Vec::new();
    let info = run(Command::new("dpkg-deb").arg("--info").arg(deb))?;
    ensure!(
        info.contains(&format!("Package: {}\n", package.name)),
        "{}: control data does not name package {}:\n{info}",
        deb.display(),
        package.name
    );
    found.push(format!("{}: control data names the package", package.name));

    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    expect_entry(
        &contents,
        &format!("./usr/bin/{}", package.binary),
        "-rwxr-xr-x",
    )?;
    found.push(format!("/usr/bin/{} is 0755 root/root", package.binary));

    let root = tempfile::tempdir()?;
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(root.path()))?;
    let program = root.path().join("usr/bin").join(package.binary);
    let version = run(Command::new(&program).arg("--version"))?;
    ensure!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "{} --version printed {version:?}",
        package.binary
    );
    let help = run(Command::new(&program).arg("--help"))?;
    ensure!(
        help.contains("Usage"),
        "{} --help printed {help:?}",
        package.binary
    );
    found.push(format!(
        "the extracted {} answers --version ({}) and --help",
        package.binary,
        version.trim()
    ));

    if let Some(service) = &package.service {
        expect_entry(
            &contents,
            &format!("./var/lib/{}/", service.user),
            "drwx------",
        )?;
        found.push(format!("/var/lib/{} is 0700", service.user));
        let example = format!("./etc/trm/{0}/{0}.toml.example", service.role);
        expect_entry(&contents, &example, "-rw-r--r--")?;
        ensure!(
            info.contains("postinst"),
            "{}: no postinst to create the system user",
            package.name
        );
        let control = tempfile::tempdir()?;
        run(Command::new("dpkg-deb")
            .arg("--control")
            .arg(deb)
            .arg(control.path()))?;
        run(Command::new("sh")
            .arg("-n")
            .arg(control.path().join("postinst")))?;
        found.push("postinst parses (sh -n)".to_owned());
        let unit = root
            .path()
            .join("lib/systemd/system")
            .join(format!("{}.service", service.user));
        found.extend(verify_unit(&unit, root.path())?);
    }
    Ok(found)
}

/// Fails unless `contents` (a `dpkg-deb --contents` listing) has `path` with permissions
/// `mode`, owned by root.
fn expect_entry(contents: &str, path: &str, mode: &str) -> anyhow::Result<()> {
    let line = contents
        .lines()
        .find(|line| line.split_whitespace().last() == Some(path))
        .with_context(|| format!("the package has no {path}:\n{contents}"))?;
    let mut fields = line.split_whitespace();
    ensure!(
        fields.next() == Some(mode) && fields.next() == Some("root/root"),
        "{path} should be {mode} root/root: {line}"
    );
    Ok(())
}

/// Checks the systemd unit file `unit`, whose programs are under `root` (an extracted
/// package): `systemd-analyze verify` must print nothing at all (it exits 0 on many
/// warnings), and `systemd-analyze security --offline` must rate it at most
/// [`EXPOSURE_THRESHOLD`]. The unit is checked as a copy whose `/usr/bin` programs point into
/// `root`, since `verify` insists that they exist.
pub fn verify_unit(unit: &Path, root: &Path) -> anyhow::Result<Findings> {
    let text =
        std::fs::read_to_string(unit).with_context(|| format!("cannot read {}", unit.display()))?;
    let name = unit
        .file_name()
        .with_context(|| format!("{} is not a file", unit.display()))?;
    let copy = tempfile::tempdir()?;
    let checked = copy.path().join(name);
    let programs = root.join("usr/bin");
    std::fs::write(
        &checked,
        text.replace("=/usr/bin/", &format!("={}/", programs.display())),
    )?;
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&checked)
        .output()
        .context("cannot run systemd-analyze")?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() || !said.trim().is_empty() {
        bail!(
            "systemd-analyze verify {} ({}): {}",
            unit.display(),
            output.status,
            said.trim()
        );
    }
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(format!("--threshold={EXPOSURE_THRESHOLD}"))
        .arg(&checked)
        .output()
        .context("cannot run systemd-analyze")?;
    let report = String::from_utf8_lossy(&output.stdout);
    let overall = report
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or("no overall exposure level")
        .trim_start_matches(['→', ' '])
        .to_owned();
    ensure!(
        output.status.success(),
        "systemd-analyze security rates {} above {}.{}: {overall}",
        unit.display(),
        EXPOSURE_THRESHOLD / 10,
        EXPOSURE_THRESHOLD % 10
    );
    Ok(vec![
        format!("{} passes systemd-analyze verify", name.to_string_lossy()),
        overall,
    ])
}
