//! Child workflows and signals to other workflows.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::context::{Resolve, WorkflowContext, decode_optional, unexpected};
use super::options::nanos;
use super::state::{Resolution, SeqKind};
use crate::failure::Failure;
use crate::payload::ToPayloads;
use crate::wit::polyworker::worker::workflow_types::{
    ChildCancellationType, ChildResolution, ChildStartResolution, Command, ExternalWorkflow,
    ParentClosePolicy, SignalExternal, SignalTarget, StartChild,
};

/// Options for a child workflow.
#[derive(Debug, Clone, Default)]
pub struct ChildWorkflowOptions {
    /// Defaults to `<parent id>-child-<n>`.
    pub workflow_id: Option<String>,
    /// Defaults to the parent's task queue.
    pub task_queue: Option<String>,
    /// Bounds the child's whole execution, across continue-as-new.
    pub execution_timeout: Option<Duration>,
    /// Bounds one run of the child.
    pub run_timeout: Option<Duration>,
    /// How the server retries a failed child.
    pub retry_policy: Option<super::RetryPolicy>,
}

impl WorkflowContext {
    /// Starts a child workflow and waits for its result. The error is the
    /// child's failure, or why it could not start.
    pub fn child_workflow<R: DeserializeOwned>(
        &self,
        workflow_type: &str,
        args: impl ToPayloads,
        options: ChildWorkflowOptions,
    ) -> impl Future<Output = Result<R, Failure>> + 'static {
        let started = args.to_payloads().map(|input| {
            let mut s = self.state.borrow_mut();
            let seq = s.next_seq(SeqKind::ChildStart);
            s.register_seq(SeqKind::Child, seq);
            let workflow_id = options
                .workflow_id
                .clone()
                .unwrap_or_else(|| format!("{}-child-{seq}", s.info.workflow_id));
            s.commands.push(Command::StartChild(StartChild {
                seq,
                namespace: String::new(),
                workflow_id,
                workflow_type: workflow_type.to_string(),
                task_queue: options.task_queue.clone().unwrap_or_default(),
                input,
                workflow_execution_timeout: options.execution_timeout.map(nanos),
                workflow_run_timeout: options.run_timeout.map(nanos),
                workflow_task_timeout: None,
                parent_close_policy: ParentClosePolicy::Unspecified,
                retry_policy: options.retry_policy.as_ref().map(|p| p.to_wit()),
                cron_schedule: String::new(),
                headers: Vec::new(),
                memo: Vec::new(),
                cancellation_type: ChildCancellationType::TryCancel,
            }));
            seq
        });
        let state = self.state.clone();
        async move {
            let seq = started?;
            match Resolve::new(state.clone(), SeqKind::ChildStart, seq).await {
                Resolution::ChildStart(ChildStartResolution::Started(_)) => {}
                Resolution::ChildStart(ChildStartResolution::Failed(why)) => {
                    return Err(Failure::application(
                        format!("child workflow did not start: {why}"),
                        "ChildWorkflowStartFailed",
                    ));
                }
                Resolution::ChildStart(ChildStartResolution::Cancelled(f)) => return Err(f),
                other => return Err(unexpected("a child workflow start", other)),
            }
            match Resolve::new(state, SeqKind::Child, seq).await {
                Resolution::Child(ChildResolution::Completed(p)) => {
                    decode_optional(p.as_ref()).map_err(Failure::from)
                }
                Resolution::Child(ChildResolution::Failed(f))
                | Resolution::Child(ChildResolution::Cancelled(f)) => Err(f),
                other => Err(unexpected("a child workflow", other)),
            }
        }
    }

    /// Signals another workflow execution (latest run when `run_id` is empty).
    pub fn signal_workflow(
        &self,
        workflow_id: &str,
        run_id: &str,
        signal_name: &str,
        args: impl ToPayloads,
    ) -> impl Future<Output = Result<(), Failure>> + 'static {
        let sent = args.to_payloads().map(|args| {
            let mut s = self.state.borrow_mut();
            let seq = s.next_seq(SeqKind::SignalExternal);
            let namespace = s.info.namespace.clone();
            s.commands.push(Command::SignalExternal(SignalExternal {
                seq,
                target: SignalTarget::External(ExternalWorkflow {
                    namespace,
                    workflow_id: workflow_id.to_string(),
                    run_id: run_id.to_string(),
                }),
                signal_name: signal_name.to_string(),
                args,
                headers: Vec::new(),
            }));
            seq
        });
        let state = self.state.clone();
        async move {
            let seq = sent?;
            match Resolve::new(state, SeqKind::SignalExternal, seq).await {
                Resolution::External(None) => Ok(()),
                Resolution::External(Some(f)) => Err(f),
                other => Err(unexpected("an external signal", other)),
            }
        }
    }
}
