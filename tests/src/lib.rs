//! Helpers shared by trm's integration tests, fault tools and benchmarks: a two-organisation
//! federation on loopback, a raw mutual-TLS client for crafting adversarial requests, and
//! hand-built envelopes that the real node would never seal.
//!
//! # Layout
//! - [`fixtures`]: the federation and the referral used by the tests.
//! - [`case_keys`]: a node's case keys, looked at from outside the node.
//! - [`raw`]: a broker client with any certificate, and a codec that sends arbitrary bytes.
//! - [`craft`]: envelopes built by hand, for forgeries and binding attacks.
//! - [`inject`]: envelopes queued past a broker's checks, as a misbehaving broker would.
//! - [`process`]: the broker and the node as real processes, killed when dropped.
//! - [`proxy`]: a TCP link proxy that passes, resets, blackholes or holds a link on demand.
//! - [`instances`]: broker processes of one broker name on one JetStream stream, as the
//!   multi-instance tests start them, and the waits they share.
//! - [`nats`]: a NATS JetStream cluster of real servers on loopback, killed and restarted at will.
//! - [`fill`]: a node's store filled with many messages, and the cost of a send from it.
//! - [`faults`]: the fault tool, `trm-faults`: a federation of processes under load and faults.
//! - [`web`]: a node serving its HTTPS address (API and console) with an account per role,
//!   and an HTTPS client for it.
//! - [`browser`]: Debian's Chromium headless through chromedriver, with accessibility checks
//!   (axe-core) and screenshots, for the console's browser tests.
//! - [`load`]: the load tool, `trm-load`: figures of real processes against an in-run ceiling.

pub mod browser;
pub mod case_keys;
pub mod craft;
pub mod faults;
pub mod fill;
pub mod fixtures;
pub mod inject;
pub mod instances;
pub mod load;
pub mod nats;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod web;
