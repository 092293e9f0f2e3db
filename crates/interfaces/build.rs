//! Compiles `proto/auth/v1/*.proto` with protox, a pure-Rust protobuf compiler, so a fresh clone
//! builds without a system `protoc`.
use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=../../proto");
    let fds = protox::compile(
        [
            "auth/v1/admin.proto",
            "auth/v1/auth.proto",
            "auth/v1/token.proto",
        ],
        ["../../proto"],
    )?;
    // gRPC reflection serves this descriptor set.
    std::fs::write(out.join("auth_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
