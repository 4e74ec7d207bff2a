//! Everything Temporal core: the connection and core's runtime, the core
//! workers, the conversions between core's protos and the WIT types, the
//! workflow and activity runners that feed core's tasks to the guests,
//! replay, and completing activities from outside.
//!
//! This layer uses [`crate::runtime`] for everything wasmtime and knows
//! nothing of the configuration file: the layers above hand it settings.
//!
//! - [`connection`]: core's runtime, the identity, and each tenant's [`Link`]
//!   (namespace over a plain, TLS, mTLS or API-key connection).
//! - [`tenant`]: a tenant's link, command scope and memory account.
//! - [`resident`]: the host's cached runs, evicted to free guest memory.
//! - [`slots`]: core's slot suppliers over queue, tenant and host pools.
//! - [`workers`]: the handle that loads components and starts workers.
//! - [`worker`]: one queue's (or version's) core worker and its poll loops.
//! - [`queue`]: which module serves which type, with the queue's grants and bounds.
//! - [`workflow_runner`]: activations in, guest calls, completions out.
//! - [`activity_runner`], [`attempt`]: activity tasks, each attempt in its own store, with its timeouts.
//! - [`convert`]: core protos ⇄ WIT types, pure and unit-tested.
//! - [`replay`]: histories replayed through core's replay worker.
//! - [`async_completion`]: completing pending activities by task token.
//! - [`trace`]: workflow-task and activity-attempt spans, and the trace
//!   context in Temporal headers.

pub mod activity_runner;
pub mod async_completion;
pub mod attempt;
pub mod connection;
pub mod convert;
pub mod queue;
pub mod replay;
pub mod resident;
pub mod slots;
pub mod tenant;
pub mod trace;
pub mod worker;
pub mod workers;
pub mod workflow_runner;

pub use connection::{ConnectionSettings, Connections, Core, Link, TlsSettings};
pub use queue::{Bounds, DuplicateType, Grants, Queue};
pub use resident::Resident;
pub use tenant::{Quotas, Tenant};
pub use worker::{DeploymentVersion, QueueWorker, WorkerOptions};
pub use workers::HostSlots;
pub use workers::Workers;

/// A boxed error from core or the client, which have many error types.
pub type CoreError = Box<dyn std::error::Error + Send + Sync>;

/// Why the Temporal side could not start.
#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    /// Core's runtime could not be set up.
    #[error("cannot start Temporal core")]
    Core(#[source] CoreError),
    /// The runtime activity attempts run on could not start.
    #[error("cannot start the activity runtime")]
    ActivityRuntime(#[source] std::io::Error),
    /// The frontend did not answer.
    #[error("cannot connect to the Temporal server at {address}")]
    Connect {
        /// The address configured.
        address: String,
        /// Why.
        #[source]
        source: CoreError,
    },
    /// A queue's core worker could not start (bad settings, no connection,
    /// or the server refused the namespace).
    #[error("cannot start the worker for task queue {queue:?}")]
    Worker {
        /// The task queue.
        queue: String,
        /// Why.
        #[source]
        source: CoreError,
    },
}
