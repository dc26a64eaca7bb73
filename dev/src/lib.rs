//! Development only: a development federation generated from a TOML description, its
//! configuration files, a whole federation run in one process, and the demo.
//!
//! The federation is described by a small TOML [`FederationSpec`]; [`DEFAULT_SPEC`] is a
//! realistic one with brokers for Austria, Serbia, North Macedonia and Albania. Everything it
//! makes is for development and tests only: the keys are written unencrypted to disk. The PKI,
//! the folder's files and the authority's later changes are `trm-authority`'s.
//!
//! ```no_run
//! let spec = trm_dev::FederationSpec::default_dev();
//! let federation = trm_dev::generate(&spec, std::path::Path::new("dev-federation"))?;
//! println!("{}", federation.node("astra@rs").map_or("", |n| &n.age_recipient));
//! # Ok::<(), trm_dev::CertsError>(())
//! ```
//!
//! # Layout
//! - [`spec`]: the TOML description and [`DEFAULT_SPEC`]; [`validate`] holds its rules (and
//!   depends on `spec`, not the other way round).
//! - `generate`: [`generate`], which makes everything, verifies the directory and writes it
//!   (the folder layout is in `trm_authority`).
//! - [`devfed`]: configuration files of a development federation.
//! - [`local`]: a federation of brokers and nodes in one process, for the demo and the tests.
//! - [`socket`]: admin clients over a node's Unix socket.
//! - [`wait`]: waiting for a state, and searching files for plaintext.
//! - [`lifecycle`]: one case's life between two organisations, run by the demo and the tests.
//! - [`demo`]: `trm demo`, which the caseworker's `trm` runs with its own output
//!   ([`demo::Front`]).

pub mod demo;
pub mod devfed;
mod generate;
pub mod lifecycle;
pub mod local;
pub mod socket;
pub mod spec;
pub mod validate;
pub mod wait;

pub use generate::generate;
pub use spec::{AgreementSpec, BrokerSpec, DEFAULT_SPEC, FederationSpec, NodeSpec};
pub use trm_authority::{BrokerMaterial, CertsError, Federation, NodeMaterial};
