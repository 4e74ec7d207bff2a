//! Starting benchmark workflows and waiting for their results, straight
//! over the workflow service (no SDK client in the measurement).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use temporalio_client::grpc::WorkflowService;
use temporalio_client::{Connection, ConnectionOptions, Url};
use temporalio_common::protos::temporal::api::common::v1::{
    Payload, Payloads, WorkflowExecution, WorkflowType,
};
use temporalio_common::protos::temporal::api::enums::v1::HistoryEventFilterType;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    GetWorkflowExecutionHistoryRequest, SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
};

#[derive(Clone)]
pub struct Client {
    conn: Connection,
}

/// The small JSON order every contestant's workflow carries.
pub fn order(i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("order-{i}"),
        "customer": "c-42",
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
        "total": 31.5,
        "steps": 0
    })
}

impl Client {
    pub async fn connect(address: &str) -> anyhow::Result<Client> {
        let conn = Connection::connect(
            ConnectionOptions::new(Url::parse(address)?)
                .identity("polyworker-bench".to_string())
                .build(),
        )
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
        Ok(Client { conn })
    }

    /// Starts `workflow_type` as `id`; `input` becomes its one argument.
    async fn start_workflow(
        &self,
        task_queue: &str,
        workflow_type: &str,
        id: &str,
        input: Option<&serde_json::Value>,
    ) -> anyhow::Result<()> {
        let input = match input {
            Some(v) => Some(Payloads {
                payloads: vec![Payload {
                    metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
                    data: serde_json::to_vec(v)?,
                    ..Default::default()
                }],
            }),
            None => None,
        };
        let req = StartWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_id: id.into(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.into(),
            }),
            task_queue: Some(TaskQueue {
                name: task_queue.into(),
                ..Default::default()
            }),
            input,
            // No benchmark run, parked ones included, outlives 10 minutes.
            workflow_execution_timeout: Some(prost_wkt_types::Duration {
                seconds: 600,
                nanos: 0,
            }),
            request_id: id.into(),
            identity: "polyworker-bench".into(),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        WorkflowService::start_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .with_context(|| format!("start {id}"))?;
        Ok(())
    }

    /// The history of `id`: all of it, or (with `close`) a long poll for
    /// its close event.
    async fn history(&self, id: &str, close: bool) -> anyhow::Result<Vec<HistoryEvent>> {
        let req = GetWorkflowExecutionHistoryRequest {
            namespace: "default".into(),
            execution: Some(WorkflowExecution {
                workflow_id: id.into(),
                run_id: String::new(),
            }),
            wait_new_event: close,
            history_event_filter_type: if close {
                HistoryEventFilterType::CloseEvent as i32
            } else {
                HistoryEventFilterType::AllEvent as i32
            },
            ..Default::default()
        };
        let mut c = self.conn.clone();
        Ok(
            WorkflowService::get_workflow_execution_history(&mut c, tonic::Request::new(req))
                .await
                .with_context(|| format!("history of {id}"))?
                .into_inner()
                .history
                .map(|h| h.events)
                .unwrap_or_default(),
        )
    }

    /// Starts one workflow and waits for its result; returns the time from
    /// before the start call to the result.
    pub async fn run(
        &self,
        task_queue: &str,
        workflow_type: &str,
        id: &str,
        input: &serde_json::Value,
    ) -> anyhow::Result<Duration> {
        let began = Instant::now();
        self.start_workflow(task_queue, workflow_type, id, Some(input))
            .await?;
        loop {
            let events = self.history(id, true).await?;
            let Some(e) = events.into_iter().next() else {
                continue;
            };
            return match e.attributes {
                Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                    let data = a
                        .result
                        .and_then(|p| p.payloads.into_iter().next())
                        .map(|p| p.data)
                        .unwrap_or_default();
                    let v: serde_json::Value = serde_json::from_slice(&data)?;
                    if v["steps"] != 2 {
                        bail!("{id} returned {v}, not an order with two steps");
                    }
                    Ok(began.elapsed())
                }
                other => bail!("{id} did not complete: {other:?}"),
            };
        }
    }

    /// Starts a workflow without input and returns at once; it runs for
    /// at most 10 minutes.
    pub async fn start(
        &self,
        task_queue: &str,
        workflow_type: &str,
        id: &str,
    ) -> anyhow::Result<()> {
        self.start_workflow(task_queue, workflow_type, id, None)
            .await
    }

    /// Sends signal `name`, without input, to `id`.
    pub async fn signal(&self, id: &str, name: &str) -> anyhow::Result<()> {
        let req = SignalWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: id.into(),
                run_id: String::new(),
            }),
            signal_name: name.into(),
            identity: "polyworker-bench".into(),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        WorkflowService::signal_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .with_context(|| format!("signal {id}"))?;
        Ok(())
    }

    /// Waits, long-polling its close event, until `id` has closed.
    pub async fn closed(&self, id: &str) -> anyhow::Result<()> {
        while self.history(id, true).await?.is_empty() {}
        Ok(())
    }

    /// Whether a worker has completed a workflow task of `id` (so the run
    /// sits in that worker's cache).
    pub async fn task_completed(&self, id: &str) -> anyhow::Result<bool> {
        let events = self.history(id, false).await?;
        Ok(events.iter().any(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskCompletedEventAttributes(_))
            )
        }))
    }
}
