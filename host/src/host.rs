//! Starting and stopping the host: the layers put together from a [`Config`].

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::AbortHandle;
use tracing::info;

use crate::config::{Config, TaskQueueConfig};
use crate::deploy::Fleet;
use crate::deploy::admin::Serving as AdminServing;
use crate::deploy::admin::{Reloads, Tokens};
pub use crate::error::HostError;
use crate::ops::export;
use crate::ops::health::{self, Readiness};
use crate::ops::metrics::{self, HostMetrics, SharedMetrics};
use crate::ops::traces::Traces;
use crate::runtime::{Capacity, LoadError, Loader, MemoryBudget, Meters, Module, WasmEngine};
use crate::temporal::{Connections, Core, Tenant, Workers, connection};
use crate::tenancy::{Serving, serve_tenant, tenant_tokens};

/// A started host: workers polling every configured task queue.
pub struct Host {
    /// Each tenant, with its unversioned queues' workers.
    pub(crate) serving: Vec<Serving>,
    /// What the host runs now (replaced by a reload).
    pub(crate) config: Config,
    pub(crate) connections: Connections,
    pub(crate) loaded: HashMap<PathBuf, Arc<Module>>,
    /// The tenants whose accounts `/metrics` samples.
    pub(crate) sampled: crate::ops::tenants::Sampled,
    /// The tenant labels of `/metrics`.
    pub(crate) labels: Option<Arc<metrics::TenantLabels>>,
    /// Versioned queues (`[deployment]`), with the admin API.
    pub fleet: Option<Arc<Fleet>>,
    /// Loaded modules of the unversioned queues, for introspection.
    pub modules: Vec<Arc<Module>>,
    /// Where the Prometheus endpoint listens, if configured.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// Where `/healthz` and `/readyz` are served, if configured.
    pub health_address: Option<std::net::SocketAddr>,
    /// Where the admin API listens, under `[deployment]`.
    pub admin_address: Option<std::net::SocketAddr>,
    /// The tokens the admin API accepts (a reload replaces the tenants').
    pub(crate) admin_tokens: Option<Tokens>,
    /// Reloads asked for through the admin API.
    pub(crate) reloads: Reloads,
    /// The admin API and the watcher, stopped first at shutdown.
    deploy_tasks: Vec<AbortHandle>,
    /// The metrics and health endpoints and the probe, stopped last.
    tasks: Vec<AbortHandle>,
    readiness: Readiness,
    pub(crate) workers: Arc<Workers>,
    /// The span pipeline, flushed at shutdown.
    traces: Option<Traces>,
}

/// How many instances the pool must hold: versioned queues run a worker per
/// version, with room for a current and a draining one beside a deploy in
/// progress.
pub(crate) fn capacity(config: &Config) -> Capacity {
    let versions = if config.deployment.is_some() { 3 } else { 1 };
    let queues: Vec<_> = config.queues().collect();
    Capacity {
        workflow_instances: queues
            .iter()
            .map(|q| versions * (q.max_cached_workflows + q.max_concurrent_workflow_tasks) as u32)
            .sum::<u32>()
            .max(16),
        activity_instances: queues
            .iter()
            .map(|q| versions * 2 * q.max_concurrent_activities as u32)
            .sum::<u32>()
            .max(16),
        // A replay gate runs beside the live workers: two more.
        workflow_tasks: queues
            .iter()
            .map(|q| versions * q.max_concurrent_workflow_tasks as u32)
            .sum::<u32>()
            + 2,
    }
}

/// Each tenant of `config` as the metrics' tenant labels need it.
pub(crate) fn tenant_list(config: &Config) -> Vec<(String, String, Vec<String>)> {
    config
        .tenants()
        .into_iter()
        .map(|t| {
            let queues = t.task_queues.iter().map(|q| q.name.clone()).collect();
            (t.name, t.namespace, queues)
        })
        .collect()
}

/// Loads the modules of the unversioned queues, by path, before anything
/// connects: a bad component is reported without a server.
async fn load_unversioned(
    config: &Config,
    loader: &Loader,
    meters: &dyn Meters,
) -> Result<HashMap<PathBuf, Arc<Module>>, LoadError> {
    let mut loaded = HashMap::new();
    if config.deployment.is_some() {
        return Ok(loaded);
    }
    for path in config.queues().flat_map(|q| &q.modules) {
        if !loaded.contains_key(path) {
            let m = crate::temporal::workers::load(loader, meters, path, None).await?;
            loaded.insert(path.clone(), m);
        }
    }
    Ok(loaded)
}

impl Host {
    /// Loads every module, connects, and starts polling.
    pub async fn start(config: Config) -> Result<Host, HostError> {
        config.validate()?;
        let mut tasks = Vec::new();
        // Health first: an orchestrator sees the process up (and not ready)
        // while components load and compile and workers connect.
        let readiness = Readiness::default();
        let health_address = match config.metrics.health {
            None => None,
            Some(addr) => {
                let (bound, handle) = health::serve(addr, readiness.clone()).await?;
                info!(address = %bound, "serving /healthz and /readyz");
                tasks.push(handle);
                Some(bound)
            }
        };
        let identity = connection::identity(config.server.identity.as_deref());
        let exporters = export::exporters(&config.metrics, &identity, &tenant_list(&config))?;
        if let Some((addr, handle)) = &exporters.prometheus {
            info!(address = %addr, "serving Prometheus metrics at /metrics");
            tasks.push(handle.clone());
        }
        if let Some(otlp) = &config.metrics.otlp {
            info!(endpoint = %otlp.endpoint, protocol = ?otlp.protocol, "exporting metrics over OTLP");
        }
        let runtime = Core::new_runtime(exporters.telemetry)?;
        let host_metrics = HostMetrics::new(runtime.telemetry().get_metric_meter());
        let meters: Arc<dyn Meters> = Arc::new(SharedMetrics(host_metrics.clone()));
        let engine = WasmEngine::new(&config.engine, capacity(&config))?;
        let loader = Loader::new(&engine.engine)?;
        let loaded = load_unversioned(&config, &loader, meters.as_ref()).await?;
        let core = Core::new(runtime, identity)?;
        let budget = MemoryBudget::new(config.capacity.guest_memory_bytes());
        info!(
            guest_memory_mib = budget.total() >> 20,
            "guest memory budget"
        );
        let traces = match &config.traces.otlp {
            Some(otlp) => {
                info!(endpoint = %otlp.endpoint, protocol = ?otlp.protocol, "exporting spans over OTLP");
                Some(Traces::start(otlp, core.identity())?)
            }
            None => None,
        };
        let workers = Arc::new(
            Workers::new(
                core,
                engine,
                loader,
                meters,
                config.engine.clone(),
                budget,
                config.capacity.slots(),
            )
            .with_tracer(traces.as_ref().map(|t| t.tracer.clone())),
        );
        let mut connections = Connections::new(
            workers
                .core()
                .core_runtime()
                .telemetry()
                .get_temporal_metric_meter(),
        );
        let mut serving = Vec::new();
        let versioned = config.deployment.is_some();
        for (i, t) in config.tenants().into_iter().enumerate() {
            let s = serve_tenant(
                &config,
                i,
                t,
                &workers,
                &mut connections,
                &loaded,
                versioned,
            );
            serving.push(s.await?);
        }
        let up: Vec<Arc<Tenant>> = serving.iter().filter_map(|s| s.tenant.clone()).collect();
        if up.is_empty() {
            return Err(HostError::NoTenant);
        }
        let sampled = crate::ops::tenants::Sampled::new(up.clone());
        tasks.push(crate::ops::tenants::sample(
            host_metrics.meter().clone(),
            workers.budget().clone(),
            sampled.clone(),
            std::time::Duration::from_secs(1),
        ));
        let mut deploy_tasks = Vec::new();
        let reloads = Reloads::default();
        let status =
            crate::ops::registry::RegistryStatus::new(host_metrics.meter(), readiness.clone());
        let (fleet, admin) = Self::start_fleet(
            &config,
            &workers,
            &serving,
            &mut deploy_tasks,
            &reloads,
            status,
        )
        .await?;
        readiness.set(true);
        if health_address.is_some()
            && let Some(link) = up.iter().find_map(|t| t.link.clone())
        {
            tasks.push(
                tokio::spawn(health::watch_server(
                    link.connection,
                    readiness.clone(),
                    std::time::Duration::from_secs(2),
                ))
                .abort_handle(),
            );
        }
        Ok(Host {
            serving,
            traces,
            config,
            connections,
            modules: loaded.values().cloned().collect(),
            loaded,
            sampled,
            fleet,
            labels: exporters.labels,
            metrics_address: exporters.prometheus.map(|(a, _)| a),
            health_address,
            admin_address: admin.as_ref().map(|a| a.address),
            admin_tokens: admin.map(|a| a.tokens),
            reloads,
            deploy_tasks,
            tasks,
            readiness,
            workers,
        })
    }

    /// Under `[deployment]`, the fleet of versioned queues with its admin
    /// API (and directory watcher).
    async fn start_fleet(
        config: &Config,
        workers: &Arc<Workers>,
        serving: &[Serving],
        tasks: &mut Vec<AbortHandle>,
        reloads: &Reloads,
        registry_status: crate::ops::registry::RegistryStatus,
    ) -> Result<(Option<Arc<Fleet>>, Option<AdminServing>), HostError> {
        let Some(deployment) = &config.deployment else {
            return Ok((None, None));
        };
        let queues: Vec<(Arc<Tenant>, TaskQueueConfig)> =
            serving.iter().flat_map(Serving::versioned_queues).collect();
        let fleet = Fleet::start(workers.clone(), deployment.clone(), &queues).await?;
        let admin = crate::deploy::admin::serve(
            fleet.clone(),
            deployment,
            tenant_tokens(config)?,
            !config.tenants.is_empty(),
            reloads.clone(),
        )
        .await?;
        info!(address = %admin.address, "serving the admin API");
        tasks.push(admin.task.clone());
        if let Some(r) = &deployment.registry {
            let registry = crate::deploy::registry::Registry::new(r)
                .map_err(crate::deploy::DeployError::from)?;
            // One pass before the host is ready: a host that joins empty
            // serves what is current once it says it is ready.
            let every = std::time::Duration::from_millis(r.poll_ms);
            let mut state = crate::deploy::converge::Converging::reporting(registry_status, every);
            fleet.converge(&registry, &mut state).await;
            info!(registry = %r.address, every_ms = r.poll_ms, "following the registry and the server's routing");
            let converge = fleet.clone().converge_forever(registry, state, every);
            tasks.push(tokio::spawn(converge).abort_handle());
        }
        if let Some(dir) = deployment.watch.clone() {
            info!(dir = %dir.display(), "deploying components that appear in the watched directory");
            let watch = fleet.clone().watch(dir, std::time::Duration::from_secs(1));
            tasks.push(tokio::spawn(watch).abort_handle());
        }
        Ok((Some(fleet), Some(admin)))
    }

    /// Stops polling, lets in-flight tasks finish, and shuts the workers down.
    pub async fn shutdown(self) {
        self.readiness.set(false);
        for task in self.deploy_tasks {
            task.abort();
        }
        for s in &self.serving {
            for w in &s.workers {
                w.initiate_shutdown();
            }
        }
        let fleet = self.fleet.map(|f| async move { f.shutdown().await });
        let workers = futures::future::join_all(self.serving.into_iter().map(Serving::stop));
        match fleet {
            Some(f) => {
                futures::future::join(workers, f).await;
            }
            None => {
                workers.await;
            }
        }
        for task in self.tasks {
            task.abort();
        }
        match Arc::try_unwrap(self.workers) {
            Ok(mut w) => w.stop(),
            Err(_) => tracing::warn!("host workers still in use at shutdown"),
        }
        if let Some(t) = self.traces {
            t.shutdown().await;
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
