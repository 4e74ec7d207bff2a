//! Hostile workflow components fail their own workflow tasks with a message
//! that says what happened; the host and the workflows beside them go on.

use std::time::{Duration, Instant};

use polyworker_tests::{Outcome, Temporal, TestHost, config, guest, peak_rss_kib, queue, unique};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// Waits for the first failed workflow task of `id` and returns its message.
async fn task_failure(t: &Temporal, id: &str) -> String {
    t.task_failure(id, Duration::from_secs(30)).await.0
}

/// Runs one `Healthy` workflow to completion and returns how long it took.
async fn healthy_run(t: &Temporal, task_queue: &str) -> Duration {
    let id = unique("healthy");
    let started = Instant::now();
    t.start(task_queue, "Healthy", &id, &[]).await;
    let outcome = t.outcome(&id, Duration::from_secs(30)).await;
    assert!(
        matches!(&outcome, Outcome::Completed(v) if v == "ok"),
        "{outcome:?}"
    );
    started.elapsed()
}

/// Starts one workflow of each case's type; returns their ids in order.
async fn start_all(t: &Temporal, task_queue: &str, cases: &[(&str, &str)]) -> Vec<String> {
    let mut ids = Vec::new();
    for (wf_type, _) in cases {
        let id = unique(wf_type);
        t.start(task_queue, wf_type, &id, &[]).await;
        ids.push(id);
    }
    ids
}

/// `rounds` healthy runs, each within 1.5× (+ 0.5 s) of `baseline`.
async fn healthy_runs_stay_prompt(
    t: &Temporal,
    task_queue: &str,
    baseline: Duration,
    rounds: usize,
) {
    for _ in 0..rounds {
        let took = healthy_run(t, task_queue).await;
        assert!(
            took < baseline * 3 / 2 + Duration::from_millis(500),
            "healthy workflow took {took:?} beside misbehaving ones (alone: {baseline:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_fail_their_tasks_and_healthy_workflows_run_on() {
    let task_queue = unique("hostile");
    let mut cfg = config(vec![queue(
        &task_queue,
        vec![guest("hostile"), guest("garbage")],
    )]);
    cfg.engine.workflow_deadline_ms = 1000;
    cfg.engine.workflow_memory_mib = 32;
    let host = TestHost::start(cfg).await;
    let t = Temporal::connect().await;

    // The dev server fires timers with about 1 s granularity; measure what
    // "normal" is here before the hostile runs start.
    healthy_run(&t, &task_queue).await;
    let baseline = healthy_run(&t, &task_queue).await;
    let peak_before = peak_rss_kib();

    let cases = [
        (
            "InfiniteLoop",
            "exceeded its 1s deadline and was interrupted",
        ),
        ("MemoryBomb", "memory limit exceeded"),
        ("DeepRecursion", "stack overflow"),
        ("Panic", "unreachable code reached"),
        ("Trap", "unreachable code reached"),
        ("HugeResult", "more than the 2097152-byte limit"),
        ("AbsurdFailure", "failure cause chain has 1000 entries"),
        ("EmptyActivityType", "activity type is empty"),
    ];
    let ids = start_all(&t, &task_queue, &cases).await;
    // While the hostile runs fail (and are retried), healthy runs on the
    // same host complete promptly.
    healthy_runs_stay_prompt(&t, &task_queue, baseline, 3).await;
    for ((wf_type, expected), id) in cases.iter().zip(&ids) {
        let message = task_failure(&t, id).await;
        assert!(
            message.contains(expected),
            "{wf_type}: {message:?} lacks {expected:?}"
        );
    }
    // The memory bomb ran against its 32 MiB limit, retried; unbounded it
    // would take gigabytes.
    let grew_mib = peak_rss_kib().saturating_sub(peak_before) / 1024;
    assert!(
        grew_mib < 4 * 32,
        "the process's peak RSS grew by {grew_mib} MiB during the hostile runs"
    );
    for id in &ids {
        t.terminate(id).await;
    }
    host.stop()
        .await
        .expect("the host shuts down cleanly after all that");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_for_an_unknown_sequence_number_fails_the_task() {
    let task_queue = unique("unknown-seq");
    let host = TestHost::start(config(vec![queue(&task_queue, vec![guest("garbage")])])).await;
    let t = Temporal::connect().await;
    let id = unique("UnknownSeq");
    t.start(&task_queue, "UnknownSeq", &id, &[]).await;
    let message = task_failure(&t, &id).await;
    // Core's state machines catch it: the command names no timer it knows.
    assert!(message.contains("Timer(999)"), "{message}");
    t.terminate(&id).await;
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_clocks_read_the_time_the_history_records() {
    let task_queue = unique("clock");
    let host = TestHost::start(config(vec![queue(&task_queue, vec![guest("hostile")])])).await;
    let t = Temporal::connect().await;
    let id = unique("clock");
    t.start(&task_queue, "ClockAcrossTimer", &id, &[]).await;
    let Outcome::Completed(v) = t.outcome(&id, Duration::from_secs(30)).await else {
        panic!("workflow did not complete");
    };
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    // std's clock and the SDK's read the same workflow time.
    assert_eq!(n("before"), n("ctx_before"));
    assert_eq!(n("after"), n("ctx_after"));
    assert!(n("after") - n("before") >= 2_000_000_000, "{v}");
    assert!(
        v["monotonic_elapsed_ms"].as_u64().unwrap_or(0) >= 2000,
        "{v}"
    );
    // Workflow time is the time of a workflow task in the history.
    let task_times: Vec<u64> = t
        .history(&id)
        .await
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskStartedEventAttributes(_))
            )
        })
        .filter_map(|e| e.event_time.as_ref())
        .map(|ts| ts.seconds as u64 * 1_000_000_000 + ts.nanos as u64)
        .collect();
    assert!(
        task_times.contains(&n("before")),
        "{} not in {task_times:?}",
        n("before")
    );
    assert!(
        task_times.contains(&n("after")),
        "{} not in {task_times:?}",
        n("after")
    );
    host.stop().await.expect("clean shutdown");
}

/// Runs `workflow_type` to completion on a queue with no sticky cache, so
/// that every workflow task replays the run from its first event; returns
/// the result, the client and the workflow id (the host is stopped).
async fn completed_without_cache(workflow_type: &str) -> (serde_json::Value, Temporal, String) {
    let task_queue = unique(workflow_type);
    let mut q = queue(&task_queue, vec![guest("hostile")]);
    q.max_cached_workflows = 0;
    let host = TestHost::start(config(vec![q])).await;
    let t = Temporal::connect().await;
    let id = unique(workflow_type);
    t.start(&task_queue, workflow_type, &id, &[]).await;
    let outcome = t.outcome(&id, Duration::from_secs(30)).await;
    let Outcome::Completed(v) = outcome else {
        panic!("{workflow_type}: {outcome:?}");
    };
    host.stop().await.expect("clean shutdown");
    (v, t, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_values_are_the_same_on_replay() {
    let (v, t, id) = completed_without_cache("RandomReplay").await;
    let drawn: Vec<u64> = serde_json::from_value(v).unwrap();
    let timer_ms = t
        .history(&id)
        .await
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::TimerStartedEventAttributes(a)) => a.start_to_fire_timeout,
            _ => None,
        })
        .map(|d| d.seconds as u64 * 1000 + d.nanos as u64 / 1_000_000)
        .expect("a timer");
    // The timer was started by the first execution; the result comes from a
    // replay. They agree only if the replay drew the same numbers.
    assert_eq!(timer_ms, 100 + drawn[0] % 900, "drawn on replay: {drawn:?}");
}

/// Waiting in workflow code (a std sleep, a blocking pollable, a poll of a
/// list) can never end, since workflow time stands still during a task:
/// each fails its task at once, well within the deadline, saying what to
/// use instead; a flood of host resources names its limit; a healthy
/// workflow on the same queue runs on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_waits_fail_their_task_at_once_and_name_the_fix() {
    let task_queue = unique("blocking");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("hostile")])]);
    let deadline = Duration::from_secs(2);
    cfg.engine.workflow_deadline_ms = deadline.as_millis() as u64;
    let host = TestHost::start(cfg).await;
    let t = Temporal::connect().await;
    healthy_run(&t, &task_queue).await;
    let baseline = healthy_run(&t, &task_queue).await;
    let cases = [
        ("StdSleep", "blocked in wasi:io/poll"),
        (
            "BlockOnPollable",
            "blocked in wasi:io/poll.[method]pollable.block",
        ),
        ("PollList", "blocked in wasi:io/poll.poll"),
        (
            "ResourceFlood",
            "resource limit exceeded: the guest holds 1024 host resources",
        ),
    ];
    let ids = start_all(&t, &task_queue, &cases).await;
    healthy_runs_stay_prompt(&t, &task_queue, baseline, 2).await;
    for ((wf_type, expected), id) in cases.iter().zip(&ids) {
        let (message, took) = t.task_failure(id, Duration::from_secs(30)).await;
        assert!(
            message.contains(expected),
            "{wf_type}: {message:?} lacks {expected:?}"
        );
        if *wf_type != "ResourceFlood" {
            assert!(message.contains("durable timer"), "{wf_type}: {message:?}");
        }
        assert!(
            took < deadline + Duration::from_millis(500),
            "{wf_type}: the task ran {took:?} before failing (deadline {deadline:?})"
        );
    }
    for id in &ids {
        t.terminate(id).await;
    }
    host.stop().await.expect("clean shutdown");
}

/// A deadline pollable is ready only by workflow time: 200,000 reads of a
/// 1 ms deadline during one task all say "not yet" (real time would have
/// passed it), a durable timer makes it ready, and with no cache every
/// task replays the run from the start and sees the same answers (the
/// workflow branches on them, so a different answer would be
/// nondeterministic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_code_cannot_tell_real_time_by_polling() {
    let (v, t, id) = completed_without_cache("ReadyLoop").await;
    assert_eq!(
        v,
        serde_json::json!({"ready_before": 0, "ready_after": true, "zero_ready": true})
    );
    let timers = t
        .history(&id)
        .await
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::TimerStartedEventAttributes(_))
            )
        })
        .count();
    assert_eq!(
        timers, 1,
        "only the durable timer, never the real-time branch"
    );
}
