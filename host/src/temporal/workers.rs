//! The handle the layers above start and stop workers through: it loads
//! components, builds queues, starts a queue's (or a version's) core
//! worker, and replays histories on the host's own engine and loader.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::connection::Core;
use super::connection::Link;
use super::convert::Scope;
use super::queue::{Bounds, DuplicateType, Grants, Queue};
use super::replay::{ReplayError, ReplayInput, ReplayReport, replay};
use super::resident::Resident;
use super::tenant::Tenant;
use super::worker::{DeploymentVersion, QueueWorker, WorkerOptions};
use super::{TemporalError, convert};
use crate::runtime::{EngineConfig, LoadError, Loader, MemoryBudget, Meters, Module, WasmEngine};

/// Loads (compiles or reads from the cache, links, lists the types of) the
/// component at `path` (or `bytes`, named `path`), and records it.
pub async fn load(
    loader: &Loader,
    meters: &dyn Meters,
    path: &Path,
    bytes: Option<Vec<u8>>,
) -> Result<Arc<Module>, LoadError> {
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
    meters.component_loaded(
        &m.digest,
        &path.file_name().unwrap_or_default().to_string_lossy(),
    );
    Ok(m)
}

/// Starts and stops the host's workers.
pub struct Workers {
    core: Core,
    loader: Loader,
    meters: Arc<dyn Meters>,
    engine_config: EngineConfig,
    engine: WasmEngine,
    budget: Arc<MemoryBudget>,
    resident: Arc<Resident>,
}

impl Workers {
    /// The handle over a connected `core` and the engine components run on.
    /// Guest memory is charged to `budget`; over it, idle cached runs of
    /// every queue started here are evicted first.
    pub fn new(
        core: Core,
        engine: WasmEngine,
        loader: Loader,
        meters: Arc<dyn Meters>,
        engine_config: EngineConfig,
        budget: Arc<MemoryBudget>,
    ) -> Workers {
        let resident = Arc::new(Resident::default());
        budget.set_reclaim(resident.clone());
        Workers {
            core,
            loader,
            meters,
            engine_config,
            engine,
            budget,
            resident,
        }
    }

    /// A tenant's Temporal-side context: `link`, `scope`, and an account
    /// of `memory_share` bytes of the host's budget.
    pub fn tenant(&self, name: &str, link: Link, scope: Scope, memory_share: usize) -> Arc<Tenant> {
        Arc::new(Tenant {
            name: name.to_string(),
            namespace: link.namespace.clone(),
            link: Some(link),
            scope,
            memory: Some(self.budget.account(name, memory_share)),
            resident: self.resident.clone(),
            scope_refusals: Default::default(),
        })
    }

    /// The host's guest memory budget.
    pub fn budget(&self) -> &Arc<MemoryBudget> {
        &self.budget
    }

    /// The host's cached runs.
    pub fn resident(&self) -> &Arc<Resident> {
        &self.resident
    }

    /// The server side: connection, namespace, identity.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Loads a component (see [`load`]).
    pub async fn load(
        &self,
        path: &Path,
        bytes: Option<Vec<u8>>,
    ) -> Result<Arc<Module>, LoadError> {
        load(&self.loader, self.meters.as_ref(), path, bytes).await
    }

    /// The queue `name` of `tenant` serving `modules`, with the engine's bounds.
    pub fn queue(
        &self,
        name: &str,
        tenant: Arc<Tenant>,
        grants: Grants,
        cancel_grace: Duration,
        modules: &[Arc<Module>],
    ) -> Result<Queue, DuplicateType> {
        let bounds = Bounds {
            run: self.engine_config.run_limits(),
            activity_memory_bytes: self.engine_config.activity_memory_bytes(),
            cancel_grace,
            payloads: convert::Limits::default(),
        };
        Queue::new(
            name,
            tenant,
            grants,
            bounds,
            modules,
            self.meters.as_ref(),
            self.engine.threads.clone(),
        )
    }

    /// Starts the core worker of `queue` (of one version of it) and its
    /// poll loops.
    pub async fn start(
        &self,
        options: &WorkerOptions,
        queue: Arc<Queue>,
        version: Option<&DeploymentVersion>,
    ) -> Result<QueueWorker, TemporalError> {
        QueueWorker::start(&self.core, options, queue, version).await
    }

    /// Replays `inputs` against an already loaded module, on this host's
    /// engine: the replay gate builds nothing of its own.
    pub async fn replay(
        &self,
        module: Arc<Module>,
        inputs: Vec<ReplayInput>,
    ) -> Result<Vec<ReplayReport>, ReplayError> {
        replay(
            module,
            &self.engine_config,
            &self.engine.threads,
            inputs,
            None,
        )
        .await
    }

    /// Lets the activity runtime go; call once every worker has shut down.
    pub fn stop(&mut self) {
        self.core.stop();
    }
}
