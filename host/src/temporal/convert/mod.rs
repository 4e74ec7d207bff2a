//! Conversions between Temporal core's protobuf types and the WIT types of
//! `polyworker:worker`.
//!
//! Pure and I/O-free. Core → guest conversions cannot fail (anything core
//! sends has a WIT shape); guest → core conversions validate what the guest
//! returned and report garbage as a [`ConvertError`], which the runners turn
//! into a workflow-task or activity failure.

mod activation;
mod activity;
mod commands;
mod failure;
#[cfg(test)]
mod fuzz;
mod payload;
mod scope;

pub use activation::{Incoming, activation_to_wit, workflow_info};
pub use activity::{activity_info, activity_result};
pub use commands::commands_to_core;
pub use failure::{failure_from_core, failure_to_core, host_failure};
pub use payload::{
    duration_from_core, duration_to_core, payload_from_core, payload_to_core, payloads_from_core,
    timestamp_from_core, timestamp_to_core,
};
pub use scope::Scope;

/// Something a guest returned that cannot be sent to Temporal.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    /// A field that must have a value is empty.
    #[error("{what} is empty")]
    Empty {
        /// The field.
        what: &'static str,
    },
    /// Bigger than the limit.
    #[error("{what} has {len} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// More entries than allowed.
    #[error("{what} has {count} entries, more than the {limit} allowed")]
    TooMany {
        /// The field.
        what: &'static str,
        /// Its entries.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A number Temporal cannot represent.
    #[error("{what} is out of range: {detail}")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// A metadata key given twice.
    #[error("payload metadata repeats the key {0:?}")]
    DuplicateMetadata(String),
    /// A command aimed outside the workflow's tenant.
    #[error(
        "{command} targets {target}, outside tenant {tenant:?} (its own namespace and task queues only)"
    )]
    OutOfScope {
        /// The command.
        command: &'static str,
        /// What it named.
        target: String,
        /// The workflow's tenant.
        tenant: String,
    },
}

/// Limits on what a guest may send, chosen below the server's own limits so
/// that an oversized result fails fast with a message that says why.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// One payload's data plus metadata. Temporal's default blob limit is 2 MiB.
    pub max_payload_bytes: usize,
    /// Commands in one activation completion.
    pub max_commands: usize,
    /// Bytes of a failure's message and stack trace, each.
    pub max_failure_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: 2 * 1024 * 1024,
            max_commands: 10_000,
            max_failure_text: 64 * 1024,
        }
    }
}
