//! One workflow run's instance: a store kept for as long as core caches the
//! run, holding the guest's `workflow-run` resource.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceAny;
use wasmtime::{Store, UpdateDeadline};

use super::sandbox::{WorkflowState, store_limits};
use crate::bindings::exports::polyworker::worker::workflows;
use crate::bindings::polyworker::worker::types::Failure;
use crate::bindings::polyworker::worker::workflow_types::{Activation, Command, WorkflowInfo};
use crate::guest_log::{GuestLog, LogTags};
use crate::metrics::ModuleMeter;
use crate::module::Module;

/// How a guest call ended abnormally. The store is unusable afterwards.
#[derive(Debug, thiserror::Error)]
pub enum GuestFault {
    #[error(
        "workflow activation exceeded its {0:?} deadline and was interrupted (an infinite loop or a blocking call in workflow code?)"
    )]
    Deadline(Duration),
    #[error("workflow code trapped: {0}")]
    Trap(String),
    #[error("cannot instantiate the workflow component: {0}")]
    Instantiate(String),
}

/// Per-store settings derived from the engine config.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

/// Turns a failed guest call into what happened, in words an operator can act on.
pub(crate) fn classify(e: wasmtime::Error, limits: RunLimits) -> GuestFault {
    let text = format!("{e:?}");
    if text.contains("forcing trap when growing memory") {
        return GuestFault::Trap(format!(
            "memory limit exceeded: the guest tried to grow its linear memory past the {} MiB limit",
            limits.memory_bytes >> 20
        ));
    }
    if text.contains("forcing trap when growing table") {
        return GuestFault::Trap("table limit exceeded".into());
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => GuestFault::Deadline(limits.deadline),
        Some(wasmtime::Trap::StackOverflow) => {
            GuestFault::Trap("stack overflow (runaway recursion?)".into())
        }
        Some(wasmtime::Trap::UnreachableCodeReached) => GuestFault::Trap(
            "unreachable code reached (a panic or abort in the guest; see the guest's stderr above)"
                .into(),
        ),
        Some(wasmtime::Trap::MemoryOutOfBounds) => GuestFault::Trap(
            "out of bounds memory access (in Rust and C guests usually a stack overflow: \
             runaway recursion exhausted the stack in linear memory)"
                .into(),
        ),
        Some(t) => GuestFault::Trap(t.to_string()),
        None => GuestFault::Trap(text.lines().next().unwrap_or_default().to_string()),
    }
}

pub struct RunInstance {
    /// The run's ids, for log spans.
    pub tags: LogTags,
    store: Store<WorkflowState>,
    guest: workflows::Guest,
    run: ResourceAny,
    limits: RunLimits,
    pub module: Arc<Module>,
    meter: ModuleMeter,
}

impl RunInstance {
    /// Instantiates the module and creates the run. The inner error is the
    /// guest's own refusal (e.g. undecodable arguments).
    pub async fn create(
        module: Arc<Module>,
        info: &WorkflowInfo,
        tags: LogTags,
        limits: RunLimits,
        meter: ModuleMeter,
    ) -> Result<Result<RunInstance, Failure>, GuestFault> {
        let Some(role) = module.workflow.as_ref() else {
            return Err(GuestFault::Instantiate(
                "the module has no workflows".into(),
            ));
        };
        let engine = role.pre.engine();
        let state = WorkflowState::new(
            info.randomness_seed,
            GuestLog::new(tags.clone()),
            meter.limits(store_limits(limits.memory_bytes)),
        );
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        // At every epoch tick: past the activation's deadline, interrupt;
        // otherwise yield, so a busy guest never holds a runtime thread.
        store.epoch_deadline_callback(|ctx| {
            Ok(match ctx.data().deadline {
                Some(d) if Instant::now() >= d => UpdateDeadline::Interrupt,
                _ => UpdateDeadline::Yield(1),
            })
        });
        store.set_epoch_deadline(1);
        store.data_mut().deadline = Some(Instant::now() + limits.deadline);
        if let Some(start) = info.start_time {
            store.data().clock.set(start);
        }
        let began = Instant::now();
        let instance = role
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| GuestFault::Instantiate(format!("{e:?}")))?;
        meter.instantiated(began.elapsed());
        let guest = role
            .indices
            .load(&mut store, &instance)
            .map_err(|e| GuestFault::Instantiate(format!("{e:?}")))?;
        let created = guest
            .workflow_run()
            .call_create(&mut store, info)
            .await
            .map_err(|e| classify(e, limits))
            .inspect_err(|f| meter.fault(f))?;
        let run = match created {
            Ok(run) => run,
            Err(f) => return Ok(Err(f)),
        };
        let module = module.clone();
        Ok(Ok(RunInstance {
            tags,
            store,
            guest,
            run,
            limits,
            module,
            meter,
        }))
    }

    /// Delivers one activation.
    pub async fn activate(
        &mut self,
        activation: &Activation,
        new_seed: Option<u64>,
    ) -> Result<Result<Vec<Command>, Failure>, GuestFault> {
        let data = self.store.data_mut();
        data.deadline = Some(Instant::now() + self.limits.deadline);
        data.clock.set(activation.timestamp);
        data.log.set_replaying(activation.is_replaying);
        if let Some(seed) = new_seed {
            data.random.reseed(seed);
        }
        self.store.set_epoch_deadline(1);
        let began = Instant::now();
        let r = self
            .guest
            .workflow_run()
            .call_activate(&mut self.store, self.run, activation)
            .await
            .map_err(|e| classify(e, self.limits))
            .inspect_err(|f| self.meter.fault(f));
        self.meter.activated(began.elapsed());
        r
    }
}

impl ModuleMeter {
    /// Counts the faults that have a metric of their own.
    fn fault(&self, f: &GuestFault) {
        if matches!(f, GuestFault::Deadline(_)) {
            self.epoch_interrupted();
        }
    }
}
