//! One workflow run's instance: a store kept for as long as core caches the
//! run, holding the guest's `workflow-run` resource.
//!
//! Every call into it is synchronous: it runs wasm on the calling thread
//! (a workflow thread, see [`super::threads`]) until the guest returns or
//! the epoch deadline interrupts it, and keeps no stack between calls.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceAny;
use wasmtime::{Store, UpdateDeadline};

use super::bindings::exports::polyworker::worker::workflows;
use super::bindings::polyworker::worker::types::Failure;
use super::bindings::polyworker::worker::workflow_types::{Activation, Command, WorkflowInfo};
use super::budget::Account;
use super::fault::{GuestFault, RunLimits, classify};
use super::limits::StoreBounds;
use super::loader::Module;
use super::log::{GuestLog, LogTags};
use super::meter::{ModuleMeter, Role};
use super::threads::{LONG_CALL, demote_current_thread};
use super::workflow::WorkflowState;

/// One workflow run's store and its guest `workflow-run` resource.
pub struct RunInstance {
    /// The run's ids, for log spans.
    pub tags: LogTags,
    store: Store<WorkflowState>,
    guest: workflows::Guest,
    run: ResourceAny,
    limits: RunLimits,
    /// The module the run is an instance of.
    pub module: Arc<Module>,
    meter: ModuleMeter,
}

impl RunInstance {
    /// Instantiates the module and creates the run. The inner error is the
    /// guest's own refusal (e.g. undecodable arguments).
    pub fn create(
        module: Arc<Module>,
        info: &WorkflowInfo,
        tags: LogTags,
        limits: RunLimits,
        meter: ModuleMeter,
        account: Option<Arc<Account>>,
    ) -> Result<Result<RunInstance, Failure>, GuestFault> {
        let instantiate = |source: wasmtime::Error| GuestFault::Instantiate {
            role: Role::Workflow,
            source: source.into(),
        };
        let Some(role) = module.workflow.as_ref() else {
            return Err(instantiate(wasmtime::format_err!(
                "the module has no workflows"
            )));
        };
        let engine = role.pre.engine();
        let state = WorkflowState::new(
            info.randomness_seed,
            GuestLog::new(tags.clone()),
            StoreBounds::new(Role::Workflow, limits.memory_bytes)
                .limiter(meter.clone())
                .charged_to(account, true),
        );
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        // At every epoch tick: past the call's deadline, interrupt; past
        // `LONG_CALL`, give the CPU to other calls first. A sync store
        // cannot yield, and need not: it runs on a workflow thread.
        let long_after = limits.deadline.saturating_sub(LONG_CALL);
        store.epoch_deadline_callback(move |ctx| {
            let now = Instant::now();
            Ok(match ctx.data().deadline {
                Some(d) if now >= d => UpdateDeadline::Interrupt,
                Some(d) => {
                    if d.saturating_duration_since(now) < long_after {
                        demote_current_thread();
                    }
                    UpdateDeadline::Continue(1)
                }
                None => UpdateDeadline::Continue(1),
            })
        });
        store.set_epoch_deadline(1);
        store.data_mut().deadline = Some(Instant::now() + limits.deadline);
        if let Some(start) = info.start_time {
            store.data().clock.set(start);
        }
        let began = Instant::now();
        let instance = role.pre.instantiate(&mut store).map_err(instantiate)?;
        meter.instantiated(began.elapsed());
        let guest = role
            .indices
            .load(&mut store, &instance)
            .map_err(instantiate)?;
        let created = guest
            .workflow_run()
            .call_create(&mut store, info)
            .map_err(|e| classify(e, limits))
            .inspect_err(|f| meter.count_fault(f))?;
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

    /// Granted linear memory, live: what evicting this run would free.
    pub fn memory_gauge(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.store.data().limits.memory_gauge()
    }

    /// Delivers one activation.
    pub fn activate(
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
            .map_err(|e| classify(e, self.limits))
            .inspect_err(|f| self.meter.count_fault(f));
        self.meter.activated(began.elapsed());
        r
    }
}
