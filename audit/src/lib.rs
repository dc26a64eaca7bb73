//! trm's offline auditor as a library: what `trm audit verify` and `trm audit report` compute
//! from exported handover-log bundles and the federation's signed directory, with no node, no
//! database and no network. The `trm` command line is a thin front over it.
//!
//! # Layout
//! - [`verify`]: bundle verification (hash chain, checkpoints, Merkle roots), each node's
//!   history, the bilateral cross-check between partners, witnessed checkpoints and forks, the
//!   findings and their output ([`verify::verify`] over named bundle bytes and a
//!   [`verify::Trust`]).
//! - [`report`]: the coordinator's report over the same bundles: figures, organisations,
//!   HTML (with SVG), CSV and JSON ([`report::build::build`], [`report::build::render`]).

#![forbid(unsafe_code)]

pub mod report;
pub mod verify;
