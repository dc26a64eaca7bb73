//! The federation authority's operations and a joining organisation's enrollment, for real
//! federations: the authority enrols, revokes, rotates keys with an overlap and makes or ends
//! sharing agreements on a federation folder, each change published as a new signed directory
//! version; a new node makes its keys locally with a certificate request for the authority.
//!
//! `trm-dev` builds development federations on the same PKI and files.
//!
//! # Layout
//! - [`authority`]: [`Authority`], the operations on a federation folder.
//! - [`enrollment`]: a new node's keys and its enrollment request.
//! - [`pki`]: the CA and the broker and node certificates (rcgen), and
//!   [`issue_node_certificate`] for certificates outside the directory.
//! - [`files`]: the names of a federation folder's files, and writing private keys with mode
//!   0600.
//! - [`material`]: [`Federation`], [`BrokerMaterial`] and [`NodeMaterial`], a federation's
//!   keys and certificates in memory.
//! - [`publish`]: the version number reserved before signing, and the copy of each version
//!   kept in `published/`, so that no number is ever signed twice.
//! - [`crash`]: a fault hook, honoured by debug builds only, that stops a publish at a step.
//! - `error`: [`CertsError`].
//!
//! A federation folder:
//!
//! ```text
//! ca.pem  ca.key*  authority.key*  authority.pub  directory.pb  federation.toml
//! next-version  published/<version>.pb
//! brokers/<name>/      tls.pem  tls.key*  signing.key*
//! nodes/<address>/     tls.pem  tls.key*  signing.key*  age.key*
//! ```
//! Files marked `*` are private keys, created with mode 0600.

pub mod authority;
pub mod crash;
pub mod enrollment;
mod error;
pub mod files;
pub mod material;
pub mod pki;
pub mod publish;

pub use authority::Authority;
pub use error::CertsError;
pub use material::{BrokerMaterial, Federation, NodeMaterial};
pub use pki::{
    ISSUED_NODE_VALIDITY_DAYS, issue_node_certificate, node_certificate_request, sign_node_request,
};
