//! The handle the layers above start and stop workers through: it loads
//! components, builds queues, starts a queue's (or a version's) core
//! worker, and replays histories on the host's own engine and loader.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::connection::Core;
use super::connection::{ActivityRuntime, Link};
use super::convert::Scope;
use super::queue::{Bounds, DuplicateType, Grants, Queue};
use super::replay::{ReplayError, ReplayInput, ReplayReport, replay};
use super::resident::Resident;
use super::slots::SharedSlots;
use super::tenant::{Quotas, SlotQuotas, Tenant};
use super::worker::{DeploymentVersion, QueueWorker, WorkerOptions};
use super::{TemporalError, convert};
use crate::runtime::rate::Rate;
use crate::runtime::{EngineConfig, LoadError, Loader, MemoryBudget, Meters, Module, WasmEngine};
use temporalio_sdk_core::{
    ActivitySlotKind, LocalActivitySlotKind, TunerBuilder, TunerHolder, WorkflowSlotKind,
};

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
    slots: Suppliers,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
}

/// The host's totals of slots, per kind, and of cached runs (`None`: no
/// host-wide bound).
#[derive(Debug, Clone, Copy, Default)]
pub struct HostSlots {
    /// Workflow-task slots.
    pub workflow_tasks: Option<usize>,
    /// Activity slots.
    pub activities: Option<usize>,
    /// Local-activity slots.
    pub local_activities: Option<usize>,
    /// Cached workflow runs, all tenants together.
    pub cached_workflows: Option<usize>,
}

/// The host's slot pools, one per kind.
struct Suppliers {
    workflow: SharedSlots<WorkflowSlotKind>,
    activity: SharedSlots<ActivitySlotKind>,
    local_activity: SharedSlots<LocalActivitySlotKind>,
}

impl Suppliers {
    fn new(h: HostSlots) -> Suppliers {
        Suppliers {
            workflow: SharedSlots::new(h.workflow_tasks),
            activity: SharedSlots::new(h.activities),
            local_activity: SharedSlots::new(h.local_activities),
        }
    }

    /// The tuner of `queue`'s core worker: its own slots, drawn from its
    /// tenant's and the host's pools.
    fn tuner(&self, options: &WorkerOptions, queue: &Queue) -> Arc<TunerHolder> {
        let t = &queue.tenant;
        let workflow = self.workflow.worker(
            options.max_concurrent_workflow_tasks,
            t.slots.workflow.clone(),
            None,
        );
        let activity = self.activity.worker(
            options.max_concurrent_activities,
            t.slots.activity.clone(),
            t.activity_rate.clone(),
        );
        let local = self.local_activity.worker(
            options.max_concurrent_local_activities,
            t.slots.local_activity.clone(),
            None,
        );
        Arc::new(
            TunerBuilder::default()
                .workflow_slot_supplier(Arc::new(workflow))
                .activity_slot_supplier(Arc::new(activity))
                .local_activity_slot_supplier(Arc::new(local))
                .build(),
        )
    }
}

impl Workers {
    /// The handle over a connected `core` and the engine components run on.
    /// Guest memory is charged to `budget`; over it, idle cached runs of
    /// every queue started here are evicted first. Every worker's slots
    /// draw on the host's totals in `slots`.
    pub fn new(
        core: Core,
        engine: WasmEngine,
        loader: Loader,
        meters: Arc<dyn Meters>,
        engine_config: EngineConfig,
        budget: Arc<MemoryBudget>,
        slots: HostSlots,
    ) -> Workers {
        let resident = Arc::new(Resident::new(slots.cached_workflows));
        budget.set_reclaim(resident.clone());
        Workers {
            core,
            loader,
            meters,
            engine_config,
            engine,
            budget,
            resident,
            slots: Suppliers::new(slots),
            tracer: None,
        }
    }

    /// Queues made from now on send their spans to `tracer`.
    pub fn with_tracer(mut self, tracer: Option<opentelemetry_sdk::trace::Tracer>) -> Workers {
        self.tracer = tracer;
        self
    }

    /// A tenant's Temporal-side context: `link`, `scope`, an account of
    /// its memory share of the host's budget, and its quotas' pools; with
    /// `own_runtime`, an activity runtime of its own.
    pub fn tenant(
        &self,
        name: &str,
        link: Link,
        scope: Scope,
        quotas: &Quotas,
        own_runtime: bool,
    ) -> Result<Arc<Tenant>, TemporalError> {
        let activity_runtime = if own_runtime {
            Some(ActivityRuntime::new(&format!("pw-act-{name}"))?)
        } else {
            None
        };
        let pool = |n: Option<usize>| n.map(|n| Arc::new(tokio::sync::Semaphore::new(n)));
        let share = quotas.memory_bytes().unwrap_or(usize::MAX);
        Ok(Arc::new(Tenant {
            name: name.to_string(),
            namespace: link.namespace.clone(),
            link: Some(link),
            scope,
            memory: Some(self.budget.account(name, share)),
            resident: self.resident.clone(),
            scope_refusals: Default::default(),
            slots: SlotQuotas {
                workflow: pool(quotas.workflow_tasks),
                activity: pool(quotas.activities),
                local_activity: pool(quotas.local_activities),
            },
            activity_rate: quotas
                .activities_per_second
                .map(|r| Arc::new(Rate::per_second(r))),
            log_rate: quotas
                .log_lines_per_second
                .map(|r| Arc::new(Rate::per_second(r))),
            max_cached: quotas.cached_workflows,
            quotas: quotas.clone(),
            activity_runtime,
        }))
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

    /// The engine every guest runs on.
    pub fn engine(&self) -> &WasmEngine {
        &self.engine
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
        let mut queue = Queue::new(
            name,
            tenant,
            grants,
            bounds,
            modules,
            self.meters.as_ref(),
            self.engine.threads.clone(),
        )?;
        queue.tracer = self.tracer.clone();
        Ok(queue)
    }

    /// Starts the core worker of `queue` (of one version of it) and its
    /// poll loops.
    pub async fn start(
        &self,
        options: &WorkerOptions,
        queue: Arc<Queue>,
        version: Option<&DeploymentVersion>,
    ) -> Result<QueueWorker, TemporalError> {
        let tuner = self.slots.tuner(options, &queue);
        QueueWorker::start(&self.core, options, tuner, queue, version).await
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
