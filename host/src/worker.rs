//! Temporal core workers: one per task queue, serving the workflow and
//! activity types its modules implement.

use std::sync::Arc;
use std::time::Duration;

use temporalio_client::{Connection, ConnectionOptions};

use temporalio_common::worker::{
    VersioningBehavior, WorkerDeploymentOptions, WorkerDeploymentVersion, WorkerTaskTypes,
};
use temporalio_sdk_core::{
    CoreRuntime, PollerBehavior, Worker, WorkerConfig, WorkerVersioningStrategy, init_worker,
};
use tokio::task::JoinHandle;
use tracing::info;

use crate::HostError;
use crate::activity::run_activities;
use crate::config::{DefaultVersioning, Pollers, ServerConfig, TaskQueueConfig};
use crate::queue::Queue;
use crate::services::Services;
use crate::workflow::run_workflows;

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

/// The Worker Deployment Version a versioned worker identifies as.
#[derive(Debug, Clone)]
pub struct DeploymentVersion {
    pub deployment_name: String,
    /// The module's digest.
    pub build_id: String,
    pub default_behavior: DefaultVersioning,
}

/// Creates and validates the core worker of one queue (of one version of
/// it, when `version` is given).
pub async fn start(
    runtime: &CoreRuntime,
    connection: Connection,
    cfg: &TaskQueueConfig,
    queue: &Queue,
    identity: &str,
    version: Option<&DeploymentVersion>,
) -> Result<Arc<Worker>, HostError> {
    let workflows = !queue.workflows.is_empty();
    let activities = !queue.activities.is_empty();
    let err = |message: String| HostError::Worker {
        queue: cfg.name.clone(),
        message,
    };
    let (versioning, identity) = match version {
        None => (
            WorkerVersioningStrategy::None {
                build_id: String::new(),
            },
            identity.to_string(),
        ),
        Some(v) => {
            let behavior = match v.default_behavior {
                DefaultVersioning::Pinned => VersioningBehavior::Pinned,
                DefaultVersioning::AutoUpgrade => VersioningBehavior::AutoUpgrade,
            };
            let options = WorkerDeploymentOptions::new(
                WorkerDeploymentVersion::builder()
                    .deployment_name(v.deployment_name.clone())
                    .build_id(v.build_id.clone())
                    .build(),
            )
            .use_worker_versioning(true)
            .default_versioning_behavior(behavior)
            .build();
            // The version shows in histories' identities, so one can tell
            // which version ran a task.
            (
                WorkerVersioningStrategy::WorkerDeploymentBased(options),
                format!("{identity}@{}", &v.build_id[..12.min(v.build_id.len())]),
            )
        }
    };
    let config = WorkerConfig::builder()
        .namespace(queue.namespace.clone())
        .task_queue(cfg.name.clone())
        .client_identity_override(identity)
        .versioning_strategy(versioning)
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
        // Versions of one queue are separate workers on one connection.
        .skip_client_worker_set_check(version.is_some())
        .build()
        .map_err(err)?;
    let worker = init_worker(runtime, config, connection).map_err(|e| err(format!("{e:#}")))?;
    worker.validate().await.map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(worker))
}

/// A queue's core worker and its poll loops.
pub struct Running {
    pub worker: Arc<Worker>,
    pub queue: Arc<Queue>,
    loops: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts the worker of `queue` and its poll loops.
    pub async fn start(
        services: &Services,
        cfg: &TaskQueueConfig,
        queue: Arc<Queue>,
        version: Option<&DeploymentVersion>,
    ) -> Result<Running, HostError> {
        let worker = start(
            &services.runtime,
            services.connection.clone(),
            cfg,
            &queue,
            &services.identity,
            version,
        )
        .await?;
        let mut loops = Vec::new();
        if !queue.workflows.is_empty() {
            loops.push(tokio::spawn(run_workflows(
                worker.clone(),
                queue.clone(),
                None,
            )));
        }
        if !queue.activities.is_empty() {
            loops.push(tokio::spawn(run_activities(
                worker.clone(),
                queue.clone(),
                services.activity_executor(),
            )));
        }
        info!(
            task_queue = %queue.name,
            build_id = version.map(|v| v.build_id.as_str()),
            workflows = %Queue::known(&queue.workflows),
            activities = %Queue::known(&queue.activities),
            "polling"
        );
        Ok(Running {
            worker,
            queue,
            loops,
        })
    }

    /// Stops polling; in-flight work goes on (see [`Running::finish`]).
    pub fn initiate_shutdown(&self) {
        self.worker.initiate_shutdown();
    }

    /// Waits for in-flight work (within the graceful period) and shuts the
    /// worker down.
    pub async fn finish(self) {
        self.worker.initiate_shutdown();
        for l in self.loops {
            let _ = l.await;
        }
        match Arc::try_unwrap(self.worker) {
            Ok(w) => w.finalize_shutdown().await,
            Err(w) => w.shutdown().await,
        }
    }
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
