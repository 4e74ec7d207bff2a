//! The benchmark harness runs, at a tiny size (no timing is asserted).

use polyworker_bench::contestants::Contestant;
use polyworker_bench::run::{Options, benchmark, density, table};
use polyworker_bench::startup::{startup, startup_table};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_runs_every_contestant_at_a_tiny_size() {
    let build = std::process::Command::new("bash")
        .arg(polyworker_bench::contestants::repo_root().join("scripts/build-guests.sh"))
        .status()
        .expect("run scripts/build-guests.sh");
    assert!(build.success());
    let contestants = vec![
        Contestant::Polyworker,
        Contestant::NativeRust,
        Contestant::Python,
        Contestant::TypeScript,
    ];
    let opts = Options {
        workflows: 3,
        rate: 20.0,
        concurrency: 3,
        rounds: 1,
        contestants: contestants.clone(),
        server: None,
        dir: std::env::temp_dir().join(format!("pw-bench-smoke-{}", std::process::id())),
    };
    let measures = benchmark(&opts).await.expect("the benchmark runs");
    assert_eq!(measures.len(), contestants.len());
    for m in &measures {
        assert!(m.throughput > 0.0 && m.peak_rss_kib > 0, "{m:?}");
    }
    let t = table(&measures, &contestants);
    assert!(
        t.contains("native Rust SDK") && t.contains("polyworker"),
        "{t}"
    );
    let parked = density(&opts, 5).await.expect("the density run runs");
    assert_eq!(parked.len(), contestants.len());
    assert!(
        parked.iter().all(|d| d.parked == 5 && d.rss_after_kib > 0),
        "{parked:?}"
    );
    let s = startup(&opts, 3, 1).await.expect("the start-up run runs");
    assert_eq!(s.warm.len(), 1);
    assert!(startup_table(&s).contains("| 3 |"));
    let _ = std::fs::remove_dir_all(&opts.dir);
}
