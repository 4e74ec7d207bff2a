//! The noisy-neighbour benchmark: tenant B's latency alone and beside a
//! hostile tenant A at its quotas (the load of the `noisy_neighbour` suite:
//! memory hogs past its share, looping workflows, blocking sleeps,
//! CPU-bound and memory-eating activities, a log flood, commands aimed at
//! B), against a dev server the harness starts.
//!
//! `cargo bench -p polyworker-tests --bench noisy_tenant --profile dev`
//!
//! B runs `BenchWorkflow` (two activities and a 10 ms timer), three at a
//! time, 60 alone and 60 beside A; the figures are p50 and p99 of start to
//! close, by the client's clock.

use std::time::{Duration, Instant};

use polyworker_host::config::TenantConfig;
use polyworker_tests::{
    Outcome, TENANT_NAMESPACES, Temporal, TestHost, config, guest, queue, unique,
};
use serde_json::{Value, json};

const RUNS: usize = 60;
const AT_ONCE: usize = 3;

async fn stream(b: &Temporal, task_queue: &str) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..RUNS / AT_ONCE {
        let mut started = Vec::new();
        for _ in 0..AT_ONCE {
            let id = unique("b");
            b.start(task_queue, "BenchWorkflow", &id, &[json!({"steps": 0})])
                .await;
            started.push((id, Instant::now()));
        }
        for (id, at) in started {
            match b.outcome(&id, Duration::from_secs(120)).await {
                Outcome::Completed(_) => out.push(at.elapsed()),
                other => panic!("B's {id}: {other:?}"),
            }
        }
    }
    out.sort();
    out
}

fn pct(v: &[Duration], p: usize) -> Duration {
    v[(v.len() * p).div_ceil(100) - 1]
}

async fn hostile_load(a: &Temporal, qa: &str, qb: &str) {
    let mut starts: Vec<(&str, Vec<Value>)> = Vec::new();
    for _ in 0..10 {
        starts.push(("Hog", vec![40.into()]));
    }
    for _ in 0..3 {
        starts.push(("InfiniteLoop", vec![]));
        starts.push((
            "CallActivity",
            vec![json!({"activity_type": "Burn", "args": [60000], "start_to_close_ms": 120000})],
        ));
    }
    for _ in 0..2 {
        starts.push(("StdSleep", vec![]));
        starts.push(("MemoryBomb", vec![]));
        starts.push((
            "CallActivity",
            vec![json!({"activity_type": "Gorge", "max_attempts": 100})],
        ));
    }
    starts.push(("LogFlood", vec![100_000.into()]));
    starts.push(("CrossQueue", vec![qb.into()]));
    for (wf, args) in starts {
        a.start(qa, wf, &unique(wf), &args).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (qa, qb) = (unique("noisy-a"), unique("calm-b"));
    let mut cfg = config(Vec::new());
    cfg.capacity.guest_memory_mib = Some(600);
    cfg.engine.activity_memory_mib = 96;
    cfg.engine.workflow_deadline_ms = 1000;
    let mut a = TenantConfig::new(
        "a",
        TENANT_NAMESPACES[0],
        vec![queue(&qa, vec![guest("hostile"), guest("activities")])],
    );
    a.quotas.memory_mib = Some(300);
    a.quotas.workflow_tasks = Some(4);
    a.quotas.activities = Some(3);
    a.quotas.log_lines_per_second = Some(50.0);
    let b = TenantConfig::new(
        "b",
        TENANT_NAMESPACES[1],
        vec![queue(&qb, vec![guest("bench_workflow")])],
    );
    cfg.tenants = vec![a, b];
    let host = TestHost::start(cfg).await;
    let client = Temporal::connect().await;
    let (ta, tb) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );
    stream(&tb, &qb).await; // warm
    let solo = stream(&tb, &qb).await;
    hostile_load(&ta, &qa, &qb).await;
    let noisy = stream(&tb, &qb).await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| B's BenchWorkflow ({RUNS} runs, {AT_ONCE} at a time) | p50 | p99 |");
    println!("|---|---|---|");
    println!(
        "| alone | {:.0} ms | {:.0} ms |",
        ms(pct(&solo, 50)),
        ms(pct(&solo, 99))
    );
    println!(
        "| beside hostile A | {:.0} ms | {:.0} ms |",
        ms(pct(&noisy, 50)),
        ms(pct(&noisy, 99))
    );
    println!(
        "| ratio | {:.2}× | {:.2}× |",
        ms(pct(&noisy, 50)) / ms(pct(&solo, 50)),
        ms(pct(&noisy, 99)) / ms(pct(&solo, 99))
    );
    println!(
        "peak RSS of the bench process: {} MiB (guest budget 600 MiB)",
        polyworker_tests::peak_rss_kib() / 1024
    );
    // A's load never ends by itself: the process (and the host) end here.
    drop(host);
}
