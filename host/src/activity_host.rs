//! Host side of the `polyworker:worker/activity-host` interface.

use crate::activity::ActivityState;
use crate::bindings::polyworker::worker::activity_types::CancelReason;
use crate::bindings::polyworker::worker::types::{LogLevel, Payload};
use crate::bindings::polyworker::worker::{
    activity_host, activity_types, workflow_host, workflow_types,
};
use crate::convert::{Limits, payload_to_core};

impl activity_host::Host for ActivityState {
    fn heartbeat(&mut self, details: Vec<Payload>) -> wasmtime::Result<()> {
        let limits = Limits {
            max_payload_bytes: self.max_payload_bytes,
            ..Limits::default()
        };
        match details
            .into_iter()
            .map(|p| payload_to_core(p, &limits))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(details) => self.control.beat(details),
            // A bad heartbeat is the guest's problem, not a reason to stop it:
            // drop it and say so where the operator looks.
            Err(e) => self
                .log
                .log(LogLevel::Warn, &format!("heartbeat dropped: {e}")),
        }
        Ok(())
    }

    fn cancellation(&mut self) -> wasmtime::Result<Option<CancelReason>> {
        Ok(self.control.reason())
    }

    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }
}

impl activity_types::Host for ActivityState {}
impl crate::bindings::polyworker::worker::types::Host for ActivityState {}

/// An activity component may also implement workflows (the Rust SDK's world
/// has both); its `workflow-host` import only logs.
impl workflow_host::Host for ActivityState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }
}

impl workflow_types::Host for ActivityState {}
