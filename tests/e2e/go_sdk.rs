//! The Go SDK's own unit tests (`sdk/go/polyworker/*_test.go`: the
//! deterministic scheduler and the payload code), built by `go test -c` for
//! `wasip1/wasm` and run with the workspace's wasmtime. No server involved.

use std::process::Command;

use polyworker_tests::{go_guest, repo_root, wasip1};

#[test]
fn the_go_sdks_unit_tests_pass() {
    // Builds the guests first, so the toolchain and the bindings are there.
    go_guest("sdk");
    let out = std::env::temp_dir().join(format!(
        "polyworker-go-sdk-{}.test.wasm",
        std::process::id()
    ));
    let status = Command::new(repo_root().join("sdk/go/polyworker-go"))
        .args(["test-binary", &out.display().to_string()])
        .status()
        .expect("run polyworker-go");
    assert!(status.success(), "go test -c failed");
    let code =
        wasip1::run(&out, &["sdk.test".into(), "-test.v".into()]).expect("the test binary runs");
    let _ = std::fs::remove_file(&out);
    assert_eq!(
        code, 0,
        "the Go SDK's unit tests failed (their output is above)"
    );
}
