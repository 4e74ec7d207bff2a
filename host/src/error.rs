//! The top layer's error: why the host could not start, run or reload,
//! gathering each layer's own.

use crate::config::ConfigError;
use crate::deploy::DeployError;
use crate::ops::OpsError;
use crate::runtime::{EngineError, LoadError};
use crate::temporal::{DuplicateType, TemporalError};

/// Why the host could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The wasm engine could not be built.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A component could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Two modules on a queue define the same type.
    #[error(transparent)]
    DuplicateType(#[from] DuplicateType),
    /// Core, the connection or a worker could not start.
    #[error(transparent)]
    Temporal(#[from] TemporalError),
    /// The metrics or health endpoint could not start.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// The versioned queues could not start.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// No tenant could connect.
    #[error("no tenant could connect to Temporal (each one's error is logged above)")]
    NoTenant,
}
