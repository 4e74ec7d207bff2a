//! What the host's benchmarks share: guest paths, engines, and the records
//! the host hands a workflow (info, activations) without a Temporal server.

#![allow(dead_code)] // Each bench uses its own subset.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use polyworker_host::config::EngineConfig;
use polyworker_host::runtime::ModuleMeter;
use polyworker_host::runtime::bindings::polyworker::worker::types::Payload;
use polyworker_host::runtime::bindings::polyworker::worker::workflow_types::{
    Activation, Job, WorkflowInfo,
};
use polyworker_host::runtime::log::LogTags;
use polyworker_host::runtime::{Capacity, WasmEngine};
use polyworker_host::runtime::{Loader, Module};
use polyworker_host::runtime::{RunLimits, run::RunInstance};

/// The limits polyworker gives a workflow run by default.
pub const LIMITS: RunLimits = RunLimits {
    deadline: Duration::from_secs(10),
    memory_bytes: 256 << 20,
    resources: 1024,
};

/// A guest component built by `scripts/build-guests.sh`, by its path under
/// `target/guests`; `None` (with a note on stderr) when it is not built.
pub fn guest(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests")
        .join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("{} is missing; run scripts/build-guests.sh", path.display());
        None
    }
}

/// The Rust benchmark guest (`tests/fixtures/bench-workflow`).
pub fn bench_guest() -> PathBuf {
    guest("wasm32-wasip2/release/bench_workflow.wasm").expect("the bench-workflow fixture")
}

pub fn json(data: impl Into<Vec<u8>>) -> Payload {
    Payload {
        metadata: vec![("encoding".into(), b"json/plain".to_vec())],
        data: data.into(),
    }
}

pub fn info(workflow_type: &str, run: usize, arguments: Vec<Payload>) -> WorkflowInfo {
    WorkflowInfo {
        workflow_type: workflow_type.into(),
        workflow_id: format!("bench-{run}"),
        run_id: format!("bench-run-{run}"),
        namespace: "default".into(),
        task_queue: "bench".into(),
        arguments,
        headers: vec![],
        randomness_seed: run as u64 + 1,
        attempt: 1,
        first_execution_run_id: format!("bench-run-{run}"),
        continued_from_run_id: None,
        parent: None,
        cron_schedule: None,
        workflow_execution_timeout: None,
        workflow_run_timeout: None,
        workflow_task_timeout: None,
        start_time: Some(1_700_000_000_000_000_000),
        last_completion_result: vec![],
    }
}

pub fn activation(jobs: Vec<Job>) -> Activation {
    Activation {
        timestamp: 1_700_000_000_000_000_000,
        is_replaying: false,
        history_length: 3,
        history_size_bytes: 0,
        continue_as_new_suggested: false,
        jobs,
    }
}

pub fn tags(workflow_type: &str) -> LogTags {
    LogTags {
        task_queue: "bench".into(),
        workflow_type: workflow_type.into(),
        ..LogTags::default()
    }
}

pub fn meter() -> ModuleMeter {
    ModuleMeter::disabled()
}

/// An engine as polyworker configures it, with room for `instances` runs
/// and its compile cache in `cache`.
pub fn engine(cache: &Path, pooling: bool, instances: u32) -> WasmEngine {
    let cfg = EngineConfig {
        cache_dir: Some(cache.display().to_string()),
        pooling,
        workflow_memory_mib: 256,
        ..EngineConfig::default()
    };
    let capacity = Capacity {
        workflow_instances: instances,
        activity_instances: 4,
        workflow_tasks: 2,
    };
    WasmEngine::new(&cfg, capacity).expect("engine")
}

pub async fn load(e: &WasmEngine, path: &Path) -> Arc<Module> {
    Loader::new(&e.engine)
        .expect("linkers")
        .load(path)
        .await
        .expect("the component loads")
}

/// A new run of `workflow_type`, created but not yet activated. Like every
/// workflow call it is synchronous: call it outside the Tokio runtime.
pub fn run(m: &Arc<Module>, workflow_type: &str, n: usize, args: Vec<Payload>) -> RunInstance {
    run_charged(m, workflow_type, n, args, None)
}

/// As [`run`], with its memory charged to `account` (the budget's admission
/// checks on).
pub fn run_charged(
    m: &Arc<Module>,
    workflow_type: &str,
    n: usize,
    args: Vec<Payload>,
    account: Option<Arc<polyworker_host::runtime::Account>>,
) -> RunInstance {
    RunInstance::create(
        m.clone(),
        &info(workflow_type, n, args),
        tags(workflow_type),
        LIMITS,
        meter(),
        account,
    )
    .expect("instantiates")
    .expect("creates the run")
}

/// A scratch directory for a bench's compile cache, unique per process.
pub fn cache_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("polyworker-bench-{name}-{}", std::process::id()))
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
