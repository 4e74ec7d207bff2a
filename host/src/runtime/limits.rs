//! Every bound a store has, in one place: linear memory (all of a store's
//! memories together), instances, tables, memories, table elements and
//! host-side resources per store, and how a refused growth ends.
//!
//! A refused growth traps with a [`LimitExceeded`] (rather than returning -1
//! from `memory.grow`, which guest code rarely checks), so the trap is
//! classified by its type in [`super::fault`], not by its text.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use super::budget::Account;
use super::meter::{ModuleMeter, Role};

/// Instances, tables and memories one store may create: a Rust or C
/// component has a handful, a componentized interpreter a few more.
const INSTANCES: usize = 32;
const TABLES: usize = 32;
const MEMORIES: usize = 8;
/// Elements per table: a large interpreter's function table has a few
/// thousand.
const TABLE_ELEMENTS: usize = 100_000;
/// Host-side resources (pollables, streams, fields, HTTP handles) a store
/// may hold at once: a workflow needs a handful per activation, an activity
/// a few per open request.
const WORKFLOW_RESOURCES: usize = 1_024;
const ACTIVITY_RESOURCES: usize = 4_096;

/// A store's growth was refused: the trap a guest sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// Linear memory would have grown past `limit` bytes.
    #[error(
        "memory limit exceeded: the guest tried to grow its linear memory past the {} MiB limit \
         (all of its memories together)",
        .limit >> 20
    )]
    Memory {
        /// The store's limit in bytes.
        limit: usize,
    },
    /// A table would have grown past its limit.
    #[error("table limit exceeded: a table would grow past {limit} elements")]
    Table {
        /// Elements per table.
        limit: usize,
    },
    /// The store's resource table is full.
    #[error(
        "resource limit exceeded: the guest holds {limit} host resources (pollables, streams, \
         HTTP handles) at once and asked for more; drop the ones it no longer needs"
    )]
    Resources {
        /// Resources per store.
        limit: usize,
    },
    /// The tenant's guests together would hold more than its share of the
    /// host's guest memory, even after its idle cached runs were evicted.
    #[error(
        "tenant memory budget exceeded: this tenant's guests together hold their {} MiB share of \
         the host's guest memory and no idle run could be evicted in time; the task is retried",
        .limit >> 20
    )]
    TenantBudget {
        /// The tenant's share in bytes.
        limit: usize,
    },
    /// All guests together would hold more than the host's budget, even
    /// after idle cached runs were evicted.
    #[error(
        "host memory budget exceeded: the host's guests together hold its {} MiB guest memory \
         budget and no idle run could be evicted in time; the task is retried",
        .limit >> 20
    )]
    HostBudget {
        /// The host's budget in bytes.
        limit: usize,
    },
}

impl LimitExceeded {
    /// The limit's name in metrics.
    pub fn name(&self) -> &'static str {
        match self {
            LimitExceeded::Memory { .. } => "memory",
            LimitExceeded::Table { .. } => "table",
            LimitExceeded::Resources { .. } => "resources",
            LimitExceeded::TenantBudget { .. } => "tenant_budget",
            LimitExceeded::HostBudget { .. } => "host_budget",
        }
    }
}

/// The bounds of one store.
#[derive(Debug, Clone, Copy)]
pub struct StoreBounds {
    /// Bytes of linear memory, all of the store's memories together.
    pub memory_bytes: usize,
    /// Trap on a refused growth (the default); `false` lets `memory.grow`
    /// return -1 instead.
    pub trap_on_refusal: bool,
    role: Role,
}

impl StoreBounds {
    /// The bounds of a store running `role` with `memory_bytes` of linear
    /// memory in all.
    pub fn new(role: Role, memory_bytes: usize) -> StoreBounds {
        StoreBounds {
            memory_bytes,
            trap_on_refusal: true,
            role,
        }
    }

    fn store_limits(&self) -> StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size(self.memory_bytes)
            .instances(INSTANCES)
            .tables(TABLES)
            .memories(MEMORIES)
            .table_elements(TABLE_ELEMENTS)
            // The refusal is turned into a typed trap below.
            .trap_on_grow_failure(false)
            .build()
    }

    /// Host-side resources a store of this role may hold at once.
    pub fn resources(&self) -> usize {
        match self.role {
            Role::Workflow => WORKFLOW_RESOURCES,
            Role::Activity => ACTIVITY_RESOURCES,
        }
    }

    /// An empty resource table holding at most [`StoreBounds::resources`].
    pub fn resource_table(&self) -> ResourceTable {
        let mut t = ResourceTable::new();
        t.set_max_capacity(self.resources());
        t
    }

    /// The limiter of a new store, counted by `meter` as a live instance
    /// until it drops.
    pub fn limiter(self, meter: ModuleMeter) -> StoreLimiter {
        meter.store_opened();
        StoreLimiter {
            limits: self.store_limits(),
            bounds: self,
            meter,
            bytes: Arc::default(),
            account: None,
            may_wait: false,
        }
    }
}

/// A store's `ResourceLimiter`: applies its [`StoreBounds`] and reports
/// linear memory and refused growth to the module's meter.
pub struct StoreLimiter {
    limits: StoreLimits,
    bounds: StoreBounds,
    meter: ModuleMeter,
    /// Shared, so a cache of idle runs can tell what evicting one frees.
    bytes: Arc<AtomicUsize>,
    account: Option<Arc<Account>>,
    may_wait: bool,
}

impl StoreLimiter {
    /// Charges this store's memory to `account` (its tenant's share of the
    /// host's budget). `may_wait`: a growth over budget may wait briefly for
    /// evicted runs' memory (a workflow thread may; the async runtime of
    /// activities may not).
    pub fn charged_to(mut self, account: Option<Arc<Account>>, may_wait: bool) -> Self {
        self.account = account;
        self.may_wait = may_wait;
        self
    }

    /// Linear memory this store holds now.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A live view of [`StoreLimiter::memory_bytes`].
    pub fn memory_gauge(&self) -> Arc<AtomicUsize> {
        self.bytes.clone()
    }

    /// The bounds it applies.
    pub fn bounds(&self) -> &StoreBounds {
        &self.bounds
    }

    /// Bytes the store may still add to its linear memory.
    pub fn memory_room(&self) -> usize {
        self.bounds.memory_bytes.saturating_sub(self.memory_bytes())
    }

    fn refused(&self, e: LimitExceeded) -> wasmtime::Result<bool> {
        self.meter.limit_hit(e.name());
        if self.bounds.trap_on_refusal {
            Err(wasmtime::Error::new(e))
        } else {
            Ok(false)
        }
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The limit is on the sum of the store's memories: a component
        // with eight memories gets no more than one with one.
        let grown = desired.saturating_sub(current);
        if grown > self.memory_room() || !self.limits.memory_growing(current, desired, maximum)? {
            return self.refused(LimitExceeded::Memory {
                limit: self.bounds.memory_bytes,
            });
        }
        if let Some(account) = &self.account
            && let Err(e) = account.charge(grown, self.may_wait)
        {
            return self.refused(e);
        }
        self.bytes.fetch_add(grown, Ordering::Relaxed);
        self.meter.memory_changed(grown as i64);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self.limits.table_growing(current, desired, maximum)? {
            Ok(true)
        } else {
            self.refused(LimitExceeded::Table {
                limit: TABLE_ELEMENTS,
            })
        }
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }
    fn tables(&self) -> usize {
        self.limits.tables()
    }
    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl Drop for StoreLimiter {
    fn drop(&mut self) {
        let bytes = self.memory_bytes();
        if let Some(a) = &self.account {
            a.release(bytes);
        }
        self.meter.memory_changed(-(bytes as i64));
        self.meter.store_closed();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use super::*;
    use crate::runtime::meter::GuestMetrics;

    #[derive(Default)]
    struct Seen {
        memory: AtomicU64,
        live: AtomicU64,
        hits: AtomicU64,
    }

    struct Sink(Arc<Seen>);

    impl GuestMetrics for Sink {
        fn instantiated(&self, _: Duration) {}
        fn activated(&self, _: Duration) {}
        fn epoch_interrupted(&self) {}
        fn limit_hit(&self, _: &'static str) {
            self.0.hits.fetch_add(1, Ordering::Relaxed);
        }
        fn linear_memory(&self, bytes: u64) {
            self.0.memory.store(bytes, Ordering::Relaxed);
        }
        fn instances(&self, live: u64) {
            self.0.live.store(live, Ordering::Relaxed);
        }
    }

    #[test]
    fn limits_track_memory_and_refusals_and_release_on_drop() {
        let seen = Arc::new(Seen::default());
        let meter = ModuleMeter::new(Box::new(Sink(seen.clone())));
        let mut bounds = StoreBounds::new(Role::Workflow, 1 << 20);
        bounds.trap_on_refusal = false;
        let mut l = bounds.limiter(meter);
        assert!(l.memory_growing(0, 64 << 10, None).unwrap());
        assert!(l.memory_growing(64 << 10, 512 << 10, None).unwrap());
        assert_eq!(l.memory_bytes(), 512 << 10);
        assert_eq!(seen.memory.load(Ordering::Relaxed), 512 << 10);
        assert!(!l.memory_growing(512 << 10, 2 << 20, None).unwrap());
        assert_eq!(l.memory_bytes(), 512 << 10, "a refused growth adds nothing");
        assert_eq!(seen.hits.load(Ordering::Relaxed), 1);
        assert_eq!(seen.live.load(Ordering::Relaxed), 1);
        drop(l);
        assert_eq!(seen.memory.load(Ordering::Relaxed), 0);
        assert_eq!(seen.live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_refusal_traps_with_a_typed_error() {
        let mut l = StoreBounds::new(Role::Activity, 1 << 20).limiter(ModuleMeter::disabled());
        let e = l.memory_growing(0, 2 << 20, None).unwrap_err();
        assert_eq!(
            e.downcast_ref::<LimitExceeded>(),
            Some(&LimitExceeded::Memory { limit: 1 << 20 })
        );
    }

    /// A core module with `n` memories of `pages` 64 KiB pages each.
    fn memories(n: u8, pages: u8) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([5, 1 + 2 * n, n]);
        for _ in 0..n {
            m.extend([0, pages]);
        }
        m
    }

    fn instantiate(bounds: StoreBounds, module: &[u8]) -> wasmtime::Result<()> {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, module)?;
        let mut store = wasmtime::Store::new(&engine, bounds.limiter(ModuleMeter::disabled()));
        store.limiter(|l| l);
        wasmtime::Instance::new(&mut store, &module, &[]).map(drop)
    }

    #[test]
    fn the_memory_limit_counts_all_of_a_stores_memories() {
        let bounds = StoreBounds::new(Role::Workflow, 1 << 20);
        instantiate(bounds, &memories(3, 5)).expect("960 KiB in three memories fits 1 MiB");
        let e = instantiate(bounds, &memories(4, 5)).expect_err("1280 KiB in four does not");
        assert_eq!(
            e.downcast_ref::<LimitExceeded>(),
            Some(&LimitExceeded::Memory { limit: 1 << 20 }),
            "{e:?}"
        );
    }

    #[test]
    fn activity_stores_bound_table_elements_and_resources_too() {
        let mut l = StoreBounds::new(Role::Activity, 1 << 20).limiter(ModuleMeter::disabled());
        let e = l.table_growing(0, TABLE_ELEMENTS + 1, None).unwrap_err();
        assert!(matches!(
            e.downcast_ref::<LimitExceeded>(),
            Some(LimitExceeded::Table { .. })
        ));
        for role in [Role::Workflow, Role::Activity] {
            let bounds = StoreBounds::new(role, 1 << 20);
            let mut t = bounds.resource_table();
            for _ in 0..bounds.resources() {
                t.push(()).unwrap();
            }
            assert!(t.push(()).is_err(), "{role}: one past the limit is refused");
        }
    }
}
