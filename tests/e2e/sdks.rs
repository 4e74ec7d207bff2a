//! The thin SDKs end to end, one suite for every language (versioning is
//! in `hot_swap`'s `sdks`): determinism
//! (clocks, randomness, replay), signals, queries, updates, conditions,
//! patching, cancellation, failures, continue-as-new and activities
//! (heartbeat resume, async functions, errors). Each language's fixture
//! (`tests/fixtures-<lang>/sdk`) implements the same workflow and activity
//! types in that language's idiom.

use std::path::PathBuf;
use std::time::Duration;

use polyworker_host::temporal::replay::{self, ReplayInput};
use polyworker_tests::{Outcome, Sdk, Temporal, TestHost, config, engine, queue, serve, unique};
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const WAIT: Duration = Duration::from_secs(60);

/// Each SDK's fixture for this suite.
fn module(sdk: Sdk) -> PathBuf {
    sdk.fixture("sdk")
}

/// Determinism, signals, queries, updates with validators, conditions,
/// patches, cancellation and heartbeats run against every language's
/// fixture; each language lists the further tests its fixture has: failure
/// kinds and continue-as-new (a C workflow has no exceptions to throw), and
/// async activities whose errors carry the language's error class
/// (JavaScript and Python).
macro_rules! suite {
    ($($lang:ident => $sdk:expr, [$($extra:ident),*]),* $(,)?) => {$(
        mod $lang {
            use polyworker_tests::Sdk;
            const SDK: Sdk = $sdk;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn clocks_and_randomness_replay_identically() {
                super::clocks_and_randomness_replay_identically(SDK).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn signals_queries_patches_and_cancellation() {
                super::signals_queries_patches_and_cancellation(SDK).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn signals_queries_updates_conditions_and_patches() {
                super::signals_queries_updates_conditions_and_patches(SDK).await
            }
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $extra() {
                    super::$extra(SDK).await
                }
            )*
        }
    )*};
}

suite!(
    js => Sdk::Js, [failures_and_continue_as_new, activities_await_and_fail],
    js_spidermonkey => Sdk::JsSpiderMonkey, [failures_and_continue_as_new, activities_await_and_fail],
    python => Sdk::Python, [failures_and_continue_as_new, activities_await_and_fail],
    go => Sdk::Go, [failures_and_continue_as_new],
    c => Sdk::C, [],
);

/// Each language's own blocking sleep (Python's `time.sleep`, Go's
/// `time.Sleep`, C's `sleep`) in workflow code fails the task at once,
/// saying to use the durable timer; JavaScript has no blocking sleep.
mod language_sleep {
    use polyworker_tests::Sdk;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn python() {
        super::a_language_sleep_fails_the_task_at_once(Sdk::Python).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn go() {
        super::a_language_sleep_fails_the_task_at_once(Sdk::Go).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn c() {
        super::a_language_sleep_fails_the_task_at_once(Sdk::C).await
    }
}

async fn a_language_sleep_fails_the_task_at_once(sdk: Sdk) {
    let (task_queue, host, t) = serve("sdk-sleep", vec![module(sdk)]).await;
    let id = unique("sdk-sleep");
    t.start(&task_queue, "Sleep", &id, &[]).await;
    let (message, took) = t.task_failure(&id, WAIT).await;
    eprintln!("{sdk:?}: the task failed after {took:?}: {message}");
    assert!(
        message.contains("blocked in wasi:io/poll") && message.contains("durable timer"),
        "{sdk:?}: {message}"
    );
    // The default deadline is 2 s; the sleep is 10 s.
    assert!(took < Duration::from_millis(2500), "{sdk:?}: {took:?}");
    t.terminate(&id).await;
    host.stop().await.expect("clean shutdown");
}

async fn completed(t: &Temporal, id: &str) -> Value {
    match t.outcome(id, WAIT).await {
        Outcome::Completed(v) => v,
        other => panic!("{id}: {other:?}"),
    }
}

async fn clocks_and_randomness_replay_identically(sdk: Sdk) {
    // No sticky cache: every workflow task replays the run from the start in
    // a fresh instance, so the final result holds values recomputed by a replay.
    let task_queue = unique("sdk-determinism");
    let mut q = queue(&task_queue, vec![module(sdk)]);
    q.max_cached_workflows = 0;
    let host = TestHost::start(config(vec![q])).await;
    let t = Temporal::connect().await;
    let id = unique("sdk-det");
    t.start(&task_queue, "Determinism", &id, &[]).await;
    let other = unique("sdk-det");
    t.start(&task_queue, "Determinism", &other, &[]).await;
    let result = completed(&t, &id).await;
    // Each run has its own seed.
    let other = completed(&t, &other).await;
    assert_ne!(result["before"]["rand"], other["before"]["rand"]);

    let history = t.history(&id).await;
    let recorded: Value = history
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => a
                .input
                .as_ref()
                .and_then(|p| p.payloads.first())
                .map(|p| serde_json::from_slice(&p.data).expect("JSON input")),
            _ => None,
        })
        .expect("Echo was scheduled");
    let before = &result["before"];
    assert_eq!(before, &recorded, "a replay recomputed different values");
    let after = &result["after"];
    assert_ne!(before["rand"], after["rand"]);
    assert_ne!(before["uuid"], after["uuid"]);
    // The clock reads workflow time: the first task's time, at or after the
    // start (to the millisecond; a loaded machine may pick the task up
    // seconds later), and at
    // least the timer's second later after the timer.
    let (b, a) = (
        before["now"].as_f64().expect("a number"),
        after["now"].as_f64().expect("a number"),
    );
    assert!(a - b >= 1000.0, "{result}");
    let start = result["start"].as_f64().expect("a number");
    assert!(b >= start - 1.0 && b - start < 60_000.0, "{result}");
    host.stop().await.expect("clean shutdown");

    // The history replays against the module without a non-determinism error.
    let input = ReplayInput {
        source: id.clone(),
        workflow_id: id.clone(),
        history: temporalio_common::protos::temporal::api::history::v1::History { events: history },
    };
    let reports = replay::replay_file(&module(sdk), &engine(), vec![input], None)
        .await
        .expect("replay runs");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].failure, None, "{:?}", reports[0]);
}

async fn signals_queries_updates_conditions_and_patches(sdk: Sdk) {
    let (task_queue, host, t) = serve("sdk-features", vec![module(sdk)]).await;
    let id = unique("sdk-features");
    t.start(&task_queue, "Features", &id, &[]).await;
    assert_eq!(
        t.query(&id, "status").await,
        json!({"approvedBy": null, "counter": 0})
    );
    let rejected = t.update(&id, "bump", json!(-1)).await;
    assert!(
        rejected
            .as_ref()
            .is_err_and(|m| m.contains("n must be positive")),
        "{rejected:?}"
    );
    assert_eq!(t.update(&id, "bump", json!(2)).await, Ok(json!(2)));
    assert_eq!(t.update(&id, "bump", json!(3)).await, Ok(json!(5)));
    t.signal(&id, "approve", json!("ann")).await;
    let result = completed(&t, &id).await;
    assert_eq!(
        result,
        json!({"approved": true, "approvedBy": "ann", "counter": 5, "shouted": ["AA", "BB"], "v2": true})
    );
    let marker = t.history(&id).await.iter().any(|e| {
        matches!(e.attributes, Some(Attributes::MarkerRecordedEventAttributes(ref m)) if m.marker_name == "core_patch")
    });
    assert!(marker, "patched() records a marker on a new run");

    let id = unique("sdk-cond");
    t.start(&task_queue, "ConditionTimeout", &id, &[]).await;
    assert_eq!(completed(&t, &id).await, json!({"met": false}));
    host.stop().await.expect("clean shutdown");
}

async fn signals_queries_patches_and_cancellation(sdk: Sdk) {
    let (task_queue, host, t) = serve("sdk-common", vec![module(sdk)]).await;

    let id = unique("sdk-approval");
    t.start(&task_queue, "Approval", &id, &[]).await;
    assert_eq!(t.query(&id, "status").await, json!({"approvedBy": null}));
    t.signal(&id, "approve", json!("ann")).await;
    assert_eq!(
        completed(&t, &id).await,
        json!({"approvedBy": "ann", "shouted": "AA", "v2": true})
    );
    let marker = t.history(&id).await.iter().any(|e| {
        matches!(e.attributes, Some(Attributes::MarkerRecordedEventAttributes(ref m)) if m.marker_name == "core_patch")
    });
    assert!(marker, "patched() records a marker on a new run");

    let id = unique("sdk-cancel");
    t.start(&task_queue, "Cancellable", &id, &[]).await;
    t.wait_for_event(&id, WAIT, |e| {
        matches!(
            e.attributes,
            Some(Attributes::TimerStartedEventAttributes(_))
        )
    })
    .await;
    t.cancel(&id).await;
    assert!(matches!(t.outcome(&id, WAIT).await, Outcome::Cancelled));
    let cleaned = t.history(&id).await.iter().any(|e| {
        matches!(
            e.attributes,
            Some(Attributes::ActivityTaskCompletedEventAttributes(_))
        )
    });
    assert!(
        cleaned,
        "the workflow ran its cleanup activity after the cancel"
    );

    let id = unique("sdk-resume");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!("Resume"), json!([5]), json!(2)],
    )
    .await;
    assert_eq!(
        completed(&t, &id).await,
        json!({"attempt": 2, "resumedFrom": 3}),
        "the retry resumed from the last heartbeat"
    );
    host.stop().await.expect("clean shutdown");
}

async fn failures_and_continue_as_new(sdk: Sdk) {
    let (task_queue, host, t) = serve("sdk-lifecycle", vec![module(sdk)]).await;

    let id = unique("sdk-fail");
    t.start(&task_queue, "Fail", &id, &[json!("application")])
        .await;
    match t.outcome(&id, WAIT).await {
        Outcome::Failed(m) => assert_eq!(m, "the workflow gives up"),
        other => panic!("{other:?}"),
    }

    // A TypeError is a bug: the workflow task fails (and would be retried
    // once fixed); the workflow itself stays open.
    let id = unique("sdk-bug");
    t.start(&task_queue, "Fail", &id, &[json!("bug")]).await;
    let failed = t
        .wait_for_event(&id, WAIT, |e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskFailedEventAttributes(_))
            )
        })
        .await;
    let Some(Attributes::WorkflowTaskFailedEventAttributes(f)) = failed.attributes else {
        unreachable!()
    };
    let (message, stack) = f
        .failure
        .map(|f| (f.message, f.stack_trace))
        .unwrap_or_default();
    assert!(
        message.contains("boom"),
        "the language's own error message: {message}"
    );
    if matches!(sdk, Sdk::Js | Sdk::JsSpiderMonkey) {
        // Frames name the author's file and line, not the bundle's.
        assert!(
            stack.contains("tests/fixtures-js/sdk/src/index.js:103"),
            "the stack trace points at the fixture's source: {stack}"
        );
    }
    t.terminate(&id).await;

    let id = unique("sdk-can");
    t.start(&task_queue, "Continue", &id, &[json!(0)]).await;
    assert_eq!(completed(&t, &id).await, json!({"n": 2, "firstRun": true}));
    host.stop().await.expect("clean shutdown");
}

async fn activities_await_and_fail(sdk: Sdk) {
    let (task_queue, host, t) = serve("sdk-activities", vec![module(sdk)]).await;

    let id = unique("sdk-async");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!("AsyncActivity"), json!([20])],
    )
    .await;
    assert_eq!(completed(&t, &id).await, json!(41));

    let id = unique("sdk-throws");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!("Throws"), json!([])],
    )
    .await;
    match t.outcome(&id, WAIT).await {
        Outcome::Failed(m) => assert!(m.contains("Activity task failed"), "{m}"),
        other => panic!("{other:?}"),
    }
    let failure = t
        .history(&id)
        .await
        .into_iter()
        .find_map(|e| match e.attributes {
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => a.failure,
            _ => None,
        })
        .expect("the activity failed");
    assert_eq!(failure.message, "a plain error");
    let error_type = match failure.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(a)) => a.r#type,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        error_type, "TypeError",
        "the language's error class names the failure type"
    );
    host.stop().await.expect("clean shutdown");
}
