//! `trm audit report`: the coordinator's report over exported handover-log bundles. The report
//! itself (figures, HTML, CSV, JSON) is [`trm_audit::report`]; this is the command around it.
//!
//! # Layout
//! - [`command`]: reading the files named on the command line and writing the chosen format.

pub mod command;
