//! What a module's guests report as they run: instantiations, time in the
//! guest, interruptions, refused growth, live instances and linear memory.
//!
//! The runtime knows nothing of where the numbers go: a [`ModuleMeter`]
//! forwards them to a [`GuestMetrics`] sink (the host's metrics in
//! `ops::metrics`, or nothing), and keeps the running totals itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which role of a component a store runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The `workflows` export, in a deterministic store per cached run.
    Workflow,
    /// The `activities` export, in a store per attempt.
    Activity,
}

impl Role {
    /// The role's name in metric labels and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Workflow => "workflow",
            Role::Activity => "activity",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one module role's measurements go.
pub trait GuestMetrics: Send + Sync {
    /// An instance was created from the module's `InstancePre`.
    fn instantiated(&self, took: Duration);
    /// A workflow activation returned from the guest.
    fn activated(&self, took: Duration);
    /// A guest call was interrupted at its deadline.
    fn epoch_interrupted(&self);
    /// A store's bound refused the guest: `limit` is `memory`, `table`,
    /// `resources`, or `wait` (a workflow wait that could never end).
    fn limit_hit(&self, limit: &'static str);
    /// Linear memory now held by the module role's live instances.
    fn linear_memory(&self, bytes: u64);
    /// Live instances of the module role now.
    fn instances(&self, live: u64);
}

/// Makes the meter of one role of one module on one task queue.
pub trait Meters: Send + Sync {
    /// The meter for `role` of the module with `digest` on `task_queue`.
    fn module(&self, task_queue: &str, role: Role, digest: &str) -> ModuleMeter;
    /// A component was loaded (from `file`).
    fn component_loaded(&self, _digest: &str, _file: &str) {}
}

/// Meters that record nothing (replays, inspection stores, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMeters;

impl Meters for NoMeters {
    fn module(&self, _task_queue: &str, _role: Role, _digest: &str) -> ModuleMeter {
        ModuleMeter::disabled()
    }
}

struct Discard;

impl GuestMetrics for Discard {
    fn instantiated(&self, _: Duration) {}
    fn activated(&self, _: Duration) {}
    fn epoch_interrupted(&self) {}
    fn limit_hit(&self, _: &'static str) {}
    fn linear_memory(&self, _: u64) {}
    fn instances(&self, _: u64) {}
}

struct MeterState {
    sink: Box<dyn GuestMetrics>,
    memory: AtomicU64,
    live: AtomicU64,
}

/// The meter of one role of one module on one queue.
#[derive(Clone)]
pub struct ModuleMeter(Arc<MeterState>);

impl ModuleMeter {
    /// A meter that reports to `sink`.
    pub fn new(sink: Box<dyn GuestMetrics>) -> ModuleMeter {
        ModuleMeter(Arc::new(MeterState {
            sink,
            memory: AtomicU64::new(0),
            live: AtomicU64::new(0),
        }))
    }

    /// A meter that records nothing.
    pub fn disabled() -> ModuleMeter {
        ModuleMeter::new(Box::new(Discard))
    }

    /// An instance was created.
    pub fn instantiated(&self, took: Duration) {
        self.0.sink.instantiated(took);
    }

    /// A workflow activation returned from the guest.
    pub fn activated(&self, took: Duration) {
        self.0.sink.activated(took);
    }

    /// A guest call was interrupted at its deadline.
    pub fn epoch_interrupted(&self) {
        self.0.sink.epoch_interrupted();
    }

    /// A store's bound refused the guest (see [`GuestMetrics::limit_hit`]).
    pub fn limit_hit(&self, limit: &'static str) {
        self.0.sink.limit_hit(limit);
    }

    pub(crate) fn store_opened(&self) {
        let live = self.0.live.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.sink.instances(live);
    }

    pub(crate) fn store_closed(&self) {
        let live = self
            .0
            .live
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        self.0.sink.instances(live);
    }

    pub(crate) fn memory_changed(&self, delta: i64) {
        let s = &self.0;
        let now = if delta >= 0 {
            s.memory.fetch_add(delta as u64, Ordering::Relaxed) + delta as u64
        } else {
            let d = delta.unsigned_abs();
            s.memory.fetch_sub(d, Ordering::Relaxed).saturating_sub(d)
        };
        s.sink.linear_memory(now);
    }
}

impl std::fmt::Debug for ModuleMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleMeter")
            .field("memory", &self.0.memory.load(Ordering::Relaxed))
            .field("live", &self.0.live.load(Ordering::Relaxed))
            .finish()
    }
}
