//! The noisy-neighbour suite: tenant A does everything hostile at once, at
//! its quotas, while tenant B runs a steady stream of a small workflow (two
//! activities and a timer). B sees no failure and no starvation, the host
//! stays up within its memory budget, every hostile act of A's is refused
//! or confined to A and counted in A's metrics, and A recovers once its
//! load stops.

use std::time::Duration;

use polyworker_tests::noisy::{self, A_SHARE_MIB, BUDGET_MIB, percentile};
use polyworker_tests::{
    Outcome, TENANT_NAMESPACES, Temporal, TestHost, eventually, free_address, http_get,
    peak_rss_kib, unique,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const WITHIN: Duration = Duration::from_secs(120);
/// B's stream: this many workflows, this many at a time.
const STREAM: usize = 24;
const AT_ONCE: usize = 3;
/// What the test process holds beyond guest memory: the debug-built host
/// (core, wasmtime, compiled components), the client and the harness.
const OVERHEAD_MIB: u64 = 700;

/// B's stream, each workflow checked for failed workflow tasks.
async fn stream(b: &Temporal, qb: &str) -> Vec<Duration> {
    noisy::stream(b, qb, STREAM, AT_ONCE, |id| async move {
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
    })
    .await
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
    let mut cfg = noisy::config_for(&qa, &qb);
    cfg.metrics.prometheus = Some(metrics);
    let host = TestHost::start(cfg).await;
    let client = Temporal::connect().await;
    let (ta, tb) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );

    // Warm (components compiled and instantiated once, pollers up), then solo.
    stream(&tb, &qb).await;
    let solo = percentile(&stream(&tb, &qb).await, 99);

    // A, everything at once.
    let started = noisy::start_hostile(&ta, &qa, noisy::hostile_acts(&qb, 4000, 2000)).await;
    let (hogs, others): (Vec<_>, Vec<_>) = started.into_iter().partition(|(wf, _)| *wf == "Hog");

    let noisy = percentile(&stream(&tb, &qb).await, 99);
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
        held <= (A_SHARE_MIB << 20) as f64,
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
    for (wf, id) in &others {
        if matches!(
            *wf,
            "InfiniteLoop" | "StdSleep" | "MemoryBomb" | "CrossQueue"
        ) {
            ta.terminate(id).await;
        }
    }
    for (_, id) in &hogs {
        ta.signal(id, "go", serde_json::Value::Null).await;
        match ta.outcome(id, WITHIN).await {
            Outcome::Completed(v) => assert_eq!(v, 40),
            other => panic!("A's {id} did not recover: {other:?}"),
        }
    }
    host.stop().await.expect("clean shutdown");
}
