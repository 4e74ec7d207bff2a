//! Starting and stopping the host.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    HistogramBucketOverrides, PrometheusExporterOptions, TelemetryOptions,
    start_prometheus_metric_exporter,
};
use temporalio_sdk_core::{CoreRuntime, RuntimeOptions, Worker};
use tokio::task::JoinHandle;
use tracing::info;

use crate::activity::run_activities;
use crate::config::{Config, ConfigError};
use crate::engine::{Capacity, EngineError, WasmEngine};
use crate::metrics::HostMetrics;
use crate::module::{LoadError, Loader, Module};
use crate::queue::{DuplicateType, Queue};
use crate::workflow::run_workflows;

/// Why the host could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    DuplicateType(#[from] DuplicateType),
    #[error("cannot connect to the Temporal server at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("cannot start the worker for task queue {queue:?}: {message}")]
    Worker { queue: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

/// The runtime activity attempts run on. Dropping a runtime inside async
/// code would block (and panics), so it is let go in the background.
struct ActivityRuntime(Option<tokio::runtime::Runtime>);

impl ActivityRuntime {
    fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }
}

impl Drop for ActivityRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

struct Running {
    worker: Arc<Worker>,
    loops: Vec<JoinHandle<()>>,
}

/// A started host: workers polling every configured task queue.
pub struct Host {
    running: Vec<Running>,
    /// Where activity attempts run (see `activity::runner`).
    activity_runtime: ActivityRuntime,
    /// Loaded modules by path, for introspection.
    pub modules: Vec<Arc<Module>>,
    /// Where the Prometheus endpoint listens, if configured.
    pub metrics_address: Option<std::net::SocketAddr>,
    metrics_server: Option<tokio::task::AbortHandle>,
    /// Where `/healthz` and `/readyz` are served, if configured.
    pub health_address: Option<std::net::SocketAddr>,
    health_server: Option<tokio::task::AbortHandle>,
    probe: Option<tokio::task::AbortHandle>,
    readiness: crate::health::Readiness,
    _runtime: CoreRuntime,
    _engine: WasmEngine,
}

impl Host {
    /// Loads every module, connects, and starts polling.
    pub async fn start(config: Config) -> Result<Host, HostError> {
        config.validate()?;
        // Health first: an orchestrator sees the process up (and not ready)
        // while components load and compile and workers connect.
        let readiness = crate::health::Readiness::default();
        let (health_address, health_server) = match config.metrics.health {
            None => (None, None),
            Some(addr) => {
                let (bound, handle) = crate::health::serve(addr, readiness.clone()).await?;
                info!(address = %bound, "serving /healthz and /readyz");
                (Some(bound), Some(handle))
            }
        };
        let capacity = Capacity {
            workflow_instances: config
                .task_queues
                .iter()
                .map(|q| (q.max_cached_workflows + q.max_concurrent_workflow_tasks) as u32)
                .sum::<u32>()
                .max(16),
            activity_instances: config
                .task_queues
                .iter()
                .map(|q| 2 * q.max_concurrent_activities as u32)
                .sum::<u32>()
                .max(16),
        };
        let (telemetry, metrics_address, metrics_server) = match config.metrics.prometheus {
            None => (TelemetryOptions::builder().build(), None, None),
            Some(addr) => {
                let overrides = HistogramBucketOverrides {
                    overrides: [
                        crate::metrics::INSTANTIATION_LATENCY,
                        crate::metrics::ACTIVATION_LATENCY,
                    ]
                    .map(|n| (n.to_string(), crate::metrics::LATENCY_BUCKETS_US.to_vec()))
                    .into(),
                };
                let opts = PrometheusExporterOptions::builder()
                    .socket_addr(addr)
                    .histogram_bucket_overrides(overrides)
                    .build();
                let server = start_prometheus_metric_exporter(opts).map_err(|e| {
                    HostError::Internal(format!("cannot serve Prometheus metrics on {addr}: {e:#}"))
                })?;
                info!(address = %server.bound_addr, "serving Prometheus metrics at /metrics");
                let meter: Arc<dyn CoreMeter> = server.meter;
                (
                    TelemetryOptions::builder().metrics(meter).build(),
                    Some(server.bound_addr),
                    Some(server.abort_handle),
                )
            }
        };
        let options = RuntimeOptions::builder()
            .telemetry_options(telemetry)
            .build()
            .map_err(|e| HostError::Internal(format!("cannot configure Temporal core: {e}")))?;
        let runtime = CoreRuntime::new_assume_tokio(options)
            .map_err(|e| HostError::Internal(format!("cannot start Temporal core: {e:#}")))?;
        let metrics = HostMetrics::new(runtime.telemetry().get_metric_meter());
        let engine = WasmEngine::new(&config.engine, capacity)?;
        let loader = Loader::new(&engine.engine).map_err(HostError::Internal)?;
        let mut loaded: HashMap<PathBuf, Arc<Module>> = HashMap::new();
        let mut queues = Vec::new();
        for q in &config.task_queues {
            let mut modules = Vec::new();
            for path in &q.modules {
                let m = match loaded.get(path) {
                    Some(m) => m.clone(),
                    None => {
                        let m = loader.load(path).await?;
                        info!(
                            module = %path.display(),
                            digest = %&m.digest[..12],
                            workflows = ?m.workflow.as_ref().map(|w| &w.types),
                            activities = ?m.activity.as_ref().map(|a| &a.types),
                            "loaded component"
                        );
                        metrics.component_loaded(
                            &m.digest,
                            &path.file_name().unwrap_or_default().to_string_lossy(),
                        );
                        loaded.insert(path.clone(), m.clone());
                        m
                    }
                };
                modules.push(m);
            }
            queues.push((
                q,
                Arc::new(Queue::new(
                    q,
                    &config.server.namespace,
                    &config.engine,
                    &modules,
                    &metrics,
                )?),
            ));
        }
        let activity_runtime = ActivityRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("polyworker-activity")
                .enable_all()
                .build()
                .map_err(|e| {
                    HostError::Internal(format!("cannot start the activity runtime: {e}"))
                })?,
        ));
        let identity = crate::worker::identity(&config.server);
        let connection = crate::worker::connect(&config.server, &identity).await?;
        let mut running = Vec::new();
        for (cfg, queue) in queues {
            let worker =
                crate::worker::start(&runtime, connection.clone(), cfg, &queue, &identity).await?;
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
                    activity_runtime.handle(),
                )));
            }
            info!(
                task_queue = %queue.name,
                workflows = %Queue::known(&queue.workflows),
                activities = %Queue::known(&queue.activities),
                "polling"
            );
            running.push(Running { worker, loops });
        }
        readiness.set(true);
        let probe = health_server.is_some().then(|| {
            tokio::spawn(crate::health::watch_server(
                connection.clone(),
                readiness.clone(),
                std::time::Duration::from_secs(2),
            ))
            .abort_handle()
        });
        Ok(Host {
            running,
            activity_runtime,
            modules: loaded.into_values().collect(),
            metrics_address,
            metrics_server,
            health_address,
            health_server,
            probe,
            readiness,
            _runtime: runtime,
            _engine: engine,
        })
    }

    /// Stops polling, lets in-flight tasks finish, and shuts the workers down.
    pub async fn shutdown(self) {
        self.readiness.set(false);
        for r in &self.running {
            r.worker.initiate_shutdown();
        }
        for r in self.running {
            for l in r.loops {
                let _ = l.await;
            }
            match Arc::try_unwrap(r.worker) {
                Ok(w) => w.finalize_shutdown().await,
                Err(w) => w.shutdown().await,
            }
        }
        drop(self.activity_runtime);
        if let Some(server) = self.metrics_server {
            server.abort();
        }
        if let Some(server) = self.health_server {
            server.abort();
        }
        if let Some(probe) = self.probe {
            probe.abort();
        }
        info!("shut down");
    }
}

/// Runs the host until `shutdown` resolves, then shuts down gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), HostError> {
    let host = Host::start(config).await?;
    shutdown.await;
    host.shutdown().await;
    Ok(())
}
