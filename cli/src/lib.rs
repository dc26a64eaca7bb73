//! `trm`, the command line for caseworkers, liaison officers and coordinators: it talks to the
//! organisation's node over its Unix socket. With the `demo` feature (on by default) it also
//! runs the demo federation, which lives in `trm-dev`.
//!
//! # Layout
//! - [`commands`]: each command against the node, with exit codes.
//! - [`accounts`]: `trm accounts` and `trm access-log`.
//! - [`audit`]: `trm log checkpoint` and `trm log export`.
//! - [`audit_report`]: `trm audit report`, the coordinator's report over log bundles (the
//!   auditor itself is the `trm-audit` library).
//! - [`case_commands`] and [`case_view`]: `trm cases`, `trm case` and `trm respond`, and
//!   their output.
//! - [`attachments`]: `--attach`, `trm attachment list` and `trm attachment save`.
//! - [`client`]: the Unix-socket connection to the node.
//! - [`referral_file`] and [`message_file`]: the file formats, their checks and templates
//!   (the `trm-forms` crate, which the node's HTTP API validates with too).
//! - [`render`] and [`json`]: output for people and for scripts; [`content`] a message's
//!   content for both (the structured view of `trm-view`), [`fmt`] the plurals all of
//!   them use, and [`when`] a time as people read it, UTC and local.
//! - [`webhooks`]: `trm webhooks`, the organisation's signed notifications.
//! - `demo` (feature `demo`): `trm demo`, `trm_dev`'s demo with this crate's output.

pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod audit_report;
pub mod case_commands;
pub mod case_view;
pub mod client;
pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
pub mod fmt;
pub use trm_forms::{content, json, message_file, referral_file};
pub mod render;
pub mod webhooks;
pub mod when;
