//! Activity tasks: core's activity tasks executed in activity components.
//!
//! - [`sandbox`]: the store an attempt runs in and the capabilities it gets.
//! - [`http`]: the outgoing-HTTP allowlist.
//! - [`runner`]: the poll loop, cancellation, and results.

pub mod http;
pub mod runner;
pub mod sandbox;

pub use http::{AllowRule, Allowlist};
pub use runner::run_activities;
pub use sandbox::{ActivityState, AttemptControl};
