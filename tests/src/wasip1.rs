//! Runs a WASI preview1 command module: the Go SDK's unit tests, built by
//! `go test -c` for the SDK's real target (`wasip1/wasm`), run here with the
//! workspace's own wasmtime.
//!
//! The module gets the given arguments, the caller's stdio and environment,
//! and the working directory. Imports other than WASI (the component-model
//! bindings a test binary links but does not call) trap if called.

use std::path::Path;

use anyhow::{Context, Result};

use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// wasmtime's errors are not `std::error::Error`s; keep their whole report.
fn w<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Runs `module` with `args` (the first is the program's name) and returns
/// its exit code.
pub fn run(module: &Path, args: &[String]) -> Result<i32> {
    let engine = Engine::default();
    let module = w(Module::from_file(&engine, module))
        .with_context(|| format!("loading {}", module.display()))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    w(p1::add_to_linker_sync(&mut linker, |s| s))?;
    w(linker.define_unknown_imports_as_traps(&module))?;
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio().inherit_env().args(args);
    let cwd = std::env::current_dir()?;
    w(wasi.preopened_dir(&cwd, ".", FsPerms::ReadWrite))?;
    let mut store = Store::new(&engine, wasi.build_p1());
    let instance = w(linker.instantiate(&mut store, &module))?;
    let start = w(instance.get_typed_func::<(), ()>(&mut store, "_start"))?;
    match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(anyhow::anyhow!("{e:?}")),
        },
    }
}
