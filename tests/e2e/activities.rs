//! Activities behave as Temporal users expect: retries, non-retryable
//! errors, heartbeats that survive a retry, timeouts that stop the guest,
//! local activities, and a filesystem grant nothing escapes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use polyworker_host::config::{Preopen, TaskQueueConfig};
use polyworker_tests::{
    Outcome, Temporal, TestHost, config, eventually, guest, holds_until, polyworker_bin, queue,
    unique,
};
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

async fn host_with(q: TaskQueueConfig) -> TestHost {
    TestHost::start(config(vec![q])).await
}

/// A host serving the activities fixture on a fresh queue, and a client.
async fn setup(name: &str) -> (String, TestHost, Temporal) {
    polyworker_tests::serve(name, vec![guest("activities")]).await
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
    let (task_queue, host, t) = setup("retries").await;

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
    let (task_queue, host, t) = setup("heartbeat").await;
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
    let (task_queue, host, t) = setup("local").await;
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
    let marker = dir.join("marker");
    holds_until(
        started + Duration::from_millis(4000),
        "the timed-out guest kept running",
        || !marker.exists(),
    )
    .await;
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

/// A queue with a read-write grant at `/work`; returns the host directory.
fn with_work_dir(task_queue: &str, name: &str) -> (TaskQueueConfig, PathBuf) {
    let dir = scratch(name);
    let mut q = queue(task_queue, vec![guest("activities")]);
    q.preopens = vec![Preopen {
        host: dir.clone(),
        guest: "/work".into(),
        read_only: false,
    }];
    (q, dir)
}

/// Asserts `file` does not appear before `until` (an absence needs a window).
async fn never_appears(file: PathBuf, until: Instant) {
    let what = format!("{} appeared: the guest kept running", file.display());
    holds_until(until, &what, || !file.exists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_activity_sees_it_cleans_up_and_reports_cancelled() {
    let task_queue = unique("cancel");
    let (q, dir) = with_work_dir(&task_queue, "cancel");
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "WaitForCancel", "args": ["/work/cleanup"],
               "heartbeat_timeout_ms": 1000, "cancel_after_ms": 200}),
    )
    .await;
    assert_eq!(v["cancelled"], true, "{v}");
    assert_eq!(
        std::fs::read_to_string(dir.join("cleanup")).ok().as_deref(),
        Some("cleaned up"),
        "the activity saw its cancellation and cleaned up"
    );
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_that_ignores_cancellation_is_interrupted_after_the_grace_period() {
    let task_queue = unique("ignore-cancel");
    let (mut q, dir) = with_work_dir(&task_queue, "ignore");
    q.activity_cancel_grace_ms = 300;
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let started = Instant::now();
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "IgnoreCancel", "args": [6000, "/work/marker"],
               "heartbeat_timeout_ms": 1000, "cancel_after_ms": 200}),
    )
    .await;
    assert_eq!(v["cancelled"], true, "{v}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "it was not left to finish"
    );
    never_appears(dir.join("marker"), started + Duration::from_millis(6500)).await;
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_and_schedule_to_close_timeouts_interrupt_the_guest() {
    let task_queue = unique("timeouts");
    let (q, dir) = with_work_dir(&task_queue, "timeouts");
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    for (name, extra) in [
        ("heartbeat", json!({"heartbeat_timeout_ms": 1000})),
        ("schedule-to-close", json!({"schedule_to_close_ms": 1000})),
    ] {
        let mut spec = json!({"activity_type": "SleepThenWrite",
                              "args": [2500, format!("/work/{name}")],
                              "start_to_close_ms": 10000});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let started = Instant::now();
        let (_, v) = call(&t, &task_queue, spec).await;
        assert_eq!(v["timeout"], true, "{name}: {v}");
        never_appears(dir.join(name), started + Duration::from_millis(3500)).await;
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_to_start_times_out_when_nobody_polls_the_queue() {
    let (task_queue, host, t) = setup("sched-to-start").await;
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "Echo", "args": [1], "task_queue": unique("nobody-polls"),
               "schedule_to_start_ms": 1000}),
    )
    .await;
    assert_eq!(v["timeout"], true, "{v}");
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_complete_and_fail_pending_activities_by_task_token() {
    let task_queue = unique("async-completion");
    let (q, dir) = with_work_dir(&task_queue, "tokens");
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let address = polyworker_tests::server().address();
    for (n, action) in ["complete", "fail"].iter().enumerate() {
        let token_file = dir.join(format!("token-{n}"));
        let id = unique("pending");
        t.start(
            &task_queue,
            "CallActivity",
            &id,
            &[
                json!({"activity_type": "Pending", "args": [format!("/work/token-{n}")],
                     "start_to_close_ms": 60000}),
            ],
        )
        .await;
        eventually(
            Duration::from_secs(30),
            "the activity hands out its token",
            || async {
                if token_file.exists() {
                    Ok(())
                } else {
                    Err("no token file")
                }
            },
        )
        .await;
        let token = std::fs::read_to_string(&token_file).unwrap();
        let cli = |args: &[&str]| {
            let out = std::process::Command::new(polyworker_bin())
                .arg("activity")
                .args(args)
                .args(["--task-token", &token, "--address", &address])
                .output()
                .expect("polyworker activity");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let hb = cli(&["heartbeat", "--details", "{\"progress\": 1}"]);
        assert!(hb.contains("cancel requested: false"), "{hb}");
        if *action == "complete" {
            cli(&["complete", "--result", "\"done by operator\""]);
        } else {
            cli(&[
                "fail",
                "--message",
                "rejected by operator",
                "--non-retryable",
            ]);
        }
        let Outcome::Completed(v) = t.outcome(&id, Duration::from_secs(30)).await else {
            panic!("workflow did not complete");
        };
        if *action == "complete" {
            assert_eq!(v["ok"], "done by operator", "{v}");
        } else {
            assert_eq!(v["root"], "rejected by operator", "{v}");
        }
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_is_granted_to_activities_and_never_to_workflows() {
    let task_queue = unique("env");
    let mut q = queue(&task_queue, vec![guest("activities")]);
    q.env.insert("API_KEY".into(), "s3cr3t".into());
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "ReadEnv", "args": ["API_KEY"]}),
    )
    .await;
    assert_eq!(v["ok"], json!({"value": "s3cr3t", "count": 1}), "{v}");
    let id = unique("env-wf");
    t.start(&task_queue, "EnvInWorkflow", &id, &[json!("API_KEY")])
        .await;
    let Outcome::Completed(v) = t.outcome(&id, Duration::from_secs(30)).await else {
        panic!("workflow did not complete");
    };
    assert_eq!(
        v,
        json!({"value": null, "count": 0}),
        "workflows see no environment"
    );
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_bound_activities_do_not_starve_the_host() {
    let (task_queue, host, t) = setup("burn").await;
    // More CPU-bound activities than this host has cores (2) and runtime threads.
    let mut burners = Vec::new();
    for _ in 0..6 {
        let id = unique("burn");
        t.start(
            &task_queue,
            "CallActivity",
            &id,
            &[json!({"activity_type": "Burn", "args": [4000]})],
        )
        .await;
        burners.push(id);
    }
    // Wait until every burner runs, then time a trivial workflow beside them.
    for id in &burners {
        t.wait_for_started_activity(id, Duration::from_secs(20))
            .await;
    }
    let started = Instant::now();
    let (_, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "Echo", "args": ["still here"]}),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(v["ok"], "still here");
    assert!(
        took < Duration::from_secs(3),
        "an Echo beside six CPU-bound activities took {took:?}"
    );
    for id in &burners {
        assert!(matches!(
            t.outcome(id, Duration::from_secs(60)).await,
            Outcome::Completed(_)
        ));
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_sees_the_attempt_as_temporal_describes_it() {
    let (task_queue, host, t) = setup("info").await;
    let (id, v) = call(
        &t,
        &task_queue,
        json!({"activity_type": "Info", "start_to_close_ms": 7000}),
    )
    .await;
    let i = &v["ok"];
    assert_eq!(i["activity_type"], "Info", "{v}");
    assert_eq!(i["workflow_type"], "CallActivity");
    assert_eq!(i["workflow_id"], id.as_str());
    assert_eq!(i["task_queue"], task_queue.as_str());
    assert_eq!(i["attempt"], 1);
    assert_eq!(i["start_to_close"], 7_000_000_000u64);
    assert!(i["token_len"].as_u64().unwrap_or(0) > 0);
    let (scheduled, started) = (
        i["scheduled"].as_u64().unwrap(),
        i["started"].as_u64().unwrap(),
    );
    assert!(scheduled > 0 && scheduled <= started, "{v}");
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_forever_for_a_long_activity() {
    let task_queue = unique("shutdown");
    let (mut q, _dir) = with_work_dir(&task_queue, "shutdown");
    q.graceful_shutdown_ms = 500;
    q.activity_cancel_grace_ms = 300;
    let host = host_with(q).await;
    let t = Temporal::connect().await;
    let id = unique("long");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[
            json!({"activity_type": "IgnoreCancel", "args": [60000, "/work/never"],
                 "start_to_close_ms": 120000, "heartbeat_timeout_ms": 5000}),
        ],
    )
    .await;
    t.wait_for_started_activity(&id, Duration::from_secs(20))
        .await;
    let started = Instant::now();
    host.stop().await.expect("clean shutdown");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "shutdown took {took:?} with a 60 s activity in flight"
    );
    t.terminate(&id).await;
}
