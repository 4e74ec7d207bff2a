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
