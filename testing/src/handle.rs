//! A started run: signals, queries and updates sent at chosen points of
//! virtual time, before its result.

use std::time::Duration;

use serde_json::Value;
use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::common::v1::{Payloads, WorkflowExecution};
use temporalio_common::protos::temporal::api::enums::v1::UpdateWorkflowExecutionLifecycleStage;
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use temporalio_common::protos::temporal::api::query::v1::WorkflowQuery;
use temporalio_common::protos::temporal::api::update::v1::{
    Input, Meta, Request, WaitPolicy, outcome,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    QueryWorkflowRequest, SignalWorkflowExecutionRequest, UpdateWorkflowExecutionRequest,
};

use crate::worker::{decode, encode};
use crate::{Run, TestEnv, TestError};

/// A run started with [`TestEnv::start_workflow`].
pub struct WorkflowHandle<'a> {
    pub(crate) env: &'a TestEnv,
    /// Its workflow id.
    pub workflow_id: String,
    /// Its run id.
    pub run_id: String,
}

fn execution(workflow_id: &str) -> Option<WorkflowExecution> {
    Some(WorkflowExecution {
        workflow_id: workflow_id.into(),
        run_id: String::new(),
    })
}

fn payloads(args: &[Value]) -> Option<Payloads> {
    Some(Payloads {
        payloads: args.iter().map(encode).collect(),
    })
}

impl WorkflowHandle<'_> {
    /// Sends the signal `name` with `args`.
    pub async fn signal(&self, name: &str, args: &[Value]) -> Result<(), TestError> {
        let req = SignalWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: execution(&self.workflow_id),
            signal_name: name.into(),
            input: payloads(args),
            identity: "polyworker-testing".into(),
            request_id: format!("{}-signal-{name}-{}", self.workflow_id, self.env.next_run()),
            ..Default::default()
        };
        let mut c = self.env.connection.clone();
        WorkflowService::signal_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .map(drop)
            .map_err(|source| TestError::Call {
                what: "signal the workflow",
                source,
            })
    }

    /// The answer of the query `name`; a query the workflow refuses is
    /// the server's error, a failed workflow task
    /// [`TestError::WorkflowTaskFailed`].
    pub async fn query(&self, name: &str, args: &[Value]) -> Result<Value, TestError> {
        let req = QueryWorkflowRequest {
            namespace: "default".into(),
            execution: execution(&self.workflow_id),
            query: Some(WorkflowQuery {
                query_type: name.into(),
                query_args: payloads(args),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut c = self.env.connection.clone();
        let call = async {
            WorkflowService::query_workflow(&mut c, tonic::Request::new(req))
                .await
                .map_err(|source| TestError::Call {
                    what: "query the workflow",
                    source,
                })
        };
        let resp = (self.env)
            .unless_a_task_fails(&self.workflow_id, call)
            .await?
            .into_inner();
        Ok(resp
            .query_result
            .and_then(|p| p.payloads.first().map(decode))
            .unwrap_or(Value::Null))
    }

    /// Runs the update `name` and waits for it: `Ok(Ok(value))`, or
    /// `Ok(Err(failure))` when its validator rejects it or its handler
    /// fails.
    pub async fn update(
        &self,
        name: &str,
        args: &[Value],
    ) -> Result<Result<Value, Box<Failure>>, TestError> {
        let req = UpdateWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: execution(&self.workflow_id),
            wait_policy: Some(WaitPolicy {
                lifecycle_stage: UpdateWorkflowExecutionLifecycleStage::Completed as i32,
            }),
            request: Some(Request {
                meta: Some(Meta {
                    update_id: format!("{}-update-{}", self.workflow_id, self.env.next_run()),
                    identity: "polyworker-testing".into(),
                }),
                input: Some(Input {
                    name: name.into(),
                    args: payloads(args),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut c = self.env.connection.clone();
        let call = async {
            WorkflowService::update_workflow_execution(&mut c, tonic::Request::new(req))
                .await
                .map_err(|source| TestError::Call {
                    what: "update the workflow",
                    source,
                })
        };
        let resp = (self.env)
            .unless_a_task_fails(&self.workflow_id, call)
            .await?
            .into_inner();
        Ok(match resp.outcome.and_then(|o| o.value) {
            Some(outcome::Value::Success(p)) => {
                Ok(p.payloads.first().map(decode).unwrap_or(Value::Null))
            }
            Some(outcome::Value::Failure(f)) => Err(Box::new(f)),
            None => Err(Box::new(Failure {
                message: "the update has no outcome".into(),
                ..Default::default()
            })),
        })
    }

    /// Waits for the run's end (skipping time), then replays it: as
    /// [`TestEnv::execute`].
    pub async fn result(self) -> Result<Run, TestError> {
        self.env.finish(&self.workflow_id, &self.run_id).await
    }
}

impl TestEnv {
    /// The handle of a run this environment started.
    pub fn handle(&self, workflow_id: &str, run_id: &str) -> WorkflowHandle<'_> {
        WorkflowHandle {
            env: self,
            workflow_id: workflow_id.to_string(),
            run_id: run_id.to_string(),
        }
    }

    /// Lets `duration` of virtual time pass (timers due meanwhile fire),
    /// in a few milliseconds of wall time.
    pub async fn sleep(&self, duration: Duration) -> Result<(), TestError> {
        crate::worker::virtual_sleep(&self.connection, duration)
            .await
            .map_err(|source| TestError::Call {
                what: "skip time",
                source,
            })
    }
}
