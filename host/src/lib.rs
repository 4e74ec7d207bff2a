//! # polyworker-host
//!
//! A Temporal worker host that runs workflows and activities compiled to
//! WebAssembly components. Temporal's own Rust core does the Temporal work
//! (polling, sticky cache, state machines, non-determinism detection); this
//! crate gives core's activations and activity tasks to sandboxed guests.
//!
//! ```text
//! Temporal ──gRPC──▶ core Worker (one per task queue, or per version)
//!                      │ activations                 │ activity tasks
//!                      ▼                             ▼
//!          temporal::workflow_runner       temporal::activity_runner
//!                      │ WIT values                  │ WIT values
//!                      ▼                             ▼
//!          runtime::run (a Store per run)  runtime::activity (a Store per attempt)
//!          virtual clock, seeded random    env, preopens, wasi:http allowlist
//! ```
//!
//! # Layout
//! Four layers; each uses only the ones below it.
//!
//! 1. [`runtime`] — everything wasmtime: the [engine](runtime::engine),
//!    [loading and role inspection](runtime::loader), the one
//!    [`bindgen!`](runtime::bindings), [host glue per WIT interface](runtime::glue),
//!    the [workflow](runtime::workflow) store with its synchronous
//!    [virtual WASI](runtime::workflow_wasi) and the
//!    [threads](runtime::threads) its calls run on, the
//!    [activity](runtime::activity) store, every [limit](runtime::limits), the
//!    host's guest [memory budget](runtime::budget), [rates](runtime::rate), and
//!    [how a trap becomes a message](runtime::fault). Knows nothing of Temporal.
//! 2. [`temporal`] — everything core: each tenant's
//!    [connection](temporal::connection) and [context](temporal::tenant),
//!    [core workers](temporal::worker) and their [slots](temporal::slots),
//!    [`convert`](temporal::convert) (with each command's scope), the host's
//!    [cached runs](temporal::resident),
//!    the [workflow](temporal::workflow_runner) and
//!    [activity](temporal::activity_runner) runners, [replay](temporal::replay),
//!    [async completion](temporal::async_completion), the
//!    [trace context and spans](temporal::trace) of tasks, and the
//!    [`Workers`](temporal::Workers) handle the layers above go through.
//! 3. [`ops`] — operating it: [metrics](ops::metrics) (and
//!    [per tenant](ops::tenants)) and where they [go](ops::export)
//!    (Prometheus, OTLP, or both through a [fan-out](ops::fanout)),
//!    [spans over OTLP](ops::traces), [health](ops::health),
//!    [logging](ops::telemetry), the [dev server](ops::devserver).
//! 4. On top: [`run`] / [`Host`] (starting and stopping), tenants put
//!    together from the config (`tenancy`), [`run_reloading`] / `SIGHUP`
//!    (`reload`), [`config`] (the TOML model), [`deploy`] (versions, the
//!    module store, the admin API and its tokens, the OCI registry and a
//!    fleet's convergence) and [`cli`] (the
//!    `polyworker` verbs; the binary is a thin wrapper).
//!
//! Each layer has its own error type ([`runtime::LoadError`],
//! [`runtime::EngineError`], [`temporal::TemporalError`], [`ops::OpsError`],
//! [`deploy::DeployError`], [`config::ConfigError`]); [`HostError`] gathers
//! them for [`run`].

#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod deploy;
pub mod ops;
pub mod runtime;
pub mod temporal;

mod error;
mod host;
mod reload;
mod tenancy;

pub use config::Config;
pub use host::{Host, HostError, run};
pub use reload::{Reloaded, run_reloading};
