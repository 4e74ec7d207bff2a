//! Temporal core workers: one per task queue (per version of it, when
//! versioned), serving the workflow and activity types its modules
//! implement, with the poll loops that feed them to the guests.

use std::sync::Arc;
use std::time::Duration;

use temporalio_common::worker::{
    VersioningBehavior, WorkerDeploymentOptions, WorkerDeploymentVersion, WorkerTaskTypes,
};
use temporalio_sdk_core::{
    PollerBehavior, TunerHolder, Worker, WorkerConfig, WorkerTuner, WorkerVersioningStrategy,
    init_worker,
};
use tokio::task::JoinHandle;
use tracing::info;

use super::TemporalError;
use super::activity_runner::run_activities;
use super::connection::Core;
use super::queue::Queue;
use super::workflow_runner::run_workflows;

/// How a queue's core worker is tuned (the `[[task_queue]]` keys).
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Cached workflow runs (sticky cache size).
    pub max_cached_workflows: usize,
    /// Workflow-task slots.
    pub max_concurrent_workflow_tasks: usize,
    /// Activity slots.
    pub max_concurrent_activities: usize,
    /// Local-activity slots.
    pub max_concurrent_local_activities: usize,
    /// Workflow pollers (core's default when unset).
    pub workflow_pollers: Option<PollerBehavior>,
    /// Activity pollers (core's default when unset).
    pub activity_pollers: Option<PollerBehavior>,
    /// This worker's activity rate limit.
    pub max_activities_per_second: Option<f64>,
    /// The whole queue's activity rate limit (set on the server).
    pub max_task_queue_activities_per_second: Option<f64>,
    /// How long a sticky task waits for this worker before going to any.
    pub sticky_schedule_to_start_timeout: Duration,
    /// How long in-flight activities get on shutdown.
    pub graceful_shutdown: Duration,
}

/// The Worker Deployment Version a versioned worker identifies as.
#[derive(Debug, Clone)]
pub struct DeploymentVersion {
    /// The Worker Deployment (`<deployment>/<task queue>`).
    pub deployment_name: String,
    /// The module's digest.
    pub build_id: String,
    /// For workflow types the component does not declare.
    pub default_behavior: VersioningBehavior,
}

/// Creates and validates the core worker of one queue (of one version of
/// it, when `version` is given).
async fn start_core_worker(
    core: &Core,
    options: &WorkerOptions,
    tuner: Arc<TunerHolder>,
    queue: &Queue,
    version: Option<&DeploymentVersion>,
) -> Result<Arc<Worker>, TemporalError> {
    let workflows = !queue.workflows.is_empty();
    let activities = !queue.activities.is_empty();
    let err = |source: Box<dyn std::error::Error + Send + Sync>| TemporalError::Worker {
        queue: queue.name.clone(),
        source,
    };
    let (versioning, identity) = match version {
        None => (
            WorkerVersioningStrategy::None {
                build_id: String::new(),
            },
            core.identity().to_string(),
        ),
        Some(v) => {
            let options = WorkerDeploymentOptions::new(
                WorkerDeploymentVersion::builder()
                    .deployment_name(v.deployment_name.clone())
                    .build_id(v.build_id.clone())
                    .build(),
            )
            .use_worker_versioning(true)
            .default_versioning_behavior(v.default_behavior)
            .build();
            // The version shows in histories' identities, so one can tell
            // which version ran a task.
            (
                WorkerVersioningStrategy::WorkerDeploymentBased(options),
                format!(
                    "{}@{}",
                    core.identity(),
                    &v.build_id[..12.min(v.build_id.len())]
                ),
            )
        }
    };
    let config = WorkerConfig::builder()
        .namespace(queue.namespace.clone())
        .task_queue(queue.name.clone())
        .client_identity_override(identity)
        .versioning_strategy(versioning)
        .task_types(WorkerTaskTypes {
            enable_workflows: workflows,
            enable_local_activities: workflows && activities,
            enable_remote_activities: activities,
            enable_nexus: false,
        })
        .max_cached_workflows(if workflows {
            options.max_cached_workflows
        } else {
            0
        })
        // Slots come from the host's shared suppliers (queue, tenant and
        // host pools), not core's fixed-size default.
        .tuner(tuner as Arc<dyn WorkerTuner + Send + Sync>)
        .maybe_workflow_task_poller_behavior(options.workflow_pollers)
        .maybe_activity_task_poller_behavior(options.activity_pollers)
        .maybe_max_worker_activities_per_second(options.max_activities_per_second)
        .maybe_max_task_queue_activities_per_second(options.max_task_queue_activities_per_second)
        .sticky_queue_schedule_to_start_timeout(options.sticky_schedule_to_start_timeout)
        .graceful_shutdown_period(options.graceful_shutdown)
        // Versions of one queue are separate workers on one connection.
        .skip_client_worker_set_check(version.is_some())
        .build()
        .map_err(|m| err(m.into()))?;
    let Some(link) = &queue.tenant.link else {
        return Err(err(format!(
            "tenant {:?} has no connection",
            queue.tenant.name
        )
        .into()));
    };
    let worker = init_worker(core.core_runtime(), config, link.connection.clone())
        .map_err(|e| err(e.into()))?;
    worker.validate().await.map_err(|e| err(Box::new(e)))?;
    Ok(Arc::new(worker))
}

/// A queue's core worker and its poll loops.
pub struct QueueWorker {
    /// Core's worker.
    pub worker: Arc<Worker>,
    /// What it serves.
    pub queue: Arc<Queue>,
    loops: Vec<JoinHandle<()>>,
}

impl QueueWorker {
    /// Starts the worker of `queue` and its poll loops.
    pub async fn start(
        core: &Core,
        options: &WorkerOptions,
        tuner: Arc<TunerHolder>,
        queue: Arc<Queue>,
        version: Option<&DeploymentVersion>,
    ) -> Result<QueueWorker, TemporalError> {
        let worker = start_core_worker(core, options, tuner, &queue, version).await?;
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
                queue
                    .tenant
                    .activity_runtime
                    .as_ref()
                    .map_or_else(|| core.activity_executor(), |r| r.handle()),
            )));
        }
        info!(
            task_queue = %queue.name,
            build_id = version.map(|v| v.build_id.as_str()),
            workflows = %Queue::known(&queue.workflows),
            activities = %Queue::known(&queue.activities),
            "polling"
        );
        Ok(QueueWorker {
            worker,
            queue,
            loops,
        })
    }

    /// Stops polling; in-flight work goes on (see [`QueueWorker::finish`]).
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
