//! trm's build tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`):
//!
//! - `deb [--release] [--verify]`: builds `trm-node`, `trm-broker` and `trm`, packs their
//!   Debian packages into `target/debian/` and, with `--verify`, checks each one.
//! - `config-docs [--check]`: writes `docs/configuration.md` from the configuration types, or
//!   only checks that it is current.
//!
//! # Layout
//! - [`deb`]: laying out and packing the packages.
//! - [`verify`]: checking a built package and its systemd unit.
//! - [`reference`]: the configuration reference.

#![forbid(unsafe_code)]

pub mod deb;
pub mod reference;
pub mod verify;

use std::path::{Path, PathBuf};

/// The workspace root (this crate's parent folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
