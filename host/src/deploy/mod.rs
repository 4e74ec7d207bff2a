//! Hot swap: versioned modules on a running host, routed by Temporal's
//! Worker Versioning.
//!
//! - [`store`]: deployed components by digest, and each version's state.
//! - [`fleet`]: the running versions: deploy, make current, retire.
//! - [`routing`]: the server's side (current version, counts, histories).
//! - [`admin`]: the admin API (gRPC) the `polyworker modules` verbs use.

pub mod admin;
pub mod fleet;
pub mod routing;
pub mod store;

pub use fleet::{Fleet, VersionInfo};
pub use store::{ModuleStore, StoreError, VersionState};

use crate::bindings::exports::polyworker::worker::versioning::VersioningBehavior;
use crate::config::DefaultVersioning;
use crate::module::Module;

/// Why a deployment operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("task queue {task_queue:?} is not served here (versioned queues: {known})")]
    UnknownQueue { task_queue: String, known: String },
    #[error("task queue {task_queue:?} has no version {digest:?}")]
    UnknownVersion { task_queue: String, digest: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Load(#[from] Box<crate::HostError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Server(String),
    #[error(
        "the replay gate refused version {digest}: {failed} of {total} recent histories do not replay on it (use --force to override):\n{report}"
    )]
    ReplayGate {
        digest: String,
        failed: usize,
        total: usize,
        report: String,
    },
}

/// The workflow types whose open runs move to a new version when it becomes
/// current: those that auto-upgrade, declared or by default.
pub fn moving_types(module: &Module, default: DefaultVersioning) -> Vec<String> {
    let Some(w) = &module.workflow else {
        return Vec::new();
    };
    w.types
        .iter()
        .filter(|t| match w.versioning.get(*t) {
            Some(VersioningBehavior::AutoUpgrade) => true,
            Some(VersioningBehavior::Pinned) => false,
            None => default == DefaultVersioning::AutoUpgrade,
        })
        .cloned()
        .collect()
}
