//! A workflow in one language calling activities written in another, on one
//! task queue: Rust and Python workflows calling JavaScript activities
//! (written without an SDK, QuickJS through componentize-qjs).

use std::time::Duration;

use polyworker_tests::{
    Outcome, Temporal, TestHost, config, guest, js_guest, py_guest, queue, serve, unique,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_workflow_calls_javascript_activities() {
    let task_queue = unique("polyglot");
    let q = queue(
        &task_queue,
        vec![guest("activities"), js_guest("activities")],
    );
    let host = TestHost::start(config(vec![q])).await;
    let t = Temporal::connect().await;

    let id = unique("js-echo");
    let payload = json!({"from": "rust", "n": [1, 2, 3]});
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!({"activity_type": "JsEcho", "args": [payload]})],
    )
    .await;
    match t.outcome(&id, Duration::from_secs(30)).await {
        Outcome::Completed(v) => assert_eq!(v["ok"], payload, "{v}"),
        other => panic!("{other:?}"),
    }

    let id = unique("js-fail");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!({"activity_type": "JsFail", "max_attempts": 5})],
    )
    .await;
    match t.outcome(&id, Duration::from_secs(30)).await {
        Outcome::Completed(v) => {
            assert_eq!(
                v["root"], "JS activity refuses attempt 1",
                "non-retryable, from JS: {v}"
            )
        }
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_workflow_calls_javascript_activities() {
    let (task_queue, host, t) =
        serve("polyglot-py", vec![py_guest("sdk"), js_guest("activities")]).await;
    let id = unique("py-js-echo");
    let payload = json!({"from": "python", "n": [1, 2, 3]});
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!("JsEcho"), json!([payload])],
    )
    .await;
    match t.outcome(&id, Duration::from_secs(30)).await {
        Outcome::Completed(v) => assert_eq!(v, payload),
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}

/// An 18 MB Python component takes seconds to compile; the engine's cache
/// keeps the compiled artifact on disk (keyed by the component's bytes and
/// the engine's settings), so a restarted host reads it back instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_components_are_compiled_once_then_read_from_the_cache() {
    use polyworker_host::config::EngineConfig;
    use polyworker_host::runtime::Loader;
    use polyworker_host::runtime::{Capacity, WasmEngine};

    let dir = std::env::temp_dir().join(unique("polyworker-compile-cache"));
    let cfg = EngineConfig {
        cache_dir: Some(dir.display().to_string()),
        pooling: false,
        ..EngineConfig::default()
    };
    let capacity = Capacity {
        workflow_instances: 1,
        activity_instances: 1,
        workflow_tasks: 2,
    };
    let module = py_guest("sdk");
    let load = || async {
        let engine = WasmEngine::new(&cfg, capacity).expect("engine");
        let loader = Loader::new(&engine.engine).expect("loader");
        let started = std::time::Instant::now();
        let m = loader.load(&module).await.expect("the component loads");
        (engine.cache_stats(), started.elapsed(), m)
    };
    let ((hits, misses), cold, first) = load().await;
    assert_eq!((hits, misses), (0, 1), "a cold cache compiles");
    let ((hits, misses), warm, second) = load().await;
    assert_eq!(
        (hits, misses),
        (1, 0),
        "a restart reads the compiled artifact back"
    );
    assert_eq!(first.digest, second.digest);
    eprintln!("python component: cold load {cold:?}, cached load {warm:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
