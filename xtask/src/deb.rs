//! The Debian packages `trm-node`, `trm-broker` and `trm`: each package's tree is laid out in
//! a temporary folder from the built binaries and `packaging/`, then packed by
//! `dpkg-deb --build --root-owner-group` (no cargo-deb, no network).
//!
//! A daemon's package holds its binary in `/usr/bin`, its hardened systemd unit, an example
//! configuration in `/etc/trm/<role>/`, its data folder `/var/lib/trm-<role>` at 0700, the
//! configuration reference, and a `postinst` that creates the system user and hands it the
//! data folder. Nothing is started on install: a node or broker needs its keys from the
//! federation authority first.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, ensure};

/// A daemon's service files.
pub struct Service {
    /// The role: `node` or `broker` (`/etc/trm/<role>`, `<role>.toml`).
    pub role: &'static str,
    /// The system user and group, also the unit's and data folder's name.
    pub user: &'static str,
}

/// One package.
pub struct Package {
    /// The package's name.
    pub name: &'static str,
    /// The program it installs in `/usr/bin`.
    pub binary: &'static str,
    /// The one-line summary.
    pub summary: &'static str,
    /// The longer description, one paragraph.
    pub description: &'static str,
    /// The service it runs, if it is a daemon.
    pub service: Option<Service>,
}

/// The three packages.
pub const PACKAGES: [Package; 3] = [
    Package {
        name: "trm-node",
        binary: "trm-node",
        summary: "trm node: an organisation's end of the transnational referral mechanism",
        description: "Holds the organisation's keys, seals and opens end-to-end encrypted case \
                      messages, exchanges them through its home broker over mutual TLS, and \
                      keeps the hash-chained handover log auditors verify.",
        service: Some(Service {
            role: "node",
            user: "trm-node",
        }),
    },
    Package {
        name: "trm-broker",
        binary: "trm-broker",
        summary: "trm broker: stores and forwards sealed case messages, content-blind",
        description: "Authenticates nodes and peer brokers with mutual TLS, stores envelopes \
                      durably and delivers them, without ever seeing their content.",
        service: Some(Service {
            role: "broker",
            user: "trm-broker",
        }),
    },
    Package {
        name: "trm",
        binary: "trm",
        summary: "trm: the command line for caseworkers, liaison officers and coordinators",
        description: "Sends, reads and answers case messages through the organisation's node, \
                      and verifies handover logs offline.",
        service: None,
    },
];

/// Where the package files live, relative to the workspace root.
pub const PACKAGING: &str = "packaging";

/// The maintainer named in every package.
const MAINTAINER: &str = "trm maintainers <trm@localhost>";

/// Runs `command`, failing with its standard error when it fails; returns its standard output.
pub fn run(command: &mut Command) -> anyhow::Result<String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    ensure!(
        output.status.success(),
        "{shown} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The architecture `dpkg` installs for on this machine (`amd64`, `arm64`, ...).
fn architecture() -> anyhow::Result<String> {
    Ok(run(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned())
}

/// The newest `GLIBC_2.N` symbol version a binary asks for: the `libc6` it depends on.
pub fn glibc_floor(binary: &[u8]) -> Option<u32> {
    const MARK: &[u8] = b"GLIBC_2.";
    binary
        .windows(MARK.len())
        .enumerate()
        .filter(|(_, window)| *window == MARK)
        .filter_map(|(at, _)| {
            let digits: Vec<u8> = binary
                .get(at + MARK.len()..)?
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            std::str::from_utf8(&digits).ok()?.parse().ok()
        })
        .max()
}

/// Copies `from` to `to` (creating its folder) with `mode`.
fn install(from: &Path, to: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(folder) = to.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Writes `text` to `to` (creating its folder) with `mode`.
fn write(to: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(folder) = to.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(to, text).with_context(|| format!("cannot write {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Creates folder `path` with `mode`.
fn folder(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// The total size of the files under `path`, KiB, for `Installed-Size`.
fn size_kib(path: &Path) -> anyhow::Result<u64> {
    let mut bytes = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        bytes += if metadata.is_dir() {
            size_kib(&entry.path())? * 1024
        } else {
            metadata.len()
        };
    }
    Ok(bytes.div_ceil(1024))
}

/// `text` in lines of at most `width` characters (longer words stay whole), joined as a
/// control file's continuation lines (each after a space).
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines.join("\n ")
}

/// Lays out `package`'s tree under `tree` from the binaries in `binaries` and the workspace at
/// `root`, with its `DEBIAN` control files.
fn lay_out(
    package: &Package,
    root: &Path,
    binaries: &Path,
    tree: &Path,
    architecture: &str,
) -> anyhow::Result<()> {
    let packaging = root.join(PACKAGING);
    let binary = binaries.join(package.binary);
    let bytes = std::fs::read(&binary).with_context(|| {
        format!(
            "cannot read {} (build it first: cargo build --workspace --all-targets)",
            binary.display()
        )
    })?;
    install(&binary, &tree.join("usr/bin").join(package.binary), 0o755)?;
    let doc = tree.join("usr/share/doc").join(package.name);
    install(
        &root.join(crate::CONFIGURATION_REFERENCE),
        &doc.join("configuration.md"),
        0o644,
    )?;
    let mut conffiles = String::new();
    if let Some(service) = &package.service {
        let unit = format!("{}.service", service.user);
        install(
            &packaging.join("systemd").join(&unit),
            &tree.join("lib/systemd/system").join(&unit),
            0o644,
        )?;
        let example = format!("{}.toml.example", service.role);
        let etc = tree.join("etc/trm").join(service.role);
        install(
            &packaging.join("config").join(&example),
            &etc.join(&example),
            0o644,
        )?;
        folder(&etc, 0o750)?;
        conffiles.push_str(&format!("/etc/trm/{}/{example}\n", service.role));
        folder(&tree.join("var/lib").join(service.user), 0o700)?;
        install(
            &packaging
                .join("debian")
                .join(format!("{}.postinst", package.name)),
            &tree.join("DEBIAN/postinst"),
            0o755,
        )?;
        write(&tree.join("DEBIAN/conffiles"), &conffiles, 0o644)?;
    }
    let mut depends = match glibc_floor(&bytes) {
        Some(minor) => format!("libc6 (>= 2.{minor})"),
        None => "libc6".to_owned(),
    };
    if package.service.is_some() {
        depends.push_str(", adduser");
    }
    let recommends = if package.service.is_some() {
        "Recommends: trm\n"
    } else {
        ""
    };
    let control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: {architecture}\n\
         Maintainer: {MAINTAINER}\nInstalled-Size: {size}\nDepends: {depends}\n{recommends}\
         Section: net\nPriority: optional\nDescription: {summary}\n {description}\n",
        name = package.name,
        version = env!("CARGO_PKG_VERSION"),
        size = size_kib(tree)?,
        summary = package.summary,
        description = wrap(package.description, 72),
    );
    write(&tree.join("DEBIAN/control"), &control, 0o644)?;
    Ok(())
}

/// Builds every package from the binaries in `binaries` into `out`, returning the `.deb`
/// files in [`PACKAGES`] order. `fast` packs with gzip at its lowest level (for debug
/// binaries in CI) instead of dpkg's default xz.
pub fn build(root: &Path, binaries: &Path, out: &Path, fast: bool) -> anyhow::Result<Vec<PathBuf>> {
    let architecture = architecture()?;
    std::fs::create_dir_all(out)?;
    let mut built = Vec::new();
    for package in &PACKAGES {
        let staging = tempfile::tempdir()?;
        let tree = staging.path().join(package.name);
        folder(&tree, 0o755)?;
        lay_out(package, root, binaries, &tree, &architecture)?;
        let deb = out.join(format!(
            "{}_{}_{architecture}.deb",
            package.name,
            env!("CARGO_PKG_VERSION")
        ));
        let mut command = Command::new("dpkg-deb");
        command.arg("--build").arg("--root-owner-group");
        if fast {
            command.args(["-Zgzip", "-z1"]);
        }
        run(command.arg(&tree).arg(&deb))?;
        built.push(deb);
    }
    Ok(built)
}

/// Builds the three programs with cargo and returns the folder they are in. The release
/// build builds only them; the debug build is the whole workspace with every target, the build
/// `cargo xtask test` makes, so that packing after the tests builds nothing again.
pub fn build_binaries(root: &Path, release: bool) -> anyhow::Result<PathBuf> {
    let mut args = vec!["build", "--locked"];
    if release {
        args.extend(["--release", "--bins"]);
        for package in &PACKAGES {
            args.extend(["--package", package_crate(package)]);
        }
    } else {
        args.extend(["--workspace", "--all-targets"]);
    }
    crate::run_shown(crate::cargo(root, &args))?;
    Ok(target_dir(root).join(if release { "release" } else { "debug" }))
}

/// The cargo package that builds `package`'s program.
fn package_crate(package: &Package) -> &'static str {
    match package.binary {
        "trm" => "trm-cli",
        other => other,
    }
}

/// The cargo target folder: `CARGO_TARGET_DIR`, or `target` in the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_libc_a_binary_needs_is_its_newest_symbol_version() {
        let binary = b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0GLIBC_2.\0GLIBC_PRIVATE";
        assert_eq!(glibc_floor(binary), Some(34));
        assert_eq!(glibc_floor(b"no symbols"), None);
    }

    #[test]
    fn a_description_is_wrapped_into_continuation_lines() {
        assert_eq!(wrap("one two three four", 9), "one two\n three\n four");
        assert_eq!(wrap("unbreakable-word x", 4), "unbreakable-word\n x");
    }
}
