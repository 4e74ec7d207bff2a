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

use super::convert::Limits;
use super::queue::{Bounds, Grants, Queue};
use super::tenant::Tenant;
use super::workflow_runner::{RunObserver, run_workflows};
use crate::runtime::{EngineConfig, LoadError, Loader, Module, NoMeters, WorkflowThreads};

static DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"));

/// Why histories could not be replayed at all (as opposed to a history that
/// replays with a non-determinism error, which is a [`ReplayReport`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A history file cannot be read or is not a history.
    #[error("cannot read history {source_name}: {message}")]
    History {
        /// The file.
        source_name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The component cannot be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The component has no workflows to replay.
    #[error("{0} implements no workflows")]
    NoWorkflows(String),
    /// The server did not give the histories.
    #[error("cannot fetch histories from the server ({what}): {}", .source.message())]
    Fetch {
        /// What was asked for.
        what: String,
        /// The server's answer.
        #[source]
        source: tonic::Status,
    },
    /// Core's replay worker could not be set up.
    #[error("replay worker")]
    Worker(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One history to replay.
#[derive(Debug, Clone)]
pub struct ReplayInput {
    /// Where it came from (file name or `workflow id/run id`), for reports.
    pub source: String,
    /// The workflow id it is replayed as.
    pub workflow_id: String,
    /// The events.
    pub history: History,
}

/// The result for one history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Where the history came from.
    pub source: String,
    /// Its workflow id.
    pub workflow_id: String,
    /// Its run id.
    pub run_id: String,
    /// What went wrong, if anything: core's non-determinism report (which
    /// names the event and what differed) or the workflow task failure.
    pub failure: Option<String>,
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
                .map_err(|source| ReplayError::Fetch {
                    what: workflow_id.to_string(),
                    source,
                })?
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
            .map_err(|source| ReplayError::Fetch {
                what: query.to_string(),
                source,
            })?
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

/// Loads the component at `module` on a small engine of its own and
/// replays `inputs` against it (`polyworker replay`).
pub async fn replay_file(
    module: &Path,
    engine: &EngineConfig,
    inputs: Vec<ReplayInput>,
    on_done: Option<Box<dyn Fn() + Send + Sync>>,
) -> Result<Vec<ReplayReport>, ReplayError> {
    let mut engine_cfg = engine.clone();
    engine_cfg.pooling = false;
    let wasm = crate::runtime::WasmEngine::new(
        &engine_cfg,
        crate::runtime::Capacity {
            workflow_instances: 2,
            activity_instances: 1,
            workflow_tasks: 2,
        },
    )
    .map_err(|e| ReplayError::Worker(Box::new(e)))?;
    let loader = Loader::new(&wasm.engine).map_err(|e| ReplayError::Worker(Box::new(e)))?;
    let m = loader.load(module).await?;
    replay(m, &engine_cfg, &wasm.threads, inputs, on_done).await
}

/// Replays `inputs` against the workflows of a loaded `module`, through
/// core's replay worker and the same runner and sandbox as live workflows.
/// `on_done` is called as each history finishes (for progress bars).
pub async fn replay(
    module: Arc<Module>,
    engine: &EngineConfig,
    threads: &WorkflowThreads,
    inputs: Vec<ReplayInput>,
    on_done: Option<Box<dyn Fn() + Send + Sync>>,
) -> Result<Vec<ReplayReport>, ReplayError> {
    if module.workflow.is_none() {
        return Err(ReplayError::NoWorkflows(module.path.display().to_string()));
    }
    let task_queue = "polyworker-replay";
    let bounds = Bounds {
        run: engine.run_limits(),
        activity_memory_bytes: engine.activity_memory_bytes(),
        cancel_grace: std::time::Duration::ZERO,
        payloads: Limits::default(),
    };
    let queue = Arc::new(
        Queue::new(
            task_queue,
            Arc::new(Tenant::for_replay("default")),
            Grants::default(),
            bounds,
            &[module],
            &NoMeters,
            threads.clone(),
        )
        .map_err(|e| ReplayError::Worker(Box::new(e)))?,
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
        .map_err(|m| ReplayError::Worker(m.into()))?;
    let worker = init_replay_worker(ReplayWorkerInput::new(config, stream))
        .map_err(|e| ReplayError::Worker(e.into()))?;
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
            failure: failures.get(&run_id).cloned(),
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
