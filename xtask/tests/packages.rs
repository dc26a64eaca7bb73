//! The Debian packages build from the debug programs and pass every check of
//! [`xtask::verify`]: control data, file modes, the extracted programs answering `--version`
//! and `--help`, the `postinst` parsing, and the units passing `systemd-analyze verify` and
//! `security`. A unit with a mistake in it is caught.
//!
//! The packages are made from the debug programs that `cargo xtask test` builds before it runs
//! the tests (`cargo build --workspace --all-targets`): building them from inside a test would
//! build the workspace a second time. Without them the test fails and says what to run.

use xtask::{deb, verify, workspace_root};

#[test]
fn the_packages_build_and_pass_their_checks() -> anyhow::Result<()> {
    let root = workspace_root();
    let binaries = deb::target_dir(&root).join("debug");
    let missing: Vec<_> = deb::PACKAGES
        .iter()
        .filter(|p| !binaries.join(p.binary).is_file())
        .map(|p| p.binary)
        .collect();
    assert!(
        missing.is_empty(),
        "{missing:?} not built in {}: run the tests with `cargo xtask test`, which builds them \
         first (or `cargo build --workspace --all-targets`)",
        binaries.display()
    );
    let out = tempfile::tempdir()?;
    let built = deb::build(&root, &binaries, out.path(), true)?;
    assert_eq!(built.len(), deb::PACKAGES.len());
    for (package, path) in deb::PACKAGES.iter().zip(&built) {
        let findings = verify::verify(package, path)?;
        println!("{}: {findings:#?}", package.name);
        let expected = if package.service.is_some() { 7 } else { 3 };
        assert_eq!(findings.len(), expected, "{findings:?}");
    }
    Ok(())
}

#[test]
fn a_unit_with_a_mistake_or_without_hardening_is_refused() -> anyhow::Result<()> {
    let root = workspace_root();
    let unit = std::fs::read_to_string(root.join("packaging/systemd/trm-node.service"))?;
    let fake_root = tempfile::tempdir()?;
    let programs = fake_root.path().join("usr/bin");
    std::fs::create_dir_all(&programs)?;
    std::fs::copy("/bin/true", programs.join("trm-node"))?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("trm-node.service");

    std::fs::write(&path, &unit)?;
    let findings = verify::verify_unit(&path, fake_root.path())?;
    assert!(findings.iter().any(|f| f.contains("OK")), "{findings:?}");

    // systemd-analyze verify exits 0 on this; the check does not.
    std::fs::write(
        &path,
        unit.replace("ProtectSystem=strict", "ProtectSystem=strikt"),
    )?;
    let refused = verify::verify_unit(&path, fake_root.path()).err();
    assert!(
        refused
            .as_ref()
            .is_some_and(|e| e.to_string().contains("protect system value")),
        "{refused:?}"
    );

    // Without its hardening the unit is exposed, and the security check says so.
    let bare: String = unit
        .lines()
        .filter(|line| {
            !line.starts_with("Protect")
                && !line.starts_with("Restrict")
                && !line.starts_with("SystemCall")
                && !line.starts_with("Capability")
                && !line.starts_with("Private")
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&path, bare)?;
    let refused = verify::verify_unit(&path, fake_root.path()).err();
    assert!(
        refused
            .as_ref()
            .is_some_and(|e| e.to_string().contains("above 2.0")),
        "{refused:?}"
    );
    Ok(())
}
