//! The noisy-neighbour setup shared by the suite (`e2e/noisy_neighbour.rs`)
//! and the benchmark (`benches/noisy_tenant.rs`): tenant A, hostile, at its
//! quotas; tenant B, a steady stream of a small workflow.

use std::time::{Duration, Instant};

use polyworker_host::Config;
use polyworker_host::config::TenantConfig;
use serde_json::{Value, json};

use crate::{Outcome, TENANT_NAMESPACES, Temporal, config, guest, queue, unique};

/// The host's guest memory budget and A's share of it, MiB.
pub const BUDGET_MIB: u64 = 600;
pub const A_SHARE_MIB: u64 = 300;

/// A on `qa` (the hostile and activities fixtures) with its quotas, B on
/// `qb` (the benchmark workflow), in the dev server's tenant namespaces.
pub fn config_for(qa: &str, qb: &str) -> Config {
    let mut cfg = config(Vec::new());
    cfg.capacity.guest_memory_mib = Some(BUDGET_MIB);
    cfg.engine.activity_memory_mib = 96;
    cfg.engine.workflow_deadline_ms = 1000;
    let mut a = TenantConfig::new(
        "a",
        TENANT_NAMESPACES[0],
        vec![queue(qa, vec![guest("hostile"), guest("activities")])],
    );
    a.quotas.memory_mib = Some(A_SHARE_MIB);
    a.quotas.workflow_tasks = Some(4);
    a.quotas.activities = Some(3);
    a.quotas.log_lines_per_second = Some(50.0);
    let b = TenantConfig::new(
        "b",
        TENANT_NAMESPACES[1],
        vec![queue(qb, vec![guest("bench_workflow")])],
    );
    cfg.tenants = vec![a, b];
    cfg
}

/// A's hostile acts, as (workflow type, arguments): memory hogs past its
/// share, looping workflows, blocking sleeps, CPU-bound activities at its
/// slot cap (each `burn_ms` long), memory-eating workflows and activities,
/// a log flood of `log_lines`, and a command aimed at B's queue `qb`.
pub fn hostile_acts(qb: &str, burn_ms: u64, log_lines: u32) -> Vec<(&'static str, Vec<Value>)> {
    let mut acts: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for _ in 0..10 {
        acts.push(("Hog", vec![40.into()]));
    }
    let burn =
        json!({"activity_type": "Burn", "args": [burn_ms], "start_to_close_ms": burn_ms * 3});
    for _ in 0..3 {
        acts.push(("InfiniteLoop", vec![]));
        acts.push(("CallActivity", vec![burn.clone()]));
    }
    for _ in 0..2 {
        acts.push(("StdSleep", vec![]));
        acts.push(("MemoryBomb", vec![]));
        acts.push((
            "CallActivity",
            vec![json!({"activity_type": "Gorge", "max_attempts": 2})],
        ));
    }
    acts.push(("LogFlood", vec![log_lines.into()]));
    acts.push(("CrossQueue", vec![qb.into()]));
    acts
}

/// Starts A's acts on `qa`; returns (type, workflow id) of each.
pub async fn start_hostile(
    a: &Temporal,
    qa: &str,
    acts: Vec<(&'static str, Vec<Value>)>,
) -> Vec<(&'static str, String)> {
    let mut started = Vec::new();
    for (wf, args) in acts {
        let id = unique(wf);
        a.start(qa, wf, &id, &args).await;
        started.push((wf, id));
    }
    started
}

/// B's stream: `runs` `BenchWorkflow`s on `qb`, `at_once` at a time; each
/// one's start-to-close latency by the client's clock, sorted. Panics if
/// any fails; `check` is called with each completed workflow's id.
pub async fn stream<F, Fut>(
    b: &Temporal,
    qb: &str,
    runs: usize,
    at_once: usize,
    check: F,
) -> Vec<Duration>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut out = Vec::new();
    for _ in 0..runs / at_once {
        let mut started = Vec::new();
        for _ in 0..at_once {
            let id = unique("b");
            b.start(qb, "BenchWorkflow", &id, &[json!({"steps": 0})])
                .await;
            started.push((id, Instant::now()));
        }
        for (id, at) in started {
            match b.outcome(&id, Duration::from_secs(120)).await {
                Outcome::Completed(v) => assert_eq!(v["steps"], 2, "{id}"),
                other => panic!("B's {id} failed: {other:?}"),
            }
            out.push(at.elapsed());
            check(id).await;
        }
    }
    out.sort();
    out
}

/// The `p`th percentile of sorted `v`.
pub fn percentile(v: &[Duration], p: usize) -> Duration {
    v[(v.len() * p).div_ceil(100) - 1]
}
