//! What epoch interruption costs a CPU-bound workflow.
//!
//! Runs the `Spin` workflow of the `hostile` test fixture (a xorshift loop)
//! in one activation, on an engine with epoch interruption (as polyworker
//! runs workflows) and on one without, alternating, and prints the medians.
//!
//!     scripts/build-guests.sh
//!     cargo bench -p polyworker-host --bench epoch_overhead --profile dev
//!
//! The guest code is compiled by Cranelift at its own optimisation level
//! whatever the host's profile, so the dev profile measures the same thing.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use polyworker_host::config::EngineConfig;
use polyworker_host::runtime::bindings::polyworker::worker::workflow_types::WorkflowInfo;
use polyworker_host::runtime::{Capacity, WasmEngine};
use polyworker_host::runtime::{Loader, Module};
use polyworker_host::runtime::{RunLimits, run::RunInstance};

const ITERATIONS: u64 = 300_000_000;
const ROUNDS: usize = 5;

fn info(iterations: u64) -> WorkflowInfo {
    support::info("Spin", 0, vec![support::json(iterations.to_string())])
}

async fn load(epochs: bool, path: &Path) -> (WasmEngine, Arc<Module>) {
    let cfg = EngineConfig {
        cache_dir: Some("none".into()),
        pooling: false,
        ..EngineConfig::default()
    };
    let cap = Capacity {
        workflow_instances: 4,
        activity_instances: 1,
        workflow_tasks: 2,
    };
    let engine = WasmEngine::with_epochs(&cfg, cap, epochs).expect("engine");
    let loader = Loader::new(&engine.engine).expect("linkers");
    let module = loader.load(path).await.expect("load the hostile fixture");
    (engine, module)
}

fn once(module: &Arc<Module>) -> Duration {
    let limits = RunLimits {
        deadline: Duration::from_secs(60),
        memory_bytes: 64 << 20,
        resources: 1024,
    };
    let mut run = RunInstance::create(
        module.clone(),
        &info(ITERATIONS),
        support::tags("Spin"),
        limits,
        support::meter(),
        None,
    )
    .expect("instantiate")
    .expect("create");
    let activation = support::activation(vec![]);
    let started = Instant::now();
    let commands = run
        .activate(&activation, None)
        .expect("no trap")
        .expect("no failure");
    let took = started.elapsed();
    assert_eq!(
        commands.len(),
        1,
        "the workflow completes in one activation"
    );
    took
}

fn main() {
    let path = support::guest("wasm32-wasip2/release/hostile.wasm").expect("the hostile fixture");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_e1, with) = rt.block_on(load(true, &path));
    let (_e2, without) = rt.block_on(load(false, &path));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(once(&with));
        b.push(once(&without));
    }
    let (a, b) = (support::median(a), support::median(b));
    println!("Spin({ITERATIONS}) in one activation, median of {ROUNDS} alternating rounds:");
    println!("  epoch interruption on : {a:?}");
    println!("  epoch interruption off: {b:?}");
    println!(
        "  overhead: {:+.1}%",
        (a.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0
    );
}
