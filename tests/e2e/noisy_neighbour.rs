//! The noisy-neighbour suite: tenant A does everything hostile at once, at
//! its quotas, while tenant B runs a steady stream of a small workflow (two
//! activities and a timer). B sees no failure and no starvation, the host
//! stays up within its memory budget, every hostile act of A's is refused
//! or confined to A and counted in A's metrics, and A recovers once its
//! load stops.

use std::time::{Duration, Instant};

use polyworker_host::config::TenantConfig;
use polyworker_tests::{
    Outcome, TENANT_NAMESPACES, Temporal, TestHost, config, eventually, free_address, guest,
    http_get, peak_rss_kib, queue, unique,
};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const WITHIN: Duration = Duration::from_secs(120);
/// B's stream: this many workflows, this many at a time.
const STREAM: usize = 24;
const AT_ONCE: usize = 3;
const BUDGET_MIB: u64 = 600;
/// What the test process holds beyond guest memory: the debug-built host
/// (core, wasmtime, compiled components), the client and the harness.
const OVERHEAD_MIB: u64 = 700;

/// B's stream of `BenchWorkflow`s, `AT_ONCE` at a time; each one's latency
/// from start to close, and whether any of its workflow tasks failed.
async fn stream(b: &Temporal, queue: &str) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for wave in 0..STREAM / AT_ONCE {
        let mut started = Vec::new();
        for i in 0..AT_ONCE {
            let id = unique(&format!("b-{wave}-{i}"));
            b.start(queue, "BenchWorkflow", &id, &[json!({"steps": 0})])
                .await;
            started.push((id, Instant::now()));
        }
        for (id, at) in started {
            match b.outcome(&id, WITHIN).await {
                Outcome::Completed(v) => assert_eq!(v["steps"], 2, "{id}"),
                other => panic!("B's {id} failed: {other:?}"),
            }
            latencies.push(at.elapsed());
            let failed_tasks = b
                .history(&id)
                .await
                .into_iter()
                .filter(|e| {
                    matches!(
                        e.attributes,
                        Some(Attributes::WorkflowTaskFailedEventAttributes(_))
                    )
                })
                .count();
            assert_eq!(failed_tasks, 0, "B's {id} had a failed workflow task");
        }
    }
    latencies
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99).div_ceil(100) - 1]
}

/// The sum of every sample of `metric` whose labels contain all of `labels`.
fn total(body: &str, metric: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(metric) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_tenant_at_its_quotas_cannot_hurt_its_neighbour() {
    let (qa, qb) = (unique("noisy-a"), unique("calm-b"));
    let metrics = free_address();
    let mut cfg = config(Vec::new());
    cfg.metrics.prometheus = Some(metrics);
    cfg.capacity.guest_memory_mib = Some(BUDGET_MIB);
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

    // Warm (components compiled and instantiated once, pollers up), then solo.
    stream(&tb, &qb).await;
    let solo = p99(stream(&tb, &qb).await);

    // A, everything at once.
    let mut hogs = Vec::new();
    for _ in 0..10 {
        let id = unique("hog");
        ta.start(&qa, "Hog", &id, &[40.into()]).await;
        hogs.push(id);
    }
    let mut others = Vec::new();
    let mut start = |wf: &'static str, args: Vec<serde_json::Value>| {
        let id = unique(wf);
        others.push((wf, id.clone(), args));
    };
    for _ in 0..3 {
        start("InfiniteLoop", vec![]);
        start(
            "CallActivity",
            vec![json!({"activity_type": "Burn", "args": [4000], "start_to_close_ms": 20000})],
        );
    }
    for _ in 0..2 {
        start("StdSleep", vec![]);
        start("MemoryBomb", vec![]);
        start(
            "CallActivity",
            vec![json!({"activity_type": "Gorge", "max_attempts": 2})],
        );
    }
    start("LogFlood", vec![2000.into()]);
    start("CrossQueue", vec![qb.clone().into()]);
    for (wf, id, args) in &others {
        ta.start(&qa, wf, id, args).await;
    }

    let noisy = p99(stream(&tb, &qb).await);
    let bound = solo * 3 + Duration::from_millis(300);
    eprintln!("B's p99: solo {solo:?}, beside A {noisy:?} (bound {bound:?})");
    assert!(
        noisy <= bound,
        "B starved: p99 {noisy:?} beside A, {solo:?} solo"
    );

    // Every hostile act is refused or confined, and counted as A's.
    let ta_ = "tenant=\"a\"";
    let body = eventually(WITHIN, "A's refusals are all counted", || async {
        let body = http_get(metrics, "/metrics").await;
        let counts = [
            (
                "scope",
                total(&body, "polyworker_tenant_scope_refusals", &[ta_]),
            ),
            (
                "logs",
                total(&body, "polyworker_tenant_log_lines_dropped", &[ta_]),
            ),
            (
                "evictions",
                total(&body, "polyworker_tenant_evictions", &[ta_]),
            ),
            (
                "deadline",
                total(&body, "polyworker_epoch_interruptions", &[ta_]),
            ),
            (
                "memory",
                total(&body, "polyworker_limit_hits", &[ta_, "limit=\"memory\""]),
            ),
            (
                "wait",
                total(&body, "polyworker_limit_hits", &[ta_, "limit=\"wait\""]),
            ),
        ];
        let missing: Vec<_> = counts.iter().filter(|(_, n)| *n < 1.0).collect();
        if missing.is_empty() {
            Ok(body)
        } else {
            Err(format!("{missing:?}"))
        }
    })
    .await;
    let tb_ = "tenant=\"b\"";
    for metric in [
        "polyworker_tenant_scope_refusals",
        "polyworker_tenant_evictions",
        "polyworker_tenant_budget_refusals",
        "polyworker_tenant_log_lines_dropped",
        "polyworker_epoch_interruptions",
        "polyworker_limit_hits",
    ] {
        assert_eq!(
            total(&body, metric, &[tb_]),
            0.0,
            "{metric} counted nothing of B's"
        );
    }
    let held = total(&body, "polyworker_tenant_memory_bytes", &[ta_]);
    assert!(
        held <= (300u64 << 20) as f64,
        "A holds {held} bytes, past its share"
    );
    let rss_mib = peak_rss_kib() / 1024;
    eprintln!(
        "peak RSS of the test process: {rss_mib} MiB (budget {BUDGET_MIB} + overhead {OVERHEAD_MIB})"
    );
    assert!(
        rss_mib <= BUDGET_MIB + OVERHEAD_MIB,
        "peak RSS {rss_mib} MiB"
    );

    // A's load stops; its parked runs complete, evicted ones by replay.
    for (wf, id, _) in &others {
        if matches!(
            *wf,
            "InfiniteLoop" | "StdSleep" | "MemoryBomb" | "CrossQueue"
        ) {
            ta.terminate(id).await;
        }
    }
    for id in &hogs {
        ta.signal(id, "go", serde_json::Value::Null).await;
        match ta.outcome(id, WITHIN).await {
            Outcome::Completed(v) => assert_eq!(v, 40),
            other => panic!("A's {id} did not recover: {other:?}"),
        }
    }
    host.stop().await.expect("clean shutdown");
}
