//! What each guest language costs the host, on the data-routing example
//! (the same workflow in every language):
//!
//! - component size;
//! - host compile time, cold (empty cache) and cached (read back from disk);
//! - instantiation of a run (instantiate + `workflow-run.create`), with the
//!   on-demand allocator ("fresh") and with the pooling allocator;
//! - one activation round trip (host → guest → host) on a blocked run;
//! - resident memory per cached run (200 runs each parked on an activity).
//!
//! ```text
//! scripts/build-guests.sh
//! cargo bench -p polyworker-host --bench languages
//! ```
//!
//! Figures are medians; the machine's noise is in the README next to them.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use polyworker_host::runtime::Module;
use polyworker_host::runtime::WasmEngine;
use polyworker_host::runtime::run::RunInstance;
use support::{LIMITS, activation, json, median, meter, tags};

const INSTANTIATIONS: usize = 50;
const ACTIVATIONS: usize = 500;
const PARKED: usize = 200;
const TYPE: &str = "DataRoutingWorkflow";

fn info(
    run: usize,
) -> polyworker_host::runtime::bindings::polyworker::worker::workflow_types::WorkflowInfo {
    let packet =
        br#"{"ID":"p1","Source":"client","Destination":"datacenter","Contents":"payload"}"#;
    support::info(TYPE, run, vec![json(packet.to_vec())])
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn engine(cache: &Path, pooling: bool) -> WasmEngine {
    support::engine(cache, pooling, PARKED as u32 + 8)
}

async fn load(e: &WasmEngine, path: &Path) -> (Arc<Module>, Duration) {
    let t = Instant::now();
    let m = support::load(e, path).await;
    (m, t.elapsed())
}

/// A run created and given its first activation (it schedules the route
/// activity and is then blocked on it).
fn parked_run(m: &Arc<Module>, run: usize) -> RunInstance {
    let mut r = RunInstance::create(m.clone(), &info(run), tags(TYPE), LIMITS, meter(), None)
        .expect("instantiates")
        .expect("creates the run");
    let commands = r
        .activate(&activation(vec![]), None)
        .expect("activates")
        .expect("no task failure");
    assert!(!commands.is_empty(), "the first activation schedules work");
    r
}

struct Row {
    lang: &'static str,
    size: u64,
    cold: Duration,
    cached: Duration,
    fresh: Duration,
    pooled: Duration,
    activation: Duration,
    rss_per_run: u64,
}

/// Loads with `rt`; the workflow calls, synchronous, run outside it.
fn measure(rt: &tokio::runtime::Runtime, lang: &'static str, path: &Path) -> Row {
    let cache =
        std::env::temp_dir().join(format!("polyworker-bench-{}-{lang}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let size = std::fs::metadata(path).expect("component file").len();

    let on_demand = engine(&cache, false);
    let (_, cold) = rt.block_on(load(&on_demand, path));
    let (m, cached) = rt.block_on(load(&on_demand, path));

    let mut fresh = Vec::new();
    for i in 0..INSTANTIATIONS {
        let t = Instant::now();
        let r = RunInstance::create(m.clone(), &info(i), tags(TYPE), LIMITS, meter(), None);
        fresh.push(t.elapsed());
        drop(r);
    }

    let mut run = parked_run(&m, 0);
    let mut rounds = Vec::new();
    for _ in 0..ACTIVATIONS {
        let t = Instant::now();
        let out = run.activate(&activation(vec![]), None);
        rounds.push(t.elapsed());
        assert!(matches!(out, Ok(Ok(ref c)) if c.is_empty()), "{out:?}");
    }
    drop(run);

    let before = rss_bytes();
    let mut parked = Vec::new();
    for i in 0..PARKED {
        parked.push(parked_run(&m, i));
    }
    let rss_per_run = rss_bytes().saturating_sub(before) / PARKED as u64;
    drop(parked);

    let pooling = engine(&cache, true);
    let (pm, _) = rt.block_on(load(&pooling, path));
    // Warm the pool's slots first: the pool's point is reusing them.
    for i in 0..4 {
        drop(RunInstance::create(
            pm.clone(),
            &info(i),
            tags(TYPE),
            LIMITS,
            meter(),
            None,
        ));
    }
    let mut pooled = Vec::new();
    for i in 0..INSTANTIATIONS {
        let t = Instant::now();
        let r = RunInstance::create(pm.clone(), &info(i), tags(TYPE), LIMITS, meter(), None);
        pooled.push(t.elapsed());
        drop(r);
    }
    let _ = std::fs::remove_dir_all(&cache);
    Row {
        lang,
        size,
        cold,
        cached,
        fresh: median(fresh),
        pooled: median(pooled),
        activation: median(rounds),
        rss_per_run,
    }
}

fn guests() -> Vec<(&'static str, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    vec![
        (
            "Rust",
            root.join("target/guests/wasm32-wasip2/release/data_routing.wasm"),
        ),
        (
            "JavaScript",
            root.join("target/guests/js/data-routing-js.wasm"),
        ),
        (
            "JavaScript (SpiderMonkey)",
            root.join("target/guests/js/data-routing-js-spidermonkey.wasm"),
        ),
        ("Python", root.join("target/guests/py/data-routing-py.wasm")),
        ("C", root.join("target/guests/c/data-routing-c.wasm")),
        ("Go", root.join("target/guests/go/data-routing-go.wasm")),
    ]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut rows = Vec::new();
    for (lang, path) in guests() {
        if !path.is_file() {
            eprintln!(
                "{lang}: {} is missing; run scripts/build-guests.sh",
                path.display()
            );
            continue;
        }
        rows.push(measure(&rt, lang, &path));
    }
    println!(
        "| Language | Component | Compile (cold) | Load (cached) | Instantiate (fresh) | Instantiate (pooled) | Activation | RSS per cached run |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.1} MiB | {:.2} s | {} ms | {} µs | {} µs | {:.1} µs | {} KiB |",
            r.lang,
            r.size as f64 / 1048576.0,
            r.cold.as_secs_f64(),
            r.cached.as_millis(),
            r.fresh.as_micros(),
            r.pooled.as_micros(),
            r.activation.as_secs_f64() * 1e6,
            r.rss_per_run / 1024,
        );
    }
}
