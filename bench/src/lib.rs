//! polyworker against native Temporal workers, on one server and workload.
//!
//! # Layout
//! - [`run`]: the benchmark (dev server, rounds, phases) and its table.
//! - [`contestants`]: the worker processes under test.
//! - [`client`]: starting workflows and timing them to their results.
//! - [`proc`]: a process's CPU time and peak memory.
//! - [`startup`]: host start-up with many cached modules.
//! - [`histories`]: long workflow histories for the replay benchmark
//!   (`benches/replay.rs`).

pub mod client;
pub mod contestants;
pub mod histories;
pub mod proc;
pub mod run;
pub mod startup;
