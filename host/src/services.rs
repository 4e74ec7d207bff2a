//! What every task queue's workers share: Temporal core's runtime (with its
//! Prometheus exporter), the server connection, the Wasm engine and loader,
//! the host's metrics, and the runtime activity attempts run on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use temporalio_client::Connection;
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    HistogramBucketOverrides, PrometheusExporterOptions, TelemetryOptions,
    start_prometheus_metric_exporter,
};
use temporalio_sdk_core::{CoreRuntime, RuntimeOptions};
use tracing::info;

use crate::HostError;
use crate::config::{Config, EngineConfig};
use crate::engine::{Capacity, WasmEngine};
use crate::metrics::HostMetrics;
use crate::module::{Loader, Module};

/// Modules loaded at start, by path.
pub type Loaded = HashMap<PathBuf, Arc<Module>>;

async fn load(
    loader: &Loader,
    metrics: &HostMetrics,
    path: &Path,
    bytes: Option<Vec<u8>>,
) -> Result<Arc<Module>, HostError> {
    let m = match bytes {
        Some(b) => loader.load_bytes(path, b).await?,
        None => loader.load(path).await?,
    };
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
    Ok(m)
}

/// The runtime activity attempts run on. Dropping a runtime inside async
/// code would block (and panics), so it is let go in the background.
struct ActivityRuntime(Option<tokio::runtime::Runtime>);

impl Drop for ActivityRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub struct Services {
    pub runtime: CoreRuntime,
    pub connection: Connection,
    pub identity: String,
    pub namespace: String,
    pub engine_config: EngineConfig,
    pub loader: Loader,
    pub metrics: Arc<HostMetrics>,
    /// Where the Prometheus endpoint listens, if configured.
    pub metrics_address: Option<std::net::SocketAddr>,
    metrics_server: Option<tokio::task::AbortHandle>,
    activity_runtime: ActivityRuntime,
    _engine: WasmEngine,
}

impl Services {
    /// Starts core's runtime and the engine, loads the modules of the
    /// unversioned queues, and connects to the server. Loading comes first,
    /// so a bad component is reported without a server to connect to.
    pub async fn start(config: &Config) -> Result<(Services, Loaded), HostError> {
        // Versioned queues run a worker per version; room for a current and
        // a draining one beside a deploy in progress.
        let versions = if config.deployment.is_some() { 3 } else { 1 };
        let capacity = Capacity {
            workflow_instances: config
                .task_queues
                .iter()
                .map(|q| {
                    versions * (q.max_cached_workflows + q.max_concurrent_workflow_tasks) as u32
                })
                .sum::<u32>()
                .max(16),
            activity_instances: config
                .task_queues
                .iter()
                .map(|q| versions * 2 * q.max_concurrent_activities as u32)
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
        let activity_runtime = ActivityRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("polyworker-activity")
                .enable_all()
                .build()
                .map_err(|e| {
                    HostError::Internal(format!("cannot start the activity runtime: {e}"))
                })?,
        ));
        let mut loaded = Loaded::new();
        if config.deployment.is_none() {
            for path in config.task_queues.iter().flat_map(|q| &q.modules) {
                if !loaded.contains_key(path) {
                    let m = load(&loader, &metrics, path, None).await?;
                    loaded.insert(path.clone(), m);
                }
            }
        }
        let identity = crate::worker::identity(&config.server);
        let connection = crate::worker::connect(&config.server, &identity).await?;
        let services = Services {
            runtime,
            connection,
            identity,
            namespace: config.server.namespace.clone(),
            engine_config: config.engine.clone(),
            loader,
            metrics,
            metrics_address,
            metrics_server,
            activity_runtime,
            _engine: engine,
        };
        Ok((services, loaded))
    }

    /// Where activity attempts run.
    pub fn activity_executor(&self) -> tokio::runtime::Handle {
        match &self.activity_runtime.0 {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }

    /// Loads (compiles or reads from the cache, links, lists the types of)
    /// a component, and records it in the metrics.
    pub async fn load(
        &self,
        path: &Path,
        bytes: Option<Vec<u8>>,
    ) -> Result<Arc<Module>, HostError> {
        load(&self.loader, &self.metrics, path, bytes).await
    }

    /// Stops the metrics endpoint and lets the activity runtime go; call
    /// once every worker has shut down.
    pub fn stop(&mut self) {
        if let Some(server) = self.metrics_server.take() {
            server.abort();
        }
        if let Some(rt) = self.activity_runtime.0.take() {
            rt.shutdown_background();
        }
    }
}
