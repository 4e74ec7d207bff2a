//! The Rust SDK's workflow features end to end: child workflows, signals
//! (buffered until read) and queries.

use std::time::Duration;

use polyworker_tests::{Outcome, eventually, guest, serve, unique};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_workflows_return_their_results_to_the_parent() {
    let (task_queue, host, t) = serve("children", vec![guest("workflows")]).await;
    let id = unique("parent");
    t.start(&task_queue, "Parent", &id, &[json!(5)]).await;
    match t.outcome(&id, Duration::from_secs(60)).await {
        Outcome::Completed(v) => assert_eq!(v, json!(22), "5*2 + 6*2"),
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_queries_and_updates_reach_the_workflow() {
    let (task_queue, host, t) = serve("signals", vec![guest("workflows")]).await;
    let id = unique("accumulate");
    t.start(&task_queue, "Accumulate", &id, &[json!(3)]).await;
    t.signal(&id, "add", json!(10)).await;
    t.signal(&id, "add", json!(20)).await;
    // Both signals are in the history now; the query is answered from the
    // workflow's state once it has applied them.
    eventually(
        Duration::from_secs(20),
        "the query sees both signals",
        || async {
            let total = t.query(&id, "total").await;
            if total == json!([30, 2]) {
                Ok(())
            } else {
                Err(total)
            }
        },
    )
    .await;
    // Updates: validated, accepted, handled (the handler waits on a timer)
    // and answered with the new state.
    assert_eq!(t.update(&id, "add", json!(5)).await, Ok(json!(35)));
    let refused = t.update(&id, "add", json!(5000)).await;
    assert!(
        matches!(&refused, Err(m) if m.contains("5000 is too large")),
        "{refused:?}"
    );
    assert!(t.update(&id, "no-such-update", json!(1)).await.is_err());
    t.signal(&id, "add", json!(7)).await;
    match t.outcome(&id, Duration::from_secs(30)).await {
        Outcome::Completed(v) => assert_eq!(v, json!(42), "10 + 20 + 5 (update) + 7"),
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_sees_its_cancellation_and_ends_cancelled() {
    let (task_queue, host, t) = serve("wf-cancel", vec![guest("workflows")]).await;
    let id = unique("cancellable");
    t.start(&task_queue, "Cancellable", &id, &[]).await;
    t.cancel(&id).await;
    assert!(matches!(
        t.outcome(&id, Duration::from_secs(30)).await,
        Outcome::Cancelled
    ));
    // The same workflow, signalled instead, takes the other branch.
    let id = unique("signalled");
    t.start(&task_queue, "Cancellable", &id, &[]).await;
    t.signal(&id, "go", json!(null)).await;
    match t.outcome(&id, Duration::from_secs(30)).await {
        Outcome::Completed(v) => assert_eq!(v, "went"),
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_as_new_starts_fresh_runs_with_new_arguments() {
    let (task_queue, host, t) = serve("can", vec![guest("workflows")]).await;
    let id = unique("countdown");
    t.start(&task_queue, "Countdown", &id, &[json!(3)]).await;
    match t.outcome(&id, Duration::from_secs(60)).await {
        Outcome::Completed(v) => assert_eq!(v, json!(4), "runs for n = 3, 2, 1, 0"),
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}
