//! `polyworker:worker/activity-host`: heartbeats, cancellation, the log and
//! the trace context of the running attempt. In a workflow store (no attempt) the
//! activity-only calls trap, which fails the workflow task with the reason.

use super::HostView;
use crate::runtime::activity::AttemptControl;
use crate::runtime::bindings::polyworker::worker::activity_host;
use crate::runtime::bindings::polyworker::worker::activity_types::{self, CancelReason};
use crate::runtime::bindings::polyworker::worker::types::{LogLevel, Payload};

fn activity_only(call: &str) -> wasmtime::Error {
    wasmtime::format_err!(
        "workflow code called activity-host.{call}, which only activities may use"
    )
}

impl HostView<'_> {
    fn attempt(&self, call: &str) -> wasmtime::Result<&AttemptControl> {
        self.attempt.ok_or_else(|| activity_only(call))
    }
}

impl activity_host::Host for HostView<'_> {
    fn heartbeat(&mut self, details: Vec<Payload>) -> wasmtime::Result<()> {
        // A bad heartbeat is the guest's problem, not a reason to stop it:
        // drop it and say so where the operator looks.
        if let Err(e) = self.attempt("heartbeat")?.beat(details) {
            self.log
                .log(LogLevel::Warn, &format!("heartbeat dropped: {e}"));
        }
        Ok(())
    }

    fn cancellation(&mut self) -> wasmtime::Result<Option<CancelReason>> {
        Ok(self.attempt("cancellation")?.reason())
    }

    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }

    fn trace_parent(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.attempt("trace-parent")?.trace_parent())
    }
}

impl activity_types::Host for HostView<'_> {}
