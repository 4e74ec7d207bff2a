//! The `polyworker` binary refuses bad input with a clear message and a
//! non-zero exit status, before it talks to any server.

use std::path::{Path, PathBuf};
use std::process::Command;

fn polyworker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_polyworker"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyworker-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("test setup");
    d
}

fn run_with(dir: &Path, config: &str) -> (bool, String) {
    let cfg = dir.join("polyworker.toml");
    std::fs::write(&cfg, config).expect("test setup");
    let out = polyworker()
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .expect("test setup");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_file_that_is_not_a_component_fails_run_with_a_clear_error() {
    let dir = scratch("notcomponent");
    std::fs::write(dir.join("module.wasm"), b"definitely not wasm").expect("test setup");
    let (ok, stderr) = run_with(
        &dir,
        "[engine]\ncache_dir = \"none\"\n[[task_queue]]\nname = \"q\"\nmodules = [\"module.wasm\"]\n",
    );
    assert!(!ok, "run must fail");
    assert!(
        stderr.contains("module.wasm is not a WebAssembly file"),
        "{stderr}"
    );
}

#[test]
fn a_core_module_is_told_apart_from_a_component() {
    let dir = scratch("coremodule");
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").expect("test setup");
    let (ok, stderr) = run_with(
        &dir,
        "[engine]\ncache_dir = \"none\"\n[[task_queue]]\nname = \"q\"\nmodules = [\"core.wasm\"]\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("core WebAssembly module, not a component"),
        "{stderr}"
    );
}

#[test]
fn config_errors_name_the_key() {
    let dir = scratch("badkey");
    std::fs::write(dir.join("m.wasm"), b"x").expect("test setup");
    let (ok, stderr) = run_with(
        &dir,
        "[[task_queue]]\nname = \"q\"\nmodules = [\"m.wasm\"]\nhttp_allowlist = [\"ftp://nope\"]\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("task_queue[0].http_allowlist[0]"),
        "{stderr}"
    );
    let (ok, stderr) = run_with(&dir, "[server]\nadress = \"http://x\"\n");
    assert!(!ok);
    assert!(
        stderr.contains("adress"),
        "an unknown key is named: {stderr}"
    );
}

#[test]
fn help_explains_each_command() {
    let out = polyworker().arg("--help").output().expect("test setup");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for cmd in ["run", "dev", "check"] {
        assert!(text.contains(cmd), "--help lists {cmd}: {text}");
    }
}
