//! Hot swap: versioned modules on a running host, routed by Temporal's
//! Worker Versioning.
//!
//! - [`store`]: deployed components by digest, and each version's state.
//! - [`fleet`]: the running versions: deploy, make current, retire.
//! - [`routing`]: the server's side (current version, counts, histories).
//! - [`admin`]: the admin API (gRPC) the `polyworker modules` verbs use.
//! - [`registry`]: modules in an OCI registry (push, list, pull by digest),
//!   with [`credentials`] from the environment or the Docker config file.
//! - [`converge`]: a host following the registry and the server's routing.
//! - [`watch`]: which files of the watched directory are ready to deploy.
//!
//! This layer starts and stops workers only through
//! [`crate::temporal::Workers`], and replays on the host's own engine.

pub mod admin;
pub mod converge;
pub mod credentials;
pub mod fleet;
pub mod registry;
pub mod routing;
pub mod store;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use fleet::{Fleet, VersionInfo};
pub use store::{ModuleStore, StoreError, VersionState};

use crate::config::DefaultVersioning;
use crate::runtime::bindings::exports::polyworker::worker::versioning::VersioningBehavior;
use crate::runtime::{LoadError, Module};
use crate::temporal::replay::ReplayError;
use crate::temporal::{DuplicateType, TemporalError};

/// The largest component deployed from a file or pulled from a registry
/// (Python's are ~20 MB).
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// Why a deployment operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The queue is not versioned here.
    #[error("task queue {task_queue:?} is not served here (versioned queues: {known})")]
    UnknownQueue {
        /// The queue asked for.
        task_queue: String,
        /// The versioned queues.
        known: String,
    },
    /// No such version.
    #[error("task queue {task_queue:?} has no version {digest:?}")]
    UnknownVersion {
        /// The queue.
        task_queue: String,
        /// The digest (or prefix) asked for.
        digest: String,
    },
    /// The digest prefix matches several versions.
    #[error("{prefix:?} matches {count} versions; give more of the digest")]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// How many match.
        count: usize,
    },
    /// The version is already deployed.
    #[error("version {short} is already on task queue {task_queue:?} ({state})", short = &.digest[..12])]
    AlreadyDeployed {
        /// The queue.
        task_queue: String,
        /// The version.
        digest: String,
        /// Its state.
        state: &'static str,
    },
    /// A retired version cannot become current.
    #[error("version {short} is retired; deploy it again first", short = &.digest[..12])]
    Retired {
        /// The version.
        digest: String,
    },
    /// The current version cannot be retired.
    #[error("version {short} is current; make another version current first", short = &.digest[..12])]
    IsCurrent {
        /// The version.
        digest: String,
    },
    /// Pinned runs would stall if the version were retired.
    #[error(
        "version {short} still has {count} open workflows; wait for them to finish (or use --force)",
        short = &.digest[..12]
    )]
    OpenWorkflows {
        /// The version.
        digest: String,
        /// Its open workflows, as the server counts them.
        count: u64,
    },
    /// A queue's first module cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The component is not a valid module.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Two of the version's types clash.
    #[error(transparent)]
    DuplicateType(#[from] DuplicateType),
    /// The version's worker could not start.
    #[error(transparent)]
    Worker(#[from] TemporalError),
    /// The module store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The registry refused, or sent what it should not have.
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    /// The server refused or did not answer.
    #[error("{what}: {}", .source.message())]
    Server {
        /// What was asked.
        what: String,
        /// The server's answer.
        #[source]
        source: tonic::Status,
    },
    /// The replay gate could not run.
    #[error("the replay gate could not run")]
    Replay(#[from] ReplayError),
    /// Recent histories do not replay on the version.
    #[error(
        "the replay gate refused version {digest}: {failed} of {total} recent histories do not replay on it (use --force to override):\n{report}"
    )]
    ReplayGate {
        /// The version (short).
        digest: String,
        /// Histories that failed.
        failed: usize,
        /// Histories replayed.
        total: usize,
        /// What failed, one line each.
        report: String,
    },
    /// A non-loopback admin API without a token.
    #[error(
        "the admin API on {addr} needs a token: set the environment variable {env} \
         (named by deployment.admin_token_env)"
    )]
    AdminToken {
        /// Where it would listen.
        addr: SocketAddr,
        /// The variable.
        env: String,
    },
    /// The admin API cannot listen.
    #[error("cannot serve the admin API on {addr}")]
    AdminBind {
        /// Where it would listen.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
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
