//! What looping workflows cost the workflows beside them: a healthy
//! workflow on one queue, timed alone and then with 2 × cores
//! `InfiniteLoop` runs on another queue of the same host (each holds a
//! workflow thread until its deadline, fails its task, and is retried).
//!
//! `cargo bench -p polyworker-tests --bench neighbours` (against a dev
//! server the harness starts). Two healthy kinds are timed: `Spin`, which
//! completes in one CPU-bound activation, and `Healthy`, which waits on a
//! 50 ms durable timer (the dev server fires timers about once a second).

use std::time::{Duration, Instant};

use polyworker_tests::{Outcome, Temporal, TestHost, config, guest, queue, unique};
use serde_json::{Value, json};

const ROUNDS: usize = 7;

async fn run(t: &Temporal, task_queue: &str, workflow_type: &str, args: &[Value]) -> Duration {
    let id = unique(workflow_type);
    let began = Instant::now();
    t.start(task_queue, workflow_type, &id, args).await;
    match t.outcome(&id, Duration::from_secs(120)).await {
        Outcome::Completed(_) => began.elapsed(),
        other => panic!("{workflow_type} did not complete: {other:?}"),
    }
}

async fn median_of(
    t: &Temporal,
    task_queue: &str,
    workflow_type: &str,
    args: &[Value],
) -> Duration {
    let mut v = Vec::new();
    for _ in 0..ROUNDS {
        v.push(run(t, task_queue, workflow_type, args).await);
    }
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (loopers, healthy) = (unique("loopers"), unique("healthy"));
    let host = TestHost::start(config(vec![
        queue(&loopers, vec![guest("hostile")]),
        queue(&healthy, vec![guest("hostile")]),
    ]))
    .await;
    let t = Temporal::connect().await;
    let spin = [json!(2_000_000)];
    run(&t, &healthy, "Spin", &spin).await;
    let solo_spin = median_of(&t, &healthy, "Spin", &spin).await;
    let solo_timer = median_of(&t, &healthy, "Healthy", &[]).await;

    let n = 2 * cores;
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = unique("InfiniteLoop");
        t.start(&loopers, "InfiniteLoop", &id, &[]).await;
        ids.push(id);
    }
    // Every looper is in its first task before the loaded rounds start.
    for id in &ids {
        t.wait_for_event(id, Duration::from_secs(30), |e| {
            e.event_type
                == temporalio_common::protos::temporal::api::enums::v1::EventType::WorkflowTaskStarted
                    as i32
        })
        .await;
    }
    let loaded_spin = median_of(&t, &healthy, "Spin", &spin).await;
    let loaded_timer = median_of(&t, &healthy, "Healthy", &[]).await;
    for id in &ids {
        t.terminate(id).await;
    }
    host.stop().await.expect("clean shutdown");

    println!(
        "{n} looping workflows on another queue of the same host, {cores} cores, median of {ROUNDS}:"
    );
    println!("| Healthy workflow | Alone | Beside {n} loopers | Ratio |");
    println!("|---|---:|---:|---:|");
    for (what, solo, loaded) in [
        ("Spin(2M), one activation", solo_spin, loaded_spin),
        ("Healthy, a 50 ms timer", solo_timer, loaded_timer),
    ] {
        println!(
            "| {what} | {:.0} ms | {:.0} ms | {:.2}× |",
            solo.as_secs_f64() * 1e3,
            loaded.as_secs_f64() * 1e3,
            loaded.as_secs_f64() / solo.as_secs_f64()
        );
    }
}
