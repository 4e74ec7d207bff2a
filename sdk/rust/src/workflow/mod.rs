//! Workflows: deterministic async functions driven by activations.
//!
//! A workflow is an `async fn(WorkflowContext, Args) -> Result<T, WorkflowError>`.
//! The SDK runs it on a single-threaded executor: each activation applies
//! Temporal's jobs (timer fired, activity resolved, signal received, ...),
//! polls the workflow until it waits on something, and returns the commands
//! it issued meanwhile.

mod child;
mod combinators;
mod context;
mod executor;
mod options;
pub(crate) mod state;
mod update;

pub use child::ChildWorkflowOptions;
pub use combinators::{Either, JoinAll, Select, join_all, select};
pub use context::{ActivityHandle, SignalChannel, WorkflowContext, is_cancellation};
pub use executor::continue_as_new;
pub(crate) use executor::{Run, WorkflowFn};
pub use options::{ActivityOptions, CancellationType, LocalActivityOptions, RetryPolicy};

use crate::failure::Failure;
use crate::payload::PayloadError;
use crate::wit::polyworker::worker::workflow_types::ContinueAsNew;

/// How a workflow ends other than by returning a value.
#[derive(Debug)]
pub enum WorkflowError {
    /// Fails the workflow execution (not just the task).
    Failed(Failure),
    /// Reports the workflow as cancelled (after a cancel request).
    Cancelled,
    /// Continues as a new run; see [`continue_as_new`].
    ContinueAsNew(Box<ContinueAsNew>),
}

impl WorkflowError {
    /// An application failure with a message and type.
    pub fn application(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        WorkflowError::Failed(Failure::application(message, error_type))
    }
}

impl From<Failure> for WorkflowError {
    fn from(f: Failure) -> Self {
        WorkflowError::Failed(f)
    }
}

impl From<PayloadError> for WorkflowError {
    fn from(e: PayloadError) -> Self {
        WorkflowError::Failed(e.into())
    }
}

impl std::fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkflowError::Failed(x) => write!(f, "workflow failed: {x}"),
            WorkflowError::Cancelled => f.write_str("workflow cancelled"),
            WorkflowError::ContinueAsNew(_) => f.write_str("workflow continues as new"),
        }
    }
}

impl std::error::Error for WorkflowError {}
