//! Temporal core workers: one per task queue, serving the workflow and
//! activity types its modules implement.

use std::sync::Arc;
use std::time::Duration;

use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::{
    CoreRuntime, PollerBehavior, Worker, WorkerConfig, WorkerVersioningStrategy, init_worker,
};

use crate::HostError;
use crate::config::{Pollers, ServerConfig, TaskQueueConfig};
use crate::queue::Queue;

/// The identity shown in workflow histories.
pub fn identity(server: &ServerConfig) -> String {
    if let Some(id) = &server.identity {
        return id.clone();
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("polyworker@{host}-{}", std::process::id())
}

/// Connects to the frontend (one connection, shared by every worker).
pub async fn connect(server: &ServerConfig, identity: &str) -> Result<Connection, HostError> {
    let url = url::Url::parse(&server.address).map_err(|e| HostError::Connect {
        address: server.address.clone(),
        message: e.to_string(),
    })?;
    Connection::connect(
        ConnectionOptions::new(url)
            .identity(identity.to_string())
            .connect_timeout(Duration::from_secs(10))
            .build(),
    )
    .await
    .map_err(|e| HostError::Connect {
        address: server.address.clone(),
        message: format!("{e:#}"),
    })
}

/// Creates and validates the core worker of one queue.
pub async fn start(
    runtime: &CoreRuntime,
    connection: Connection,
    cfg: &TaskQueueConfig,
    queue: &Queue,
    identity: &str,
) -> Result<Arc<Worker>, HostError> {
    let workflows = !queue.workflows.is_empty();
    let activities = !queue.activities.is_empty();
    let err = |message: String| HostError::Worker {
        queue: cfg.name.clone(),
        message,
    };
    let config = WorkerConfig::builder()
        .namespace(queue.namespace.clone())
        .task_queue(cfg.name.clone())
        .client_identity_override(identity.to_string())
        .versioning_strategy(WorkerVersioningStrategy::None {
            build_id: String::new(),
        })
        .task_types(WorkerTaskTypes {
            enable_workflows: workflows,
            enable_local_activities: workflows && activities,
            enable_remote_activities: activities,
            enable_nexus: false,
        })
        .max_cached_workflows(if workflows {
            cfg.max_cached_workflows
        } else {
            0
        })
        .max_outstanding_workflow_tasks(cfg.max_concurrent_workflow_tasks)
        .max_outstanding_activities(cfg.max_concurrent_activities)
        .max_outstanding_local_activities(cfg.max_concurrent_local_activities)
        .maybe_workflow_task_poller_behavior(cfg.workflow_pollers.map(poller_behavior))
        .maybe_activity_task_poller_behavior(cfg.activity_pollers.map(poller_behavior))
        .maybe_max_worker_activities_per_second(cfg.max_activities_per_second)
        .maybe_max_task_queue_activities_per_second(cfg.max_task_queue_activities_per_second)
        .sticky_queue_schedule_to_start_timeout(Duration::from_millis(
            cfg.sticky_schedule_to_start_timeout_ms,
        ))
        .graceful_shutdown_period(Duration::from_millis(cfg.graceful_shutdown_ms))
        .build()
        .map_err(err)?;
    let worker = init_worker(runtime, config, connection).map_err(|e| err(format!("{e:#}")))?;
    worker.validate().await.map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(worker))
}

fn poller_behavior(p: Pollers) -> PollerBehavior {
    match p {
        Pollers::Maximum(n) => PollerBehavior::SimpleMaximum(n),
        Pollers::Autoscaling {
            minimum,
            maximum,
            initial,
        } => PollerBehavior::Autoscaling {
            minimum,
            maximum,
            initial,
        },
    }
}
