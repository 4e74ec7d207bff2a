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

use crate::config::EngineConfig;

/// How often the epoch advances: the granularity of workflow deadlines and
/// of activity time slices.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot configure the wasm engine: {0}")]
    Config(String),
    #[error("cannot use compile cache directory {dir}: {message}")]
    Cache { dir: PathBuf, message: String },
}

/// How many instances the pooling allocator must hold at once.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    /// Cached workflow runs plus workflow tasks in flight, over all queues.
    pub workflow_instances: u32,
    /// Activity slots over all queues.
    pub activity_instances: u32,
}

/// The shared engine plus the thread that advances its epoch.
pub struct WasmEngine {
    pub engine: Engine,
    /// The on-disk cache of compiled components, unless disabled.
    pub cache: Option<Cache>,
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
            .max_wasm_stack(1 << 20);
        if let Some(dir) = cache_dir(cfg) {
            std::fs::create_dir_all(&dir).map_err(|e| EngineError::Cache {
                dir: dir.clone(),
                message: e.to_string(),
            })?;
            let mut cc = CacheConfig::new();
            cc.with_directory(&dir);
            let cache = Cache::new(cc).map_err(|e| EngineError::Cache {
                dir: dir.clone(),
                message: format!("{e:?}"),
            })?;
            c.cache(Some(cache.clone()));
            cache_handle = Some(cache);
        }
        if cfg.pooling {
            let total = capacity.workflow_instances + capacity.activity_instances;
            let max_mib = cfg.workflow_memory_mib.max(cfg.activity_memory_mib);
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
        let engine = Engine::new(&c).map_err(|e| EngineError::Config(format!("{e:?}")))?;
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
            .map_err(|e| EngineError::Config(format!("cannot start the epoch thread: {e}")))?;
        Ok(WasmEngine {
            engine,
            cache: cache_handle,
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
