//! What a unit test costs in wall time: starting a test environment for the
//! Rust data-routing component (the time-skipping test server, a host, the
//! mock worker), and one run of the tutorial's second test (a failed
//! transmit, then a delivery) including its replay; and the same run with a
//! transmit that hangs into its 10 s timeout, in skipped time.
//!
//! `cargo bench -p polyworker-testing --bench unit_test --profile dev`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use polyworker_testing::{Answer, TestEnv};
use serde_json::json;

fn component() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/data_routing.wasm")
}

fn mocks(env: &TestEnv, transmit_first: Answer) {
    env.on_activity("GetRouteActivity").answers(vec![
        Answer::Returns(json!("badRoute")),
        Answer::Returns(json!("goodRoute")),
    ]);
    env.on_activity("TransmitActivity")
        .answers(vec![transmit_first, Answer::Returns(json!({}))]);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let mut g = c.benchmark_group("unit test");
    g.sample_size(20);
    g.bench_function("start an environment", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..n {
                    let began = Instant::now();
                    let env = TestEnv::start(component()).await.expect("starts");
                    total += began.elapsed();
                    env.shutdown().await;
                }
                total
            })
        })
    });
    let env = rt.block_on(TestEnv::start(component())).expect("starts");
    let packet = json!({"ID": "packet-1"});
    for (name, first) in [
        (
            "a failed transmit, then delivered (with replay)",
            Answer::fails("down", "TransmitFailed"),
        ),
        (
            "a transmit hanging into its 10 s timeout (with replay)",
            Answer::Hangs,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                mocks(&env, first.clone());
                let run = rt
                    .block_on(env.execute("DataRoutingWorkflow", std::slice::from_ref(&packet)))
                    .expect("runs");
                assert_eq!(
                    run.result().expect("completed")["Status"],
                    "STATUS_DELIVERED"
                );
            })
        });
    }
    g.finish();
    rt.block_on(env.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
