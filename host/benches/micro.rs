//! Criterion micro-benchmarks of the sandbox, without a Temporal server:
//!
//! - `instantiate/<language>`: a new run from the module's `InstancePre`
//!   (pooling allocator, copy-on-write memory image), up to and including
//!   the guest's `workflow-run` constructor, for each guest language's
//!   data-routing workflow; `instantiate/Rust (on-demand)` without the pool,
//!   `instantiate/Rust (budget checks)` with the run charged to a tenant's
//!   share of the guest memory budget (the admission checks' cost).
//! - `activation/<kind>`: one activation round trip host → guest → host on
//!   a live run of the Rust benchmark guest, for the activations a workflow
//!   typically gets; `activation/whole BenchWorkflow` is every activation of
//!   one benchmark workflow, instantiation included.
//! - `payload/<size>`: a signal carrying one payload of 1 KiB to 1 MiB in,
//!   and the activity command carrying it out again (with the previous
//!   activity's small result).
//!
//! Replay speed, against the native Rust SDK's replayer, is in the bench
//! crate: `cargo bench -p polyworker-bench --bench replay`.
//!
//! ```text
//! scripts/build-guests.sh
//! cargo bench -p polyworker-host --bench micro
//! ```

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyworker_host::runtime::bindings::polyworker::worker::workflow_types::{
    ActivityResolution, Command, Job, ResolveActivity, Signal,
};
use polyworker_host::runtime::run::RunInstance;
use polyworker_host::runtime::{Account, MemoryBudget, Module};
use support::{activation, bench_guest, engine, guest, json, load, run, run_charged};
use tokio::runtime::Runtime;

const GUESTS: &[(&str, &str)] = &[
    ("Rust", "wasm32-wasip2/release/data_routing.wasm"),
    ("JavaScript", "js/data-routing-js.wasm"),
    ("Python", "py/data-routing-py.wasm"),
    ("C", "c/data-routing-c.wasm"),
    ("Go", "go/data-routing-go.wasm"),
];

const PACKET: &[u8] =
    br#"{"ID":"p1","Source":"client","Destination":"datacenter","Contents":"payload"}"#;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The commands of one activation, which must not fail.
fn activate(r: &mut RunInstance, jobs: Vec<Job>) -> Vec<Command> {
    r.activate(&activation(jobs), None)
        .expect("no trap")
        .expect("no workflow task failure")
}

/// Times `iters` creations of a data-routing run; the drops are not timed.
fn create_runs(m: &Arc<Module>, iters: u64) -> Duration {
    create_charged(m, iters, None)
}

/// As [`create_runs`], each run's memory charged to `account` (the memory
/// budget's admission checks on every growth, instantiation included).
fn create_charged(m: &Arc<Module>, iters: u64, account: Option<Arc<Account>>) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..iters as usize {
        let t = Instant::now();
        let r = run_charged(
            m,
            "DataRoutingWorkflow",
            i,
            vec![json(PACKET)],
            account.clone(),
        );
        total += t.elapsed();
        drop(r);
    }
    total
}

fn instantiate(c: &mut Criterion) {
    let rt = runtime();
    let cache = support::cache_dir("micro");
    let pooled = engine(&cache, true, 64);
    let on_demand = engine(&cache, false, 64);
    let mut g = c.benchmark_group("instantiate");
    for &(lang, relative) in GUESTS {
        let Some(path) = guest(relative) else {
            continue;
        };
        let m = rt.block_on(load(&pooled, &path));
        g.bench_function(lang, |b| b.iter_custom(|n| create_runs(&m, n)));
        if lang == "Rust" {
            // The budget's admission on: a tenant's share of a host budget.
            let budget = MemoryBudget::new(8 << 30);
            let account = budget.account("bench", 4 << 30);
            g.bench_function("Rust (budget checks)", |b| {
                b.iter_custom(|n| create_charged(&m, n, Some(account.clone())))
            });
            let m = rt.block_on(load(&on_demand, &path));
            g.bench_function("Rust (on-demand)", |b| {
                b.iter_custom(|n| create_runs(&m, n))
            });
        }
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&cache);
}

/// The seq of the activity or timer an activation's only command starts.
fn started(commands: &[Command]) -> u32 {
    match commands {
        [Command::StartTimer(t)] => t.seq,
        [Command::ScheduleActivity(a)] => a.seq,
        other => panic!("expected one timer or activity, got {other:?}"),
    }
}

fn resolved(seq: u32) -> Job {
    Job::ResolveActivity(ResolveActivity {
        seq,
        resolution: ActivityResolution::Completed(Some(json(PACKET))),
        is_local: false,
    })
}

fn signal(data: Vec<u8>) -> Job {
    Job::Signal(Signal {
        name: "data".into(),
        input: vec![json(data)],
        headers: vec![],
        identity: "bench".into(),
    })
}

/// Every activation of one `BenchWorkflow`, from its creation to its
/// completion.
fn whole_bench_workflow(m: &Arc<Module>, i: usize) {
    let mut r = run(m, "BenchWorkflow", i, vec![json(PACKET)]);
    let first = started(&activate(&mut r, vec![]));
    let timer = started(&activate(&mut r, vec![resolved(first)]));
    let second = started(&activate(&mut r, vec![Job::FireTimer(timer)]));
    let done = activate(&mut r, vec![resolved(second)]);
    assert!(
        matches!(done[..], [Command::CompleteWorkflow(_)]),
        "{done:?}"
    );
}

/// A `Relay` run waiting on the result of the activity it has scheduled
/// (the seq returned) for its first signal.
fn relay_run(m: &Arc<Module>, n: usize) -> (RunInstance, u32) {
    let mut r = run(m, "Relay", n, vec![]);
    assert!(activate(&mut r, vec![]).is_empty());
    let seq = started(&activate(&mut r, vec![signal(PACKET.to_vec())]));
    (r, seq)
}

/// Resolves `Relay`'s activity `seq` and signals `data`, which the run
/// passes on to its next activity, whose seq is returned.
fn relay_step(r: &mut RunInstance, seq: u32, data: Vec<u8>) -> u32 {
    let size = data.len();
    match &activate(r, vec![resolved(seq), signal(data)])[..] {
        [Command::ScheduleActivity(a)] => {
            assert_eq!(a.arguments[0].data.len(), size);
            a.seq
        }
        other => panic!("expected the next activity, got {other:?}"),
    }
}

fn activations(c: &mut Criterion) {
    let rt = runtime();
    let cache = support::cache_dir("micro");
    let e = engine(&cache, true, 64);
    let m = rt.block_on(load(&e, &bench_guest()));
    let mut g = c.benchmark_group("activation");

    let mut parked = run(&m, "Parked", 0, vec![]);
    assert!(activate(&mut parked, vec![]).is_empty());
    g.bench_function("empty", |b| b.iter(|| activate(&mut parked, vec![])));

    let mut timers = run(&m, "TimerLoop", 1, vec![json(u32::MAX.to_string())]);
    let mut seq = started(&activate(&mut timers, vec![]));
    g.bench_function("fire timer, start the next", |b| {
        b.iter(|| {
            let next = started(&activate(&mut timers, vec![Job::FireTimer(seq)]));
            seq = next;
        })
    });

    let (mut relay, mut seq) = relay_run(&m, 2);
    g.bench_function("activity result and signal in, activity out", |b| {
        b.iter(|| seq = relay_step(&mut relay, seq, PACKET.to_vec()))
    });

    let mut i = 3;
    g.bench_function("whole BenchWorkflow", |b| {
        b.iter(|| {
            i += 1;
            whole_bench_workflow(&m, i)
        })
    });
    g.finish();
    drop((parked, timers, relay));
    let _ = std::fs::remove_dir_all(&cache);
}

fn payloads(c: &mut Criterion) {
    let rt = runtime();
    let cache = support::cache_dir("micro");
    let e = engine(&cache, true, 8);
    let m = rt.block_on(load(&e, &bench_guest()));
    let (mut relay, mut seq) = relay_run(&m, 0);
    let mut g = c.benchmark_group("payload");
    for (label, size) in [
        ("1 KiB", 1 << 10),
        ("16 KiB", 16 << 10),
        ("256 KiB", 256 << 10),
        ("1 MiB", 1 << 20),
    ] {
        // A JSON string of exactly `size` bytes.
        let mut data = vec![b'x'; size];
        data[0] = b'"';
        data[size - 1] = b'"';
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(label, |b| {
            b.iter(|| seq = relay_step(&mut relay, seq, data.clone()))
        });
    }
    g.finish();
    drop(relay);
    let _ = std::fs::remove_dir_all(&cache);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = micro;
    config = config();
    targets = instantiate, activations, payloads
}
criterion_main!(micro);
