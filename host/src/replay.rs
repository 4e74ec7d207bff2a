//! Replaying workflow histories against a module, through core's replay
//! worker: the same runner and sandbox as live workflows, so a replay fails
//! exactly where a live worker would.
//!
//! Histories come from JSON files (`temporal workflow show --output json`),
//! or from the server by workflow id or visibility query.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use temporalio_client::Connection;
use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::coresdk::workflow_activation::remove_from_cache::EvictionReason;
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    GetWorkflowExecutionHistoryRequest, ListWorkflowExecutionsRequest,
};
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::replay::{HistoryForReplay, ReplayWorkerInput};
use temporalio_sdk_core::{WorkerConfig, WorkerVersioningStrategy, init_replay_worker};

use crate::config::{EngineConfig, TaskQueueConfig};
use crate::engine::{Capacity, WasmEngine};
use crate::module::{LoadError, Loader};
use crate::queue::Queue;
use crate::workflow::{RunObserver, run_workflows};

static DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"));

/// Why histories could not be replayed at all (as opposed to a history that
/// replays with a non-determinism error, which is a [`ReplayReport`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read history {source_name}: {message}")]
    History {
        source_name: String,
        message: String,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{0} implements no workflows")]
    NoWorkflows(String),
    #[error("cannot fetch histories from the server: {0}")]
    Fetch(String),
    #[error("replay worker: {0}")]
    Worker(String),
}

/// One history to replay.
#[derive(Debug, Clone)]
pub struct ReplayInput {
    /// Where it came from (file name or `workflow id/run id`), for reports.
    pub source: String,
    pub workflow_id: String,
    pub history: History,
}

/// The result for one history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub source: String,
    pub workflow_id: String,
    pub run_id: String,
    /// `Err` holds what went wrong: core's non-determinism report (which
    /// names the event and what differed) or the workflow task failure.
    pub outcome: Result<(), String>,
}

/// Parses a history in proto JSON, as `temporal workflow show --output json` writes it.
pub fn history_from_json(source_name: &str, text: &str) -> Result<History, ReplayError> {
    let err = |message: String| ReplayError::History {
        source_name: source_name.to_string(),
        message,
    };
    let pool =
        DescriptorPool::decode(DESCRIPTORS).map_err(|e| err(format!("descriptor set: {e}")))?;
    let desc = pool
        .get_message_by_name("temporal.api.history.v1.History")
        .ok_or_else(|| err("the descriptor set has no History message".into()))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(desc, &mut de)
        .map_err(|e| err(format!("not a history in proto JSON: {e}")))?;
    let history =
        History::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| err(e.to_string()))?;
    if history.events.is_empty() {
        return Err(err("the history has no events".into()));
    }
    Ok(history)
}

/// Reads a history file and takes the workflow id from its file name's stem
/// unless the history says otherwise.
pub fn history_file(path: &Path) -> Result<ReplayInput, ReplayError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReplayError::History {
        source_name: source.clone(),
        message: e.to_string(),
    })?;
    let history = history_from_json(&source, &text)?;
    let workflow_id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "replayed".into());
    Ok(ReplayInput {
        source,
        workflow_id,
        history,
    })
}

/// Fetches the full history of one run (the latest when `run_id` is empty).
pub async fn fetch_history(
    conn: &Connection,
    namespace: &str,
    workflow_id: &str,
    run_id: &str,
) -> Result<ReplayInput, ReplayError> {
    let mut events = Vec::new();
    let mut token = Vec::new();
    loop {
        let req = GetWorkflowExecutionHistoryRequest {
            namespace: namespace.to_string(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.to_string(),
                run_id: run_id.to_string(),
            }),
            next_page_token: token,
            ..Default::default()
        };
        let mut c = conn.clone();
        let resp =
            WorkflowService::get_workflow_execution_history(&mut c, tonic::Request::new(req))
                .await
                .map_err(|e| ReplayError::Fetch(format!("{workflow_id}: {}", e.message())))?
                .into_inner();
        events.extend(resp.history.map(|h| h.events).unwrap_or_default());
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    Ok(ReplayInput {
        source: if run_id.is_empty() {
            workflow_id.to_string()
        } else {
            format!("{workflow_id}/{run_id}")
        },
        workflow_id: workflow_id.to_string(),
        history: History { events },
    })
}

/// Workflow executions matching a visibility query, newest first.
pub async fn list_executions(
    conn: &Connection,
    namespace: &str,
    query: &str,
    limit: usize,
) -> Result<Vec<(String, String)>, ReplayError> {
    let mut out = Vec::new();
    let mut token = Vec::new();
    while out.len() < limit {
        let req = ListWorkflowExecutionsRequest {
            namespace: namespace.to_string(),
            page_size: limit.min(1000) as i32,
            next_page_token: token,
            query: query.to_string(),
        };
        let mut c = conn.clone();
        let resp = WorkflowService::list_workflow_executions(&mut c, tonic::Request::new(req))
            .await
            .map_err(|e| ReplayError::Fetch(e.message().to_string()))?
            .into_inner();
        for e in resp.executions {
            if let Some(x) = e.execution {
                out.push((x.workflow_id, x.run_id));
            }
        }
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    out.truncate(limit);
    Ok(out)
}

#[derive(Default)]
struct Collector {
    failures: Mutex<HashMap<String, String>>,
    on_done: Option<Box<dyn Fn() + Send + Sync>>,
}

/// Core reports non-determinism inside a Debug-printed failure; keep its message.
fn core_message(message: &str) -> &str {
    message
        .split_once("message: \"")
        .and_then(|(_, rest)| rest.split_once("\", "))
        .map(|(m, _)| m)
        .unwrap_or(message)
}

impl Collector {
    fn fail(&self, run_id: &str, message: &str) {
        let message = core_message(message);
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(run_id.to_string())
            .or_insert_with(|| message.to_string());
    }
}

impl RunObserver for Collector {
    fn task_failed(&self, run_id: &str, message: &str) {
        self.fail(run_id, message);
    }

    fn evicted(&self, run_id: &str, reason: EvictionReason, message: &str) {
        if matches!(
            reason,
            EvictionReason::Nondeterminism | EvictionReason::Fatal
        ) {
            self.fail(run_id, message);
        }
        if let Some(f) = &self.on_done {
            f();
        }
    }
}

/// Replays `inputs` against the workflows of the component at `module`.
/// `on_done` is called as each history finishes (for progress bars).
pub async fn replay(
    module: &Path,
    engine: &EngineConfig,
    inputs: Vec<ReplayInput>,
    on_done: Option<Box<dyn Fn() + Send + Sync>>,
) -> Result<Vec<ReplayReport>, ReplayError> {
    let mut engine_cfg = engine.clone();
    engine_cfg.pooling = false;
    let wasm = WasmEngine::new(
        &engine_cfg,
        Capacity {
            workflow_instances: 2,
            activity_instances: 1,
        },
    )
    .map_err(|e| ReplayError::Worker(e.to_string()))?;
    let loader = Loader::new(&wasm.engine).map_err(ReplayError::Worker)?;
    let m = loader.load(module).await?;
    if m.workflow.is_none() {
        return Err(ReplayError::NoWorkflows(module.display().to_string()));
    }
    let task_queue = "polyworker-replay";
    let qcfg = TaskQueueConfig {
        max_cached_workflows: 1,
        max_concurrent_workflow_tasks: 2,
        max_concurrent_activities: 1,
        max_concurrent_local_activities: 1,
        activity_cancel_grace_ms: 0,
        graceful_shutdown_ms: 0,
        ..TaskQueueConfig::new(task_queue, vec![module.to_path_buf()])
    };
    let queue = Arc::new(
        Queue::new(
            &qcfg,
            "default",
            &engine_cfg,
            &[m],
            &crate::metrics::HostMetrics::new(None),
        )
        .map_err(|e| ReplayError::Worker(e.to_string()))?,
    );
    let runs: Vec<(String, ReplayInput)> = inputs
        .into_iter()
        .map(|i| {
            let run_id = i
                .history
                .extract_run_id_from_start()
                .unwrap_or_default()
                .to_string();
            (run_id, i)
        })
        .collect();
    let stream = futures::stream::iter(
        runs.iter()
            .map(|(_, i)| HistoryForReplay::new(i.history.clone(), i.workflow_id.clone()))
            .collect::<Vec<_>>(),
    );
    let config = WorkerConfig::builder()
        .namespace("default")
        .task_queue(task_queue)
        .client_identity_override("polyworker-replay".to_string())
        .versioning_strategy(WorkerVersioningStrategy::None {
            build_id: String::new(),
        })
        .task_types(WorkerTaskTypes::workflow_only())
        .max_outstanding_workflow_tasks(2_usize)
        .build()
        .map_err(ReplayError::Worker)?;
    let worker = init_replay_worker(ReplayWorkerInput::new(config, stream))
        .map_err(|e| ReplayError::Worker(format!("{e:#}")))?;
    let worker = Arc::new(worker);
    let collector = Arc::new(Collector {
        failures: Mutex::default(),
        on_done,
    });
    run_workflows(worker.clone(), queue, Some(collector.clone())).await;
    if let Ok(w) = Arc::try_unwrap(worker) {
        w.finalize_shutdown().await;
    }
    let failures = collector
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(runs
        .into_iter()
        .map(|(run_id, i)| ReplayReport {
            outcome: match failures.get(&run_id) {
                Some(m) => Err(m.clone()),
                None => Ok(()),
            },
            source: i.source,
            workflow_id: i.workflow_id,
            run_id,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_json_histories_parse() {
        let text = r#"{"events":[{"eventId":"1","eventTime":"2026-11-22T21:00:00Z",
            "eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED","taskId":"1048576",
            "workflowExecutionStartedEventAttributes":{"workflowType":{"name":"W"},
            "taskQueue":{"name":"q","kind":"TASK_QUEUE_KIND_NORMAL"},
            "originalExecutionRunId":"run-1","attempt":1}}]}"#;
        let h = history_from_json("t", text).unwrap();
        assert_eq!(h.events.len(), 1);
        assert_eq!(h.events[0].event_id, 1);
        assert_eq!(h.extract_run_id_from_start().unwrap(), "run-1");
    }

    #[test]
    fn core_messages_are_unwrapped() {
        let raw = r#"Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism error: HistoryEvent(id: 5, TimerStarted)", source: "" }) }"#;
        assert_eq!(
            core_message(raw),
            "[TMPRL1100] Nondeterminism error: HistoryEvent(id: 5, TimerStarted)"
        );
        assert_eq!(core_message("plain"), "plain");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = history_from_json("bad.json", "{\"events\": 5}").unwrap_err();
        assert!(e.to_string().contains("bad.json"), "{e}");
        let e = history_from_json("empty.json", "{}").unwrap_err();
        assert!(e.to_string().contains("no events"), "{e}");
    }
}
