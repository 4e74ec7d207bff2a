//! Activities behave as Temporal users expect: retries, non-retryable
//! errors, heartbeats that survive a retry, timeouts that stop the guest,
//! local activities, and a filesystem grant nothing escapes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use polyworker_host::config::{Preopen, TaskQueueConfig};
use polyworker_tests::{Outcome, Temporal, TestHost, config, guest, queue, unique};
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

async fn host_with(q: TaskQueueConfig) -> TestHost {
    TestHost::start(config(vec![q])).await
}

/// Runs `CallActivity` with `call` and returns its report.
async fn call(t: &Temporal, task_queue: &str, call: Value) -> (String, Value) {
    let id = unique("call");
    t.start(task_queue, "CallActivity", &id, &[call]).await;
    match t.outcome(&id, Duration::from_secs(60)).await {
        Outcome::Completed(v) => (id, v),
        other => panic!("{other:?}"),
    }
}

async fn started_attempts(t: &Temporal, id: &str) -> Vec<i32> {
    t.history(id)
        .await
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_policy_and_non_retryable_errors_stop_them() {
    let task_queue = unique("retries");
    let host = host_with(queue(&task_queue, vec![guest("activities")])).await;
    let t = Temporal::connect().await;

    let (id, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "FailTimes", "args": [2, false], "max_attempts": 5}),
    )
    .await;
    assert_eq!(v["ok"], 3, "two failures, then success on attempt 3: {v}");
    assert_eq!(started_attempts(&t, &id).await, vec![3]);

    let (id, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "FailTimes", "args": [5, true], "max_attempts": 5}),
    )
    .await;
    assert_eq!(
        v["root"], "failing attempt 1",
        "no retry after a non-retryable error: {v}"
    );
    assert_eq!(started_attempts(&t, &id).await, vec![1]);

    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "FailTimes", "args": [9, false], "max_attempts": 2}),
    )
    .await;
    assert_eq!(
        v["root"], "failing attempt 2",
        "maximum attempts reached: {v}"
    );
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_resumes_from_the_last_heartbeat() {
    let task_queue = unique("heartbeat");
    let host = host_with(queue(&task_queue, vec![guest("activities")])).await;
    let t = Temporal::connect().await;
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "HeartbeatResume", "max_attempts": 2}),
    )
    .await;
    assert_eq!(
        v["ok"], 42,
        "attempt 2 read attempt 1's heartbeat details: {v}"
    );
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_activities_run_in_wasm_too() {
    let task_queue = unique("local");
    let host = host_with(queue(&task_queue, vec![guest("activities")])).await;
    let t = Temporal::connect().await;
    let (id, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "Echo", "args": [{"x": 1}], "local": true}),
    )
    .await;
    assert_eq!(v["ok"], json!({"x": 1}), "{v}");
    let marker = t.history(&id).await.iter().any(|e| {
        matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(m)) if m.marker_name == "core_local_activity")
    });
    assert!(
        marker,
        "a local activity is recorded as a marker, not scheduled"
    );
    host.stop().await.expect("clean shutdown");
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_attempt_is_interrupted_not_left_running() {
    let dir = scratch("timeout");
    let task_queue = unique("timeout");
    let mut q = queue(&task_queue, vec![guest("activities")]);
    q.preopens = vec![Preopen {
        host: dir.clone(),
        guest: "/work".into(),
        read_only: false,
    }];
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let started = Instant::now();
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "SleepThenWrite", "args": [2500, "/work/marker"], "start_to_close_ms": 1000}),
    )
    .await;
    assert_eq!(v["timeout"], true, "the workflow sees a timeout: {v}");
    // Had the guest run on, it would write its marker 2.5 s after it started;
    // watch until well past that. (Checking for an absence needs a window.)
    let deadline = started + Duration::from_millis(4000);
    while Instant::now() < deadline {
        assert!(
            !dir.join("marker").exists(),
            "the timed-out guest kept running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filesystem_grant_cannot_be_escaped() {
    let root = scratch("grant");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("hello.txt"), "hello").unwrap();
    std::fs::write(root.join("outside.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(root.join("outside.txt"), data.join("escape")).unwrap();
    let task_queue = unique("files");
    let mut q = queue(&task_queue, vec![guest("activities")]);
    q.preopens = vec![Preopen {
        host: data.clone(),
        guest: "/data".into(),
        read_only: true,
    }];
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let (_, v) = call(&t, &task_queue, json!({"activity_type": "Files"})).await;
    let r = &v["ok"];
    assert_eq!(r["inside"], "ok:hello", "{v}");
    for k in ["dotdot", "symlink", "absolute", "write"] {
        let got = r[k].as_str().unwrap_or_default();
        assert!(got.starts_with("err:"), "{k} must fail: {v}");
        assert!(!got.contains("secret"), "{k} leaked: {v}");
    }
    assert!(
        !data.join("new.txt").exists(),
        "a read-only grant was written to"
    );
    host.stop().await.expect("clean shutdown");
}
