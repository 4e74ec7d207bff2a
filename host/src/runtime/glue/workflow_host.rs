//! `polyworker:worker/workflow-host`: the workflow's log.

use super::HostView;
use crate::runtime::bindings::polyworker::worker::types::{self, LogLevel};
use crate::runtime::bindings::polyworker::worker::{workflow_host, workflow_types};

impl workflow_host::Host for HostView<'_> {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.log.log(level, &message);
        Ok(())
    }
}

impl types::Host for HostView<'_> {}
impl workflow_types::Host for HostView<'_> {}
