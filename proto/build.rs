//! Compiles the `.proto` files with protox (pure Rust, so no system `protoc` is needed) and
//! exports the file descriptor set for gRPC reflection. The gRPC client and server stubs are
//! generated only with the `grpc` feature.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "trm/v1/envelope.proto",
    "trm/v1/messages.proto",
    "trm/v1/directory.proto",
    "trm/v1/handover_log.proto",
    "trm/v1/broker.proto",
    "trm/v1/node_admin.proto",
    "trm/v1/node_store.proto",
    "trm/v1/node_backup.proto",
    "trm/v1/node_accounts.proto",
    "trm/v1/audit.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("trm_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        .build_client(grpc)
        .build_server(grpc)
        .codec_path("crate::codec::StrictCodec")
        .compile_fds(descriptors)?;
    Ok(())
}
