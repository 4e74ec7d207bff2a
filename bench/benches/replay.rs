//! Replay speed in history events per second: polyworker's replayer (core's
//! replay worker driving the Rust guest `tests/fixtures/bench-workflow`)
//! against the native Rust SDK's `WorkflowReplayer`, on the same histories
//! of the same `TimerLoop` workflow:
//!
//! - one history of 2,000 timers (10,005 events);
//! - 20 histories of 100 timers (10,100 events in all).
//!
//! ```text
//! scripts/build-guests.sh
//! cargo bench -p polyworker-bench --bench replay
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyworker_bench::histories::timer_loops;
use polyworker_host::config::EngineConfig;
use polyworker_host::temporal::replay::{ReplayInput, replay_file};
use temporalio_client::WorkflowHistory;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// The native twin of the guest's `TimerLoop`.
#[workflow]
#[derive(Default)]
pub struct TimerLoop;

#[workflow_methods]
impl TimerLoop {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        for _ in 0..n {
            ctx.timer(Duration::from_secs(1)).await;
        }
        Ok(n)
    }
}

fn guest() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/bench_workflow.wasm");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/build-guests.sh",
        p.display()
    );
    p
}

fn events(inputs: &[ReplayInput]) -> u64 {
    inputs.iter().map(|i| i.history.events.len() as u64).sum()
}

fn replays(c: &mut Criterion) {
    // Both replay as their CLIs would: on a multi-threaded runtime, beside
    // core's own workflow thread.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cache = std::env::temp_dir().join(format!("polyworker-replay-{}", std::process::id()));
    let cfg = EngineConfig {
        cache_dir: Some(cache.display().to_string()),
        ..EngineConfig::default()
    };
    let path = guest();
    let polyworker = |inputs: &[ReplayInput]| {
        let reports = rt
            .block_on(replay_file(&path, &cfg, inputs.to_vec(), None))
            .expect("the replay runs");
        assert_eq!(reports.len(), inputs.len());
        for r in &reports {
            assert!(r.failure.is_none(), "{}: {:?}", r.source, r.failure);
        }
    };
    let native_replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<TimerLoop>()
            .expect("register TimerLoop")
            .build(),
    )
    .expect("replayer");
    let native = |inputs: &[ReplayInput]| {
        let histories: Vec<WorkflowHistory> = inputs
            .iter()
            .map(|i| WorkflowHistory::from(i.history.clone()))
            .collect();
        let results = rt
            .block_on(native_replayer.replay_workflows(histories))
            .expect("the native replay runs");
        assert_eq!(results.len(), inputs.len());
        for r in &results {
            assert!(r.replay_failure.is_none(), "{:?}", r.replay_failure);
        }
    };

    let sets = [
        ("1 history of 2,000 timers", timer_loops(1, 2_000)),
        ("20 histories of 100 timers", timer_loops(20, 100)),
    ];
    // Once each outside the timing: fills the compile cache, and checks
    // that both replay every history cleanly.
    for (_, inputs) in &sets {
        polyworker(inputs);
        native(inputs);
    }
    let mut g = c.benchmark_group("replay");
    g.sample_size(10).measurement_time(Duration::from_secs(12));
    for (label, inputs) in &sets {
        let n = events(inputs);
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("polyworker: {label} ({n} events)"), |b| {
            b.iter(|| polyworker(inputs))
        });
        g.bench_function(format!("native Rust SDK: {label} ({n} events)"), |b| {
            b.iter(|| native(inputs))
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&cache);
}

criterion_group!(benches, replays);
criterion_main!(benches);
