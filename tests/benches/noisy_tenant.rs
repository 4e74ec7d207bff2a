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

use std::time::Duration;

use polyworker_tests::noisy::{self, BUDGET_MIB, percentile};
use polyworker_tests::{TENANT_NAMESPACES, Temporal, TestHost, unique};

const RUNS: usize = 60;
const AT_ONCE: usize = 3;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (qa, qb) = (unique("noisy-a"), unique("calm-b"));
    let host = TestHost::start(noisy::config_for(&qa, &qb)).await;
    let client = Temporal::connect().await;
    let (ta, tb) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );
    let stream = || noisy::stream(&tb, &qb, RUNS, AT_ONCE, |_| async {});
    stream().await; // warm
    let solo = stream().await;
    // A's CPU-bound activities and log flood outlast the measurement.
    noisy::start_hostile(&ta, &qa, noisy::hostile_acts(&qb, 60_000, 100_000)).await;
    let noisy = stream().await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = percentile;
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
        "peak RSS of the bench process: {} MiB (guest budget {BUDGET_MIB} MiB)",
        polyworker_tests::peak_rss_kib() / 1024
    );
    // A's load never ends by itself: the process (and the host) end here.
    drop(host);
}
