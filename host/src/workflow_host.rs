//! Host side of the `polyworker:worker/workflow-host` interface.

use crate::bindings::polyworker::worker::activity_types::CancelReason;
use crate::bindings::polyworker::worker::types::Payload;
use crate::bindings::polyworker::worker::{
    activity_host, types, types::LogLevel, workflow_host, workflow_types,
};
use crate::workflow::WorkflowState;

impl workflow_host::Host for WorkflowState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }
}

impl types::Host for WorkflowState {}
impl workflow_types::Host for WorkflowState {}

/// Workflow code that reaches for activity-only calls gets a trap, which
/// fails the workflow task with this message.
fn activity_only(call: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "workflow code called activity-host.{call}, which only activities may use"
    )
}

impl activity_host::Host for WorkflowState {
    fn heartbeat(&mut self, _details: Vec<Payload>) -> wasmtime::Result<()> {
        Err(activity_only("heartbeat"))
    }

    fn cancellation(&mut self) -> wasmtime::Result<Option<CancelReason>> {
        Err(activity_only("cancellation"))
    }

    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }
}

impl crate::bindings::polyworker::worker::activity_types::Host for WorkflowState {}
