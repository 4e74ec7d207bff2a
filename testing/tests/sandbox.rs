//! The test environment's promises beyond the tutorial: skipped time across
//! hours of timers and activity timeouts, and a replay that catches a
//! workflow that is not deterministic.

use std::path::PathBuf;
use std::time::Instant;

use polyworker_testing::{Answer, Outcome, TestEnv, TestError};
use serde_json::json;
use temporalio_common::protos::temporal::api::enums::v1::TimeoutType;
use temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo;

fn component() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/workflows.wasm")
}

#[tokio::test]
async fn a_hanging_activity_after_an_hour_long_timer_times_out_in_well_under_a_second() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("Slow").answers(vec![Answer::Hangs]);
    let began = Instant::now();
    let run = env.execute("Impatient", &[]).await.unwrap();
    let took = began.elapsed();
    let Outcome::Failed(failure) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    // The activity's failure, caused by its start-to-close timeout.
    let cause = failure.cause.as_deref().expect("a cause");
    match &cause.failure_info {
        Some(FailureInfo::TimeoutFailureInfo(t)) => {
            assert_eq!(t.timeout_type(), TimeoutType::StartToClose)
        }
        other => panic!("not a timeout: {other:?}"),
    }
    assert_eq!(run.calls_of("Slow").len(), 1);
    assert!(took.as_secs_f64() < 1.0, "took {took:?}");
    env.shutdown().await;
}

#[tokio::test]
async fn timers_of_a_backlog_fire_in_the_order_they_are_due() {
    let env = TestEnv::start(component()).await.unwrap();
    // Five timers of 5, 4, …, 1 hours, started at once.
    let run = env
        .execute("Timers", &[json!(5), json!(3_600_000)])
        .await
        .unwrap();
    assert_eq!(run.result(), Some(&json!([4, 3, 2, 1, 0])));
    env.shutdown().await;
}

#[tokio::test]
async fn a_workflow_that_is_not_deterministic_fails_its_test_with_the_replay_report() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("Slow").returns(json!("slow"));
    match env.execute("Unsteady", &[]).await {
        Err(TestError::Nondeterministic { report, .. }) => {
            assert!(report.contains("Nondeterminism"), "{report}");
        }
        Ok(run) => panic!("it replayed: {:?}", run.outcome),
        Err(e) => panic!("{e}"),
    }
    env.shutdown().await;
}

#[tokio::test]
async fn an_activity_without_a_mock_fails_naming_its_type() {
    let env = TestEnv::start(component()).await.unwrap();
    let run = env.execute("Impatient", &[]).await.unwrap();
    let Outcome::Failed(failure) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    assert!(
        format!("{failure:?}").contains("no mock for activity type \\\"Slow\\\""),
        "{failure:?}"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_missing_component_is_a_clear_error() {
    match TestEnv::start("/nonexistent/guest.wasm").await {
        Err(e @ TestError::Component(_)) => assert!(e.to_string().contains("no component")),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("started"),
    }
}

#[tokio::test]
async fn signals_queries_and_updates_reach_a_run_at_chosen_points_of_virtual_time() {
    use std::time::Duration;
    let env = TestEnv::start(component()).await.unwrap();
    // Accumulate(2): sums two "add" signals; "total" answers (sum, count);
    // the "add" update adds too, refusing values over 1000.
    let run = env.start_workflow("Accumulate", &[json!(2)]).await.unwrap();
    run.signal("add", &[json!(5)]).await.unwrap();
    env.sleep(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(run.query("total", &[]).await.unwrap(), json!([5, 1]));
    assert_eq!(
        run.update("add", &[json!(10)]).await.unwrap(),
        Ok(json!(15))
    );
    let refused = run.update("add", &[json!(5000)]).await.unwrap();
    assert!(
        refused
            .as_ref()
            .is_err_and(|f| f.message.contains("too large")),
        "{refused:?}"
    );
    run.signal("add", &[json!(1)]).await.unwrap();
    let done = run.result().await.unwrap();
    assert_eq!(done.result(), Some(&json!(16)));
    env.shutdown().await;
}

fn hostile() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/hostile.wasm")
}

#[tokio::test]
async fn a_guest_trap_fails_the_test_at_once_naming_its_source_line() {
    let env = TestEnv::start(hostile()).await.unwrap();
    let began = Instant::now();
    // A panic's frames reach the panicking line; an `unreachable` is
    // attributed (after LLVM merges such blocks) to the enclosing frames,
    // still in the fixture's source.
    for (workflow, line) in [
        ("Panic", "hostile/src/lib.rs:46"),
        ("Trap", "hostile/src/lib.rs:"),
    ] {
        match env.execute(workflow, &[]).await {
            Err(TestError::WorkflowTaskFailed { message, .. }) => {
                assert!(message.contains("unreachable code reached"), "{message}");
                assert!(
                    message.contains("guest backtrace:") && message.contains(line),
                    "{workflow}: {message}"
                );
            }
            Ok(run) => panic!("{workflow}: {:?}", run.outcome),
            Err(e) => panic!("{workflow}: {e}"),
        }
    }
    assert!(began.elapsed().as_secs() < 10, "{:?}", began.elapsed());
    env.shutdown().await;
}

/// A query or an update of a run whose workflow task fails ends with that
/// failure instead of waiting for a task that never completes.
#[tokio::test]
async fn a_query_or_update_of_a_run_whose_task_fails_ends_with_the_failure() {
    let env = TestEnv::start(hostile()).await.unwrap();
    let began = Instant::now();
    let run = env.start_workflow("Panic", &[]).await.unwrap();
    match run.query("status", &[]).await {
        Err(TestError::WorkflowTaskFailed { message, .. }) => {
            assert!(message.contains("unreachable code reached"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    match run.update("bump", &[json!(1)]).await {
        Err(TestError::WorkflowTaskFailed { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(began.elapsed().as_secs() < 10, "{:?}", began.elapsed());
    env.shutdown().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_component_is_refused_with_the_loaders_reason() {
    let file = std::env::temp_dir().join(format!("not-a-component-{}.wasm", std::process::id()));
    std::fs::write(&file, b"hello").unwrap();
    match TestEnv::start(&file).await {
        Err(e @ TestError::Host(_)) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            assert!(text.contains("not a WebAssembly"), "{text}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("started"),
    }
    let _ = std::fs::remove_file(&file);
}

/// A mock heartbeats, then fails its first attempt; the retry sees the
/// details, as a real activity resuming from its last heartbeat would.
#[tokio::test]
async fn a_retry_sees_the_heartbeat_details_of_the_attempt_before() {
    let component = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests/js/sdk.wasm");
    let env = TestEnv::start(component).await.unwrap();
    env.on_activity("Resume").with(|call| match call.attempt {
        1 => Answer::heartbeat(vec![json!(3)], Answer::fails("crashed", "Crash")),
        _ => Answer::Returns(json!({"resumedFrom": call.heartbeat_details.first()})),
    });
    let run = env
        .execute("CallActivity", &[json!("Resume"), json!([5]), json!(2)])
        .await
        .unwrap();
    assert_eq!(
        run.result(),
        Some(&json!({"resumedFrom": 3})),
        "{:?}",
        run.outcome
    );
    let calls = run.calls_of("Resume");
    assert_eq!(calls.len(), 2);
    assert!(calls[0].heartbeat_details.is_empty());
    assert_eq!(calls[1].heartbeat_details, vec![json!(3)]);
    env.shutdown().await;
}
