//! # polyworker-host
//!
//! A Temporal worker host that runs workflows and activities compiled to
//! WebAssembly components. Temporal's own Rust core does the Temporal work
//! (polling, sticky cache, state machines, non-determinism detection); this
//! crate gives core's activations and activity tasks to sandboxed guests.
//!
//! ```text
//! Temporal ──gRPC──▶ core Worker (one per task queue)
//!                      │ activations                 │ activity tasks
//!                      ▼                             ▼
//!              workflow::runner                activity::runner
//!              Store per cached run            Store per attempt
//!              virtual clock, seeded random    env, wasi:http allowlist
//!                      │ commands                    │ result / pending
//!                      └──────── convert ────────────┘
//! ```
//!
//! # Layout
//! - [`run`] / [`Host`]: start everything from a [`Config`], stop on a future.
//! - [`config`]: the TOML configuration and its validation.
//! - [`engine`]: the shared wasmtime engine (pooling, epochs, compile cache).
//! - [`module`]: loading and validating components; their workflow/activity types.
//! - [`queue`]: which module serves which type on a task queue.
//! - [`bindings`]: the one `bindgen!` for `polyworker:worker`.
//! - [`workflow_host`], [`activity_host`], [`http_client`]: host glue per WIT interface.
//! - [`async_completion`]: completing pending activities by task token.
//! - [`guest_log`]: guest logs and stdio, replay-aware.
//! - [`convert`]: core protos ⇄ WIT types, pure and unit-tested.
//! - [`workflow`]: the workflow sandbox, run instances and poll loop.
//! - [`activity`]: the activity sandbox, HTTP allowlist and poll loop.
//! - [`replay`]: replaying histories against a module (`polyworker replay`).
//! - [`worker`]: core workers and the connection to the server.
//! - [`devserver`]: starting a local Temporal dev server (`polyworker dev`).
//! - [`cli`]: the `polyworker` command line (the binary is a thin wrapper).
//! - [`telemetry`]: logging setup.
//! - [`health`]: `/healthz` and `/readyz`.
//! - [`services`]: what all workers share (core runtime, connection, engine).
//! - [`deploy`]: hot swap: the module store, versions, the admin API.
//! - [`metrics`]: the host's own metrics (instances, guest latency, limits).

pub mod activity;
pub mod activity_host;
pub mod async_completion;
pub mod bindings;
pub mod cli;
pub mod config;
pub mod convert;
pub mod deploy;
pub mod devserver;
pub mod engine;
pub mod guest_log;
pub mod health;
pub mod http_client;
pub mod metrics;
pub mod module;
pub mod queue;
pub mod replay;
pub mod services;
pub mod telemetry;
pub mod worker;
pub mod workflow;
pub mod workflow_host;

mod host;

pub use config::Config;
pub use host::{Host, HostError, run};
