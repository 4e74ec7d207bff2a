//! Running one workflow to its end in skipped time, then replaying what it
//! produced.

use std::time::Duration;

use polyworker_host::temporal::replay::{self, ReplayReport};
use serde_json::Value;
use temporalio_client::grpc::{TestService, WorkflowService};
use temporalio_common::protos::temporal::api::common::v1::{
    Payloads, WorkflowExecution, WorkflowType,
};
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use temporalio_common::protos::temporal::api::history::v1::{History, history_event};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::testservice::v1::{
    LockTimeSkippingRequest, UnlockTimeSkippingRequest,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    GetWorkflowExecutionHistoryRequest, StartWorkflowExecutionRequest,
};

use crate::handle::WorkflowHandle;
use crate::mock::Call;
use crate::worker::{decode, encode};
use crate::{TestEnv, TestError};

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It returned this value.
    Completed(Value),
    /// It failed: the failure as the server recorded it.
    Failed(Box<Failure>),
    /// It ended otherwise (cancelled, timed out, terminated); the event's
    /// name.
    Other(String),
}

/// What one run did.
#[derive(Debug, Clone)]
pub struct Run {
    /// Its workflow id.
    pub workflow_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Every activity attempt it caused, in order.
    pub activities: Vec<Call>,
    /// The history it produced.
    pub history: History,
    /// The replay of that history against the same component: a run that
    /// does not replay is an error of [`TestEnv::execute`], so this one
    /// replayed.
    pub replay: ReplayReport,
}

impl Run {
    /// The result, if it completed.
    pub fn result(&self) -> Option<&Value> {
        match &self.outcome {
            Outcome::Completed(v) => Some(v),
            _ => None,
        }
    }

    /// The failure, if it failed.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// The attempts of one activity type.
    pub fn calls_of(&self, activity_type: &str) -> Vec<&Call> {
        self.activities
            .iter()
            .filter(|c| c.activity_type == activity_type)
            .collect()
    }
}

/// How long a run may take in real time before the test gives up: skipped
/// time makes hours of timers take milliseconds.
const RUN_PATIENCE: Duration = Duration::from_secs(30);

impl TestEnv {
    /// Runs `workflow_type` with `args` to its end, skipping time whenever
    /// the run only waits (timers, activity timeouts, retry backoff), then
    /// replays its history against the same component. A run whose history
    /// does not replay is [`TestError::Nondeterministic`], with core's
    /// report.
    pub async fn execute(&self, workflow_type: &str, args: &[Value]) -> Result<Run, TestError> {
        self.start_workflow(workflow_type, args)
            .await?
            .result()
            .await
    }

    /// Starts `workflow_type` with `args` and returns at once, so a test can
    /// signal, query, update and [`TestEnv::sleep`] before it waits for the
    /// result.
    pub async fn start_workflow(
        &self,
        workflow_type: &str,
        args: &[Value],
    ) -> Result<WorkflowHandle<'_>, TestError> {
        let id = format!("{}-{workflow_type}-{}", self.task_queue, self.next_run());
        let req = StartWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_id: id.clone(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.into(),
            }),
            task_queue: Some(TaskQueue {
                name: self.task_queue.clone(),
                ..Default::default()
            }),
            input: Some(Payloads {
                payloads: args.iter().map(encode).collect(),
            }),
            request_id: id.clone(),
            identity: "polyworker-testing".into(),
            ..Default::default()
        };
        let mut c = self.connection.clone();
        let run_id = WorkflowService::start_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .map_err(|source| TestError::Call {
                what: "start the workflow",
                source,
            })?
            .into_inner()
            .run_id;
        Ok(WorkflowHandle {
            env: self,
            workflow_id: id,
            run_id,
        })
    }

    /// Waits for the run's end with time skipping, then replays its history.
    pub(crate) async fn finish(&self, id: &str, run_id: &str) -> Result<Run, TestError> {
        let outcome = self.skipping_time(self.close(id)).await?;
        let input = replay::fetch_history(&self.connection, "default", id, run_id)
            .await
            .map_err(|e| TestError::Replay(Box::new(e)))?;
        let history = input.history.clone();
        let report = replay::replay_file(&self.component, &self.engine, vec![input], None)
            .await
            .map_err(|e| TestError::Replay(Box::new(e)))?
            .into_iter()
            .next()
            .ok_or_else(|| TestError::Server("the replay reported nothing".into()))?;
        if let Some(failure) = &report.failure {
            return Err(TestError::Nondeterministic {
                workflow_id: id.to_string(),
                report: failure.clone(),
            });
        }
        Ok(Run {
            workflow_id: id.to_string(),
            outcome,
            activities: self.mocks.take_calls(),
            history,
            replay: report,
        })
    }

    pub(crate) fn next_run(&self) -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RUNS: AtomicU64 = AtomicU64::new(0);
        RUNS.fetch_add(1, Ordering::Relaxed)
    }

    /// Lets the server skip time while `wait` runs (as the SDKs' test
    /// environments do while a test awaits a result), and locks it after.
    async fn skipping_time<T>(
        &self,
        wait: impl Future<Output = Result<T, TestError>>,
    ) -> Result<T, TestError> {
        let mut c = self.connection.clone();
        TestService::unlock_time_skipping(
            &mut c,
            tonic::Request::new(UnlockTimeSkippingRequest {}),
        )
        .await
        .map_err(|source| TestError::Call {
            what: "unlock time skipping",
            source,
        })?;
        let out = tokio::time::timeout(RUN_PATIENCE, wait).await;
        TestService::lock_time_skipping(&mut c, tonic::Request::new(LockTimeSkippingRequest {}))
            .await
            .map_err(|source| TestError::Call {
                what: "lock time skipping",
                source,
            })?;
        out.map_err(|_| TestError::Timeout(RUN_PATIENCE))?
    }

    /// Waits for the run to close. A failed workflow task (a guest panic
    /// or trap, a nondeterminism error) ends the wait at once: the server
    /// would retry the task, and the test would only time out.
    async fn close(&self, workflow_id: &str) -> Result<Outcome, TestError> {
        loop {
            let wait = tokio::time::timeout(TASK_FAILURE_CHECK, self.history_of(workflow_id, true));
            if let Ok(events) = wait.await {
                for e in events? {
                    if let Some(end) = ending(workflow_id, e.attributes)? {
                        return Ok(end);
                    }
                }
            }
            for e in self.history_of(workflow_id, false).await? {
                if let Some(end) = ending(workflow_id, e.attributes)? {
                    return Ok(end);
                }
            }
        }
    }

    /// `call` (a query, update or signal of the run), unless a workflow
    /// task of the run fails first: the server would hold a query or an
    /// update until a task completes, and the test would hang.
    pub(crate) async fn unless_a_task_fails<T>(
        &self,
        workflow_id: &str,
        call: impl std::future::Future<Output = Result<T, TestError>>,
    ) -> Result<T, TestError> {
        let failed = async {
            let mut every = tokio::time::interval(TASK_FAILURE_CHECK);
            loop {
                every.tick().await;
                for e in self.history_of(workflow_id, false).await? {
                    if let Some(A::WorkflowTaskFailedEventAttributes(_)) = &e.attributes {
                        ending(workflow_id, e.attributes)?;
                    }
                }
            }
        };
        tokio::select! {
            out = call => out,
            err = failed => err,
        }
    }

    /// The run's close event, long-polled (`close_only`), or its whole
    /// history (its first page: enough to see a failed task).
    async fn history_of(
        &self,
        workflow_id: &str,
        close_only: bool,
    ) -> Result<Vec<temporalio_common::protos::temporal::api::history::v1::HistoryEvent>, TestError>
    {
        use temporalio_common::protos::temporal::api::enums::v1::HistoryEventFilterType;
        let req = GetWorkflowExecutionHistoryRequest {
            namespace: "default".into(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            wait_new_event: close_only,
            history_event_filter_type: match close_only {
                true => HistoryEventFilterType::CloseEvent as i32,
                false => HistoryEventFilterType::AllEvent as i32,
            },
            ..Default::default()
        };
        let mut c = self.connection.clone();
        Ok(
            WorkflowService::get_workflow_execution_history(&mut c, tonic::Request::new(req))
                .await
                .map_err(|source| TestError::Call {
                    what: "read the workflow's history",
                    source,
                })?
                .into_inner()
                .history
                .map(|h| h.events)
                .unwrap_or_default(),
        )
    }
}

/// How often a run that has not closed is checked for a failed task.
const TASK_FAILURE_CHECK: Duration = Duration::from_millis(200);

use history_event::Attributes as A;

/// The outcome a history event ends the run with, if it does; a failed
/// workflow task is an error.
fn ending(
    workflow_id: &str,
    attributes: Option<history_event::Attributes>,
) -> Result<Option<Outcome>, TestError> {
    use history_event::Attributes as A;
    Ok(Some(match attributes {
        Some(A::WorkflowExecutionCompletedEventAttributes(a)) => Outcome::Completed(
            a.result
                .and_then(|p| p.payloads.first().map(decode))
                .unwrap_or(Value::Null),
        ),
        Some(A::WorkflowExecutionFailedEventAttributes(a)) => {
            Outcome::Failed(Box::new(a.failure.unwrap_or_default()))
        }
        Some(A::WorkflowTaskFailedEventAttributes(a)) => {
            return Err(TestError::WorkflowTaskFailed {
                workflow_id: workflow_id.to_string(),
                message: a.failure.map(|f| f.message).unwrap_or_default(),
            });
        }
        Some(
            other @ (A::WorkflowExecutionTimedOutEventAttributes(_)
            | A::WorkflowExecutionCanceledEventAttributes(_)
            | A::WorkflowExecutionTerminatedEventAttributes(_)
            | A::WorkflowExecutionContinuedAsNewEventAttributes(_)),
        ) => Outcome::Other(format!("{other:?}")),
        _ => return Ok(None),
    }))
}
