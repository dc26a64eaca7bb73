//! trm's wire format and the verified types built from it.
//!
//! `proto/` is the only wire boundary: the generated `pb` types are decoded and checked here
//! once, and the rest of trm works with the typed, verified results.
//!
//! # Layout
//! - [`pb`]: the generated protobuf messages, and the gRPC stubs with the default `grpc`
//!   feature.
//! - [`addr`]: parsed addresses and identifiers (`NodeAddr`, `BrokerName`, `MessageId`, `CaseRef`).
//! - [`signing`]: domain-separated Ed25519 signatures.
//! - [`envelope`]: the outer envelope: header parsing and signature verification.
//! - [`attachment`]: files sent with a message: their names, hashes and size limits.
//! - [`kinds`]: the names of message kinds, and the handling notice of a received body.
//! - [`receipt`]: signed delivery evidence.
//! - [`prekey`]: nodes' short-lived content keys, signed and checked against the directory.
//! - [`directory`]: the signed federation directory.
//! - [`indicators`]: the shared, versioned list of trafficking indicators a referral names.
//! - [`time`]: Unix-millisecond timestamps.
//! - `codec` (with `grpc`): the gRPC codec, refusing bytes that do not decode with
//!   INVALID_ARGUMENT.
//! - [`status`]: a failed call's status in words, causes included (feature `grpc`).

pub mod addr;
pub mod attachment;
pub mod clip;
#[cfg(feature = "grpc")]
pub mod codec;
pub mod directory;
pub mod envelope;
pub mod indicators;
pub mod kinds;
pub mod prekey;
pub mod receipt;
pub mod signing;
#[cfg(feature = "grpc")]
pub mod status;
pub mod time;

/// The generated protobuf messages of `trm.v1`, and its gRPC services with the `grpc` feature.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/trm.v1.rs"));

    /// The encoded file descriptor set of every trm proto, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/trm_descriptor.bin"));
}

/// The largest envelope any broker may be configured to carry: 16 MiB. Nodes decode
/// deliveries up to this size and refuse ones above their own limit with a signed REJECTED
/// receipt, so a broker with a larger limit than a node can never wedge that node's queue.
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;

/// The envelope format version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The version of the closed code lists in `messages.proto` that this build seals with
/// (`Body.code_lists`). A change to any list's meaning is a new version.
pub const CODE_LISTS_VERSION: &str = "trm-codes-2026.1";

/// The code-list versions this build reads.
pub const KNOWN_CODE_LISTS: &[&str] = &[CODE_LISTS_VERSION];
