//! The one wasmtime `Engine` every store shares, and its epoch ticker.
//!
//! Settings that make workflow code deterministic are engine-wide (NaN
//! canonicalisation, deterministic relaxed SIMD), so the single engine has
//! them for activities too: they cost little there and keep one compiled
//! artifact per component.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use serde::Deserialize;

use super::WasmError;
use super::fault::RunLimits;
use super::threads::WorkflowThreads;

/// How often the epoch advances: the granularity of workflow deadlines and
/// of activity time slices.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Wasm engine settings shared by every task queue (the `[engine]` table).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Where compiled components are cached; `none` disables the cache.
    /// Defaults to `$XDG_CACHE_HOME/polyworker` (or `~/.cache/polyworker`).
    pub cache_dir: Option<String>,
    /// Longest a workflow activation may run in the guest before it is
    /// interrupted and the workflow task fails.
    pub workflow_deadline_ms: u64,
    /// Linear-memory limit of one workflow run's instance.
    pub workflow_memory_mib: u64,
    /// Linear-memory limit of one activity attempt's instance.
    pub activity_memory_mib: u64,
    /// Use wasmtime's pooling allocator (fast instantiation, memory reserved up front).
    pub pooling: bool,
    /// Compile guests with native debug info and without optimisation, so
    /// that `gdb` or `lldb` attached to the host steps through guest source
    /// lines (`polyworker replay --debug` sets it). Slower; off by default.
    pub debug_info: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: None,
            workflow_deadline_ms: 2_000,
            workflow_memory_mib: 64,
            activity_memory_mib: 256,
            pooling: true,
            debug_info: false,
        }
    }
}

impl EngineConfig {
    /// The bounds of one workflow run's calls.
    pub fn run_limits(&self) -> RunLimits {
        RunLimits {
            deadline: Duration::from_millis(self.workflow_deadline_ms),
            memory_bytes: (self.workflow_memory_mib as usize) << 20,
            resources: super::limits::StoreBounds::new(super::Role::Workflow, 0).resources(),
        }
    }

    /// Linear-memory limit of one activity attempt's instance, in bytes.
    pub fn activity_memory_bytes(&self) -> usize {
        (self.activity_memory_mib as usize) << 20
    }
}

/// Why the engine (or a linker on it) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// wasmtime refused the engine settings.
    #[error("cannot configure the wasm engine: {0}")]
    Config(#[source] WasmError),
    /// The compile cache directory cannot be created or used.
    #[error("cannot use compile cache directory {dir}")]
    CacheDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// wasmtime's cache refused the directory.
    #[error("cannot use compile cache directory {dir}: {source}")]
    Cache {
        /// The directory.
        dir: PathBuf,
        /// wasmtime's error.
        source: WasmError,
    },
    /// The epoch thread could not start.
    #[error("cannot start the epoch thread")]
    EpochThread(#[source] std::io::Error),
    /// A role's linker could not be built.
    #[error("cannot build the {role} linker: {source}")]
    Linker {
        /// The role.
        role: super::Role,
        /// wasmtime's error.
        source: WasmError,
    },
}

/// How many instances the pooling allocator must hold at once.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    /// Cached workflow runs plus workflow tasks in flight, over all queues.
    pub workflow_instances: u32,
    /// Activity slots over all queues.
    pub activity_instances: u32,
    /// Workflow-task slots over all queues: how many workflow calls may run
    /// at once, and so how many workflow threads the host may need.
    pub workflow_tasks: u32,
}

/// The shared engine plus the thread that advances its epoch.
pub struct WasmEngine {
    /// The engine every store and component shares.
    pub engine: Engine,
    /// Whether instances come from the pooling allocator: configured, and
    /// its reservation fitted in the address space.
    pub pooling: bool,
    /// The on-disk cache of compiled components, unless disabled.
    pub cache: Option<Cache>,
    /// The threads every workflow call runs on.
    pub threads: WorkflowThreads,
    /// What the pool (if pooling) was sized for.
    pub capacity: Capacity,
    stop: Arc<AtomicBool>,
}

impl Drop for WasmEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn cache_dir(cfg: &EngineConfig) -> Option<PathBuf> {
    match cfg.cache_dir.as_deref() {
        Some("none") => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("polyworker")),
    }
}

impl WasmEngine {
    /// An engine for `capacity` instances at once, with epoch interruption.
    pub fn new(cfg: &EngineConfig, capacity: Capacity) -> Result<WasmEngine, EngineError> {
        Self::with_epochs(cfg, capacity, true)
    }

    /// Like [`WasmEngine::new`]; `epochs: false` compiles guests without
    /// interruption checks. Only for measuring what those checks cost: such
    /// an engine cannot enforce workflow deadlines.
    pub fn with_epochs(
        cfg: &EngineConfig,
        capacity: Capacity,
        epochs: bool,
    ) -> Result<WasmEngine, EngineError> {
        let mut c = Config::new();
        let mut cache_handle = None;
        c.wasm_component_model(true)
            .epoch_interruption(epochs)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .wasm_threads(false)
            .shared_memory(false)
            .max_wasm_stack(1 << 20)
            // A trap's guest frames get file and line where the component
            // carries DWARF line tables (`GuestBacktrace`).
            .wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
        if cfg.debug_info {
            c.debug_info(true)
                .cranelift_opt_level(wasmtime::OptLevel::None);
        }
        if let Some(dir) = cache_dir(cfg) {
            std::fs::create_dir_all(&dir).map_err(|source| EngineError::CacheDir {
                dir: dir.clone(),
                source,
            })?;
            let mut cc = CacheConfig::new();
            cc.with_directory(&dir);
            let cache = Cache::new(cc).map_err(|e| EngineError::Cache {
                dir: dir.clone(),
                source: WasmError(e),
            })?;
            c.cache(Some(cache.clone()));
            cache_handle = Some(cache);
        }
        let total = capacity
            .workflow_instances
            .saturating_add(capacity.activity_instances);
        let max_mib = cfg.workflow_memory_mib.max(cfg.activity_memory_mib);
        let mut pooling = cfg.pooling;
        if pooling {
            let mut p = PoolingAllocationConfig::new();
            p.total_component_instances(total)
                // A Rust or C component has a handful of core instances
                // (main module, adapter, shims); 16 leaves room for others.
                .max_core_instances_per_component(16)
                .total_core_instances(total * 16)
                .total_memories(total * 2)
                .max_memories_per_component(4)
                .total_tables(total * 4)
                .max_tables_per_component(8)
                .table_elements(20_000)
                .total_stacks(total)
                .max_memory_size((max_mib as usize) << 20)
                .max_component_instance_size(1 << 20)
                .max_core_instance_size(1 << 20)
                .max_unused_warm_slots(total.min(100));
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
        }
        // The pool reserves address space for every slot up front (about
        // 4 GiB per linear memory, so that compiled code can skip bounds
        // checks). Ten queues at the default sizes need more than a process
        // has; they get on-demand allocation rather than a host that cannot
        // start.
        let engine = match Engine::new(&c) {
            Err(e) if pooling => {
                tracing::warn!(
                    instances = total,
                    error = %format!("{e:#}"),
                    "cannot reserve a pool for this many instances; allocating them on demand \
                     instead (lower max_cached_workflows or the slot counts to pool them)"
                );
                pooling = false;
                c.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                Engine::new(&c)
            }
            other => other,
        }
        .map_err(|e| EngineError::Config(WasmError(e)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = engine.weak();
        let stop_flag = stop.clone();
        std::thread::Builder::new()
            .name("polyworker-epoch".into())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(EngineError::EpochThread)?;
        Ok(WasmEngine {
            engine,
            pooling,
            cache: cache_handle,
            threads: WorkflowThreads::for_tasks(capacity.workflow_tasks as usize),
            capacity,
            stop,
        })
    }
}

impl WasmEngine {
    /// Compiled artifacts found in and missing from the on-disk cache so
    /// far, as `(hits, misses)`; `(0, 0)` without a cache.
    pub fn cache_stats(&self) -> (usize, usize) {
        self.cache
            .as_ref()
            .map_or((0, 0), |c| (c.cache_hits(), c.cache_misses()))
    }
}

/// Epoch ticks in `d`, at least one.
pub fn ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(instances: u32) -> WasmEngine {
        let cfg = EngineConfig {
            cache_dir: Some("none".into()),
            pooling: true,
            ..EngineConfig::default()
        };
        let capacity = Capacity {
            workflow_instances: instances,
            activity_instances: 0,
            workflow_tasks: 1,
        };
        WasmEngine::new(&cfg, capacity).expect("the engine starts")
    }

    #[test]
    fn a_pool_that_fits_the_address_space_is_used() {
        assert!(engine(64).pooling);
    }

    #[test]
    fn a_pool_too_large_for_the_address_space_falls_back_to_on_demand() {
        // About 160 TiB of linear memory slots: more than x86-64's 128 TiB
        // of user address space.
        assert!(!engine(20_000).pooling);
    }
}
