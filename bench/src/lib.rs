//! polyworker against native Temporal workers, on one server and workload.
//!
//! # Layout
//! - [`run`]: the benchmark (dev server, rounds, phases) and its table.
//! - [`contestants`]: the worker processes under test.
//! - [`client`]: starting workflows and timing them to their results.
//! - [`proc`]: a process's CPU time and peak memory.

pub mod client;
pub mod contestants;
pub mod proc;
pub mod run;
