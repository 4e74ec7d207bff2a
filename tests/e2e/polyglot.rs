//! A workflow in one language calling activities written in another: the
//! Rust `CallActivity` workflow and JavaScript activities (QuickJS through
//! componentize-qjs) on one task queue.

use std::time::Duration;

use polyworker_tests::{Outcome, Temporal, TestHost, config, guest, js_guest, queue, unique};
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
