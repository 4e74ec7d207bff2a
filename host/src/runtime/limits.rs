//! Every bound a store has, in one place: linear memory, instances, tables,
//! memories and table elements per store, and how a refused growth ends.
//!
//! A refused growth traps with a [`LimitExceeded`] (rather than returning -1
//! from `memory.grow`, which guest code rarely checks), so the trap is
//! classified by its type in [`super::fault`], not by its text.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use super::meter::{ModuleMeter, Role};

/// Instances, tables and memories one store may create: a Rust or C
/// component has a handful, a componentized interpreter a few more.
const INSTANCES: usize = 32;
const TABLES: usize = 32;
const MEMORIES: usize = 8;
/// Elements per table in a workflow store; activity stores are bounded by
/// their memory limit alone.
const WORKFLOW_TABLE_ELEMENTS: usize = 100_000;

/// A store's growth was refused: the trap a guest sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// A linear memory would have grown past `limit` bytes.
    #[error(
        "memory limit exceeded: the guest tried to grow its linear memory past the {} MiB limit",
        .limit >> 20
    )]
    Memory {
        /// The store's per-memory limit in bytes.
        limit: usize,
    },
    /// A table would have grown past its limit.
    #[error("table limit exceeded")]
    Table,
}

/// The bounds of one store.
#[derive(Debug, Clone, Copy)]
pub struct StoreBounds {
    /// Bytes of linear memory per memory.
    pub memory_bytes: usize,
    /// Trap on a refused growth (the default); `false` lets `memory.grow`
    /// return -1 instead.
    pub trap_on_refusal: bool,
    role: Role,
}

impl StoreBounds {
    /// The bounds of a store running `role` with `memory_bytes` per memory.
    pub fn new(role: Role, memory_bytes: usize) -> StoreBounds {
        StoreBounds {
            memory_bytes,
            trap_on_refusal: true,
            role,
        }
    }

    fn store_limits(&self) -> StoreLimits {
        let mut b = StoreLimitsBuilder::new()
            .memory_size(self.memory_bytes)
            .instances(INSTANCES)
            .tables(TABLES)
            .memories(MEMORIES)
            // The refusal is turned into a typed trap below.
            .trap_on_grow_failure(false);
        if self.role == Role::Workflow {
            b = b.table_elements(WORKFLOW_TABLE_ELEMENTS);
        }
        b.build()
    }

    /// The limiter of a new store, counted by `meter` as a live instance
    /// until it drops.
    pub fn limiter(self, meter: ModuleMeter) -> StoreLimiter {
        meter.store_opened();
        StoreLimiter {
            limits: self.store_limits(),
            bounds: self,
            meter,
            bytes: 0,
        }
    }
}

/// A store's `ResourceLimiter`: applies its [`StoreBounds`] and reports
/// linear memory and refused growth to the module's meter.
pub struct StoreLimiter {
    limits: StoreLimits,
    bounds: StoreBounds,
    meter: ModuleMeter,
    bytes: usize,
}

impl StoreLimiter {
    /// Linear memory this store holds now.
    pub fn memory_bytes(&self) -> usize {
        self.bytes
    }

    fn refused(&self, e: LimitExceeded) -> wasmtime::Result<bool> {
        self.meter.limit_hit();
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
        // The limit counts each memory alone; the gauge sums the store's
        // memories.
        if self.limits.memory_growing(current, desired, maximum)? {
            let grown = desired.saturating_sub(current);
            self.bytes += grown;
            self.meter.memory_changed(grown as i64);
            Ok(true)
        } else {
            self.refused(LimitExceeded::Memory {
                limit: self.bounds.memory_bytes,
            })
        }
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
            self.refused(LimitExceeded::Table)
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
        self.meter.memory_changed(-(self.bytes as i64));
        self.meter.store_closed();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
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
        fn limit_hit(&self) {
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
}
