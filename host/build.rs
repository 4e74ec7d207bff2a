//! Embeds Temporal's protobuf descriptor set (exported by `temporalio-protos`
//! through `links`) so the replayer can read histories written as proto JSON
//! by `temporal workflow show --output json`; generates the admin API's
//! gRPC code (protox parses the proto, so no `protoc` is needed).

fn main() {
    let proto = "proto/polyworker/admin/v1/admin.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"]).expect("parse the admin API proto");
    tonic_prost_build::configure()
        .compile_fds(fds)
        .expect("generate the admin API");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let dest = std::path::Path::new(&out).join("temporal_descriptors.bin");
    match std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH") {
        Ok(src) => {
            println!("cargo:rerun-if-changed={src}");
            std::fs::copy(&src, &dest).expect("copy the Temporal descriptor set");
        }
        Err(_) => panic!("temporalio-protos did not export its descriptor set"),
    }
}
