//! Generates a development federation for trm: a CA, TLS certificates and Ed25519 and age keys
//! for every broker and node, and the directory signed by a fresh federation authority key.
//!
//! The federation is described by a small TOML [`FederationSpec`]; [`DEFAULT_SPEC`] is a
//! realistic one with brokers for Austria, Serbia, North Macedonia and Albania. Everything it
//! makes is for development and tests only: the keys are written unencrypted to disk.
//!
//! ```no_run
//! let spec = trm_certs_dev::FederationSpec::default_dev();
//! let federation = trm_certs_dev::generate(&spec, std::path::Path::new("dev-federation"))?;
//! println!("{}", federation.node("astra@rs").map_or("", |n| &n.age_recipient));
//! # Ok::<(), trm_certs_dev::CertsError>(())
//! ```
//!
//! # Layout
//! - [`spec`]: the TOML description and [`DEFAULT_SPEC`]; `validate` holds its rules.
//! - `pki`: the CA and the broker and node certificates (rcgen), and
//!   [`issue_node_certificate`] for certificates outside the directory.
//! - `generate`: [`generate`], which makes everything, verifies the directory and writes it.
//! - `material`: [`Federation`], [`BrokerMaterial`] and [`NodeMaterial`], what `generate`
//!   returns.
//! - [`files`]: the names of the files below, and writing private keys with mode 0600.
//! - [`authority`]: the federation authority's operations: enrol, revoke, rotate, agreements.
//! - [`enrollment`]: a new node's keys and its enrollment request.
//! - `error`: [`CertsError`].
//!
//! The folder written by [`generate`]:
//!
//! ```text
//! ca.pem  ca.key*  authority.key*  authority.pub  directory.pb  federation.toml
//! brokers/<name>/      tls.pem  tls.key*  signing.key*
//! nodes/<address>/     tls.pem  tls.key*  signing.key*  age.key*
//! ```
//! Files marked `*` are private keys, created with mode 0600.

pub mod authority;
pub mod enrollment;
mod error;
pub mod files;
mod generate;
mod material;
mod pki;
pub mod spec;
pub mod validate;

pub use error::CertsError;
pub use generate::generate;
pub use material::{BrokerMaterial, Federation, NodeMaterial};
pub use pki::{
    ISSUED_NODE_VALIDITY_DAYS, issue_node_certificate, node_certificate_request, sign_node_request,
};
pub use spec::{AgreementSpec, BrokerSpec, DEFAULT_SPEC, FederationSpec, NodeSpec};
pub use validate::{ALL_KINDS, message_kind};
