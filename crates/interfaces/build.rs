use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=../../proto");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .file_descriptor_set_path(out.join("auth_descriptor.bin"))
        .compile_protos(
            &[
                "../../proto/auth/v1/admin.proto",
                "../../proto/auth/v1/auth.proto",
                "../../proto/auth/v1/token.proto",
            ],
            &["../../proto"],
        )?;
    Ok(())
}
