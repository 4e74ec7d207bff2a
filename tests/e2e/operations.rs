//! Running a fleet: graceful shutdown under a stream of work, a second
//! signal, a backlog after downtime, a killed host, a restarted server.

use std::time::Duration;

use polyworker_tests::{
    HostProcess, Outcome, OwnServer, Temporal, TestHost, config, eventually, free_address, guest,
    http_get, queue, server, unique,
};
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// The `[[task_queue]]` table of the process tests.
fn queue_toml(name: &str, graceful_ms: u64) -> String {
    format!(
        "[[task_queue]]\nname = \"{name}\"\nmodules = [\"{}\", \"{}\"]\n\
         max_cached_workflows = 50\nmax_concurrent_workflow_tasks = 10\n\
         max_concurrent_activities = 10\ngraceful_shutdown_ms = {graceful_ms}\n",
        guest("activities").display(),
        guest("workflows").display(),
    )
}

fn sleep_call(ms: u64, max_attempts: u32) -> Value {
    json!({
        "activity_type": "Sleep",
        "args": [ms],
        "max_attempts": max_attempts,
        "start_to_close_ms": 3000,
    })
}

fn seconds(e: &HistoryEvent) -> f64 {
    e.event_time
        .as_ref()
        .map(|t| t.seconds as f64 + t.nanos as f64 / 1e9)
        .unwrap_or_default()
}

/// How long the run took by its own history, first event to last.
fn run_time(history: &[HistoryEvent]) -> Duration {
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return Duration::ZERO;
    };
    Duration::from_secs_f64((seconds(last) - seconds(first)).max(0.0))
}

fn count(history: &[HistoryEvent], pred: impl Fn(&Attributes) -> bool) -> usize {
    history
        .iter()
        .filter(|e| e.attributes.as_ref().is_some_and(&pred))
        .count()
}

/// The events of a run with their offsets and the identities that acted,
/// for assertion messages.
fn timeline(history: &[HistoryEvent]) -> String {
    let start = history.first().map(seconds).unwrap_or_default();
    let head = format!("(offsets from {start:.3} s after the epoch)");
    std::iter::once(head)
        .chain(history.iter().map(|e| {
            let who = match &e.attributes {
                Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => a.identity.as_str(),
                Some(Attributes::ActivityTaskStartedEventAttributes(a)) => a.identity.as_str(),
                Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => a.identity.as_str(),
                _ => "",
            };
            let what = EventType::try_from(e.event_type)
                .map(|t| t.as_str_name())
                .unwrap_or("?");
            format!("{:>7.3}s {what} {who}", seconds(e) - start)
        }))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The numbers of a JSON array, sorted.
fn sorted(v: &Value) -> Vec<u64> {
    let mut xs: Vec<u64> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    xs.sort_unstable();
    xs
}

/// Whether `identity` worked on this run (a workflow or activity task).
fn worked_on(history: &[HistoryEvent], identity: &str) -> bool {
    history.iter().any(|e| match &e.attributes {
        Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => a.identity == identity,
        Some(Attributes::ActivityTaskStartedEventAttributes(a)) => a.identity == identity,
        _ => false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_one_of_two_hosts_and_no_workflow_fails() {
    let task_queue = unique("graceful");
    let toml = queue_toml(&task_queue, 5_000);
    let (a_name, b_name) = (format!("{task_queue}-a"), format!("{task_queue}-b"));
    let mut a = HostProcess::spawn(&a_name, &server().address(), &toml);
    let mut b = HostProcess::spawn(&b_name, &server().address(), &toml);
    a.ready(Duration::from_secs(60)).await;
    b.ready(Duration::from_secs(60)).await;
    let t = Temporal::connect().await;

    // A steady stream: one short workflow every 200 ms, each running a
    // 400 ms activity that may not be retried. Host A is told to stop a
    // third of the way through.
    let mut ids = Vec::new();
    let mut a_exit = None;
    for i in 0..24 {
        let id = unique("stream");
        t.start(&task_queue, "CallActivity", &id, &[sleep_call(400, 1)])
            .await;
        if i == 8 {
            // Stop A with the stream's work in flight: once this workflow's
            // activity has started on one of the hosts.
            t.wait_for_started_activity(&id, Duration::from_secs(30))
                .await;
            a.signal("TERM");
        }
        ids.push(id);
        if i > 8 && a_exit.is_none() {
            a_exit = a.exited(Duration::ZERO).await;
        }
        // The stream's pace (a rate, not a wait for state).
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let a_exit = match a_exit {
        Some(s) => s,
        None => a
            .exited(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("host A did not exit after SIGTERM:\n{}", a.log())),
    };
    assert!(
        a_exit.success(),
        "host A exited with {a_exit}:\n{}",
        a.log()
    );

    let mut a_worked = 0;
    let mut late = Vec::new();
    for id in &ids {
        let outcome = t.outcome(id, Duration::from_secs(60)).await;
        assert!(
            matches!(&outcome, Outcome::Completed(v) if v["ok"] == 400),
            "{id}: {outcome:?}\nhost A:\n{}",
            a.log()
        );
        let history = t.history(id).await;
        assert_eq!(
            count(&history, |a| matches!(
                a,
                Attributes::WorkflowTaskFailedEventAttributes(_)
            )),
            0,
            "{id}: no workflow task fails:\n{}",
            timeline(&history)
        );
        let took = run_time(&history);
        if took >= Duration::from_secs(10) {
            // Core 0.10.1 ends its workflow stream at shutdown without
            // waiting for the polls in flight: a task the server handed A
            // in those milliseconds waits out its timeout, then B runs it.
            // Anything else that makes a run late is a failure.
            let timed_out_on_a = history.windows(2).any(|w| {
                matches!(&w[0].attributes,
                    Some(Attributes::WorkflowTaskStartedEventAttributes(s)) if s.identity == a_name)
                    && matches!(
                        w[1].attributes,
                        Some(Attributes::WorkflowTaskTimedOutEventAttributes(_))
                    )
            });
            assert!(
                timed_out_on_a && took < Duration::from_secs(12),
                "{id} took {took:?}:\n{}\nhost A:\n{}",
                timeline(&history),
                a.log()
            );
            late.push(id.clone());
        }
        if worked_on(&history, &a_name) {
            a_worked += 1;
        }
    }
    // Those are at most the tasks in flight to A at that moment.
    assert!(
        late.len() <= 2,
        "{} runs waited for a workflow-task timeout: {late:?}",
        late.len()
    );
    assert!(
        a_worked > 0,
        "host A served none of the stream before it stopped"
    );
    b.signal("TERM");
    let b_exit = b.exited(Duration::from_secs(30)).await;
    assert!(
        b_exit.is_some_and(|s| s.success()),
        "host B: {b_exit:?}\n{}",
        b.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let task_queue = unique("second-signal");
    let mut host = HostProcess::spawn(
        &task_queue,
        &server().address(),
        &queue_toml(&task_queue, 60_000),
    );
    host.ready(Duration::from_secs(60)).await;
    let t = Temporal::connect().await;
    let id = unique("long");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!({"activity_type": "Sleep", "args": [30_000], "start_to_close_ms": 60_000})],
    )
    .await;
    t.wait_for_started_activity(&id, Duration::from_secs(30))
        .await;
    host.signal("TERM");
    // The first signal waits for the activity (up to the 60 s period)...
    assert!(
        host.exited(Duration::from_secs(2)).await.is_none(),
        "the host left before its in-flight activity finished:\n{}",
        host.log()
    );
    // ...the second does not.
    host.signal("TERM");
    let status = host.exited(Duration::from_secs(5)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{}", host.log());
    t.terminate(&id).await;
}

/// How many of `ids` have at least `n` events of the kind `kind` picks, all
/// histories read at once: 200 reads one after the other take long enough
/// under load for the timers under test to fire meanwhile.
async fn runs_with(t: &Temporal, ids: &[String], n: usize, kind: fn(&Attributes) -> bool) -> usize {
    let mut reads = tokio::task::JoinSet::new();
    for id in ids {
        let (t, id) = (t.clone(), id.clone());
        reads.spawn(async move { count(&t.history(&id).await, kind) >= n });
    }
    reads
        .join_all()
        .await
        .into_iter()
        .filter(|&done| done)
        .count()
}

/// Waits until each of `ids` has three events of the kind `kind` picks.
async fn every_run_has(t: &Temporal, ids: &[String], kind: fn(&Attributes) -> bool, what: &str) {
    eventually(Duration::from_secs(60), what, || async {
        match runs_with(t, ids, 3, kind).await {
            n if n == ids.len() => Ok(()),
            n => Err(format!("{n} of {}", ids.len())),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_timers_completes_after_downtime() {
    const RUNS: usize = 200;
    let task_queue = unique("backlog");
    let t = Temporal::connect().await;
    // Three timers each (18 s, 12 s, 6 s), started together. The guest
    // reports the order its timer futures completed in: the reverse of
    // their start order when they fire one by one, argument order when
    // they arrive in one activation. The runs are started before the host,
    // so their first tasks come in one burst and the host can be stopped
    // well before the shortest timer fires.
    let mut ids = Vec::new();
    for _ in 0..RUNS {
        let id = unique("backlog");
        t.start(&task_queue, "Timers", &id, &[json!(3), json!(6000)])
            .await;
        ids.push(id);
    }
    let host = TestHost::start(config(vec![queue(&task_queue, vec![guest("workflows")])])).await;
    let started = |a: &Attributes| matches!(a, Attributes::TimerStartedEventAttributes(_));
    let fired = |a: &Attributes| matches!(a, Attributes::TimerFiredEventAttributes(_));
    every_run_has(&t, &ids, started, "every run starts its three timers").await;
    host.stop().await.expect("clean shutdown");
    // While no host runs, every timer fires.
    every_run_has(&t, &ids, fired, "every run's three timers fire").await;
    let host = TestHost::start(config(vec![queue(&task_queue, vec![guest("workflows")])])).await;
    let mut batched = 0;
    for id in &ids {
        let outcome = t.outcome(id, Duration::from_secs(90)).await;
        assert!(
            matches!(&outcome, Outcome::Completed(v) if sorted(v) == [0, 1, 2]),
            "{id}: {outcome:?}"
        );
        // All three firings reached the guest in one activation when the
        // last workflow task before them came before the first firing.
        let h = t.history(id).await;
        let fired: Vec<usize> = (0..h.len())
            .filter(|&i| {
                matches!(
                    h[i].attributes,
                    Some(Attributes::TimerFiredEventAttributes(_))
                )
            })
            .collect();
        let task_between = fired.windows(2).any(|w| {
            h[w[0]..w[1]].iter().any(|e| {
                matches!(
                    e.attributes,
                    Some(Attributes::WorkflowTaskStartedEventAttributes(_))
                )
            })
        });
        if !task_between {
            batched += 1;
            assert!(
                matches!(&outcome, Outcome::Completed(v) if *v == json!([0, 1, 2])),
                "{id}: a batch completes the futures in argument order: {outcome:?}"
            );
        }
    }
    assert!(
        batched > RUNS / 2,
        "only {batched} of {RUNS} runs got their timers in one batch"
    );
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_host_loses_no_work_and_records_no_result_twice() {
    let task_queue = unique("crash");
    let toml = queue_toml(&task_queue, 5_000);
    let mut a = HostProcess::spawn(&format!("{task_queue}-a"), &server().address(), &toml);
    a.ready(Duration::from_secs(60)).await;
    let t = Temporal::connect().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let id = unique("crash");
        t.start(&task_queue, "CallActivity", &id, &[sleep_call(500, 3)])
            .await;
        if i == 10 {
            // Kill A in the middle of an activity, not between tasks.
            t.wait_for_started_activity(&id, Duration::from_secs(30))
                .await;
            a.signal("KILL");
        }
        ids.push(id);
        // The load: one workflow every 100 ms (a rate, not a wait for state).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(a.exited(Duration::from_secs(10)).await.is_some());
    let mut b = HostProcess::spawn(&format!("{task_queue}-b"), &server().address(), &toml);
    b.ready(Duration::from_secs(60)).await;
    for id in &ids {
        let outcome = t.outcome(id, Duration::from_secs(90)).await;
        assert!(
            matches!(&outcome, Outcome::Completed(v) if v["ok"] == 500),
            "{id}: {outcome:?}\n{}",
            b.log()
        );
        let h = t.history(id).await;
        let scheduled = count(&h, |a| {
            matches!(a, Attributes::ActivityTaskScheduledEventAttributes(_))
        });
        let completed = count(&h, |a| {
            matches!(a, Attributes::ActivityTaskCompletedEventAttributes(_))
        });
        assert_eq!(
            (scheduled, completed),
            (1, 1),
            "{id}: one activity, one result"
        );
    }
    b.signal("TERM");
    assert!(b.exited(Duration::from_secs(30)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_reconnects_after_the_server_restarts() {
    let dir = std::env::temp_dir().join(unique("server-restart"));
    let mut own = OwnServer::new(&dir);
    own.start().await;
    let task_queue = unique("reconnect");
    let health = free_address();
    let mut cfg = config(vec![queue(
        &task_queue,
        vec![guest("workflows"), guest("activities")],
    )]);
    cfg.server.address = own.address();
    cfg.metrics.health = Some(health);
    let host = TestHost::start(cfg).await;
    let ready = |want: bool| async move {
        let what = format!("/readyz answers ready={want}");
        eventually(Duration::from_secs(60), &what, || async {
            let r = http_get(health, "/readyz").await;
            if r.starts_with("HTTP/1.0 200") == want {
                Ok(r)
            } else {
                Err(r)
            }
        })
        .await
    };
    ready(true).await;
    let t = Temporal::connect_to(&own.address()).await;
    let before: Vec<String> = (0..5).map(|_| unique("before")).collect();
    for id in &before {
        t.start(&task_queue, "Timers", id, &[json!(2), json!(1500)])
            .await;
    }
    t.wait_for_event(&before[4], Duration::from_secs(30), |e| {
        matches!(
            e.attributes,
            Some(Attributes::TimerStartedEventAttributes(_))
        )
    })
    .await;
    own.stop().await;
    let down = ready(false).await;
    assert!(down.contains("does not answer"), "{down}");
    own.start().await;
    ready(true).await;
    // Work started before the restart finishes, and new work runs.
    let t = Temporal::connect_to(&own.address()).await;
    let after = unique("after");
    t.start(&task_queue, "CallActivity", &after, &[sleep_call(100, 1)])
        .await;
    for id in &before {
        let outcome = t.outcome(id, Duration::from_secs(60)).await;
        assert!(
            matches!(&outcome, Outcome::Completed(v) if sorted(v) == [0, 1]),
            "{id}: {outcome:?}"
        );
    }
    let outcome = t.outcome(&after, Duration::from_secs(60)).await;
    assert!(
        matches!(&outcome, Outcome::Completed(v) if v["ok"] == 100),
        "{outcome:?}"
    );
    host.stop().await.expect("clean shutdown");
    own.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_every_task_tag() {
    let task_queue = unique("json-logs");
    let mut host = HostProcess::spawn(
        &task_queue,
        &server().address(),
        &queue_toml(&task_queue, 1_000),
    );
    host.ready(Duration::from_secs(60)).await;
    let t = Temporal::connect().await;
    let id = unique("logged");
    let run_id = t
        .start(&task_queue, "CallActivity", &id, &[sleep_call(50, 1)])
        .await;
    assert!(matches!(
        t.outcome(&id, Duration::from_secs(30)).await,
        Outcome::Completed(_)
    ));
    let digest = polyworker_host::runtime::digest(&std::fs::read(guest("activities")).unwrap());
    let want = json!({
        "message": "sleeping 50 ms",
        "namespace": "default",
        "task_queue": task_queue,
        "workflow_type": "CallActivity",
        "workflow_id": id,
        "run_id": run_id,
        "activity_type": "Sleep",
        "attempt": 1,
        "module_digest": digest,
    });
    // The guest's line, forwarded with the task's tags, one JSON object
    // per line.
    let line = eventually(Duration::from_secs(10), "the guest's log line", || async {
        let log = host.log();
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["fields"]["message"] == "sleeping 50 ms")
            .ok_or(format!("no guest line in:\n{log}"))
    })
    .await;
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&line["fields"][k], v, "{k} in {line}");
    }
    assert_eq!(line["level"], "INFO", "{line}");
    assert!(
        host.log()
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "every line is JSON:\n{}",
        host.log()
    );
    host.signal("TERM");
    assert!(host.exited(Duration::from_secs(30)).await.is_some());
}
