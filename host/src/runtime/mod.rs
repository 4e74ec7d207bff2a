//! Everything wasmtime: the engine, loading and inspecting components, the
//! one `bindgen!`, the host glue per WIT interface, the two kinds of store
//! with all their limits, and how a trap becomes a message.
//!
//! Nothing here knows Temporal: the layer above hands in WIT values and
//! gets WIT values (or a [`GuestFault`]) back.
//!
//! - [`engine`]: the shared `Engine` (pooling, epochs, compile cache).
//! - [`loader`]: validating and compiling components, their roles and types.
//! - [`bindings`]: the one `bindgen!` for `polyworker:worker`.
//! - [`glue`]: the host side of each `polyworker:worker` interface.
//! - [`workflow`], [`workflow_wasi`], [`run`]: the deterministic workflow store, its
//!   synchronous virtual WASI, and one cached run in it.
//! - [`threads`]: the workflow threads every synchronous workflow call runs on.
//! - [`activity`], [`http`]: the activity store and its outgoing-HTTP allowlist.
//! - [`limits`]: every bound a store has; a refused growth as a typed trap.
//! - [`fault`]: classifying traps by code and type.
//! - [`meter`]: what guests report (instances, memory, latency).
//! - [`log`]: guest logs and stdio, replay-aware.

pub mod activity;
pub mod bindings;
pub mod budget;
pub mod engine;
pub mod fault;
pub mod glue;
pub mod http;
pub mod limits;
pub mod loader;
pub mod log;
pub mod meter;
pub mod rate;
pub mod run;
pub mod threads;
pub mod workflow;
pub mod workflow_wasi;

pub use budget::{Account, MemoryBudget, Reclaim};
pub use engine::{Capacity, EngineConfig, EngineError, WasmEngine};
pub use fault::{GuestBacktrace, GuestFault, RunLimits, TrapKind};
pub use loader::{LoadError, Loader, Module, digest};
pub use meter::{Meters, ModuleMeter, NoMeters, Role};
pub use threads::{ThreadError, WorkflowThreads};

/// A wasmtime error as a `std::error::Error`, which wasmtime's own type is
/// not. Its text is wasmtime's whole report (context and causes).
pub struct WasmError(pub wasmtime::Error);

impl std::fmt::Display for WasmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::fmt::Debug for WasmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::error::Error for WasmError {}

impl From<wasmtime::Error> for WasmError {
    fn from(e: wasmtime::Error) -> Self {
        WasmError(e)
    }
}
