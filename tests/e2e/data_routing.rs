//! The data-routing example end to end against a real dev server: one
//! suite, run against every language's implementation of the example (same
//! workflow and activity types, same inputs and outputs).

use std::path::PathBuf;
use std::time::Duration;

use polyworker_tests::{
    Outcome, Temporal, TestHost, c_guest, config, go_guest, guest, js_guest, py_guest, queue,
    server, temporal_cli, transmit_service, unique,
};
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::history::v1::{
    HistoryEvent, history_event::Attributes,
};

/// One implementation of the example.
#[derive(Debug, Clone, Copy)]
enum Example {
    Rust,
    Js,
    JsSpiderMonkey,
    TypeScript,
    Python,
    C,
    Go,
}

impl Example {
    fn module(self) -> PathBuf {
        match self {
            Example::Rust => guest("data_routing"),
            Example::Js => js_guest("data-routing-js"),
            Example::JsSpiderMonkey => js_guest("data-routing-js-spidermonkey"),
            Example::TypeScript => js_guest("data-routing-ts"),
            Example::Python => py_guest("data-routing-py"),
            Example::C => c_guest("data-routing-c"),
            Example::Go => go_guest("data-routing-go"),
        }
    }
}

/// Runs every test of the suite against each named implementation.
macro_rules! suite {
    ($($lang:ident => $example:expr),* $(,)?) => {$(
        mod $lang {
            use super::Example;
            const EXAMPLE: Example = $example;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delivered_when_started_from_the_temporal_cli() {
                super::delivered_when_started_from_the_temporal_cli(EXAMPLE).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_silent_route_lands_in_failed_route_providers() {
                super::a_silent_route_lands_in_failed_route_providers(EXAMPLE).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn get_route_retries_are_visible_in_history() {
                super::get_route_retries_are_visible_in_history(EXAMPLE).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn exhausted_route_retries_fail_the_workflow_with_the_activity_error() {
                super::exhausted_route_retries_fail_the_workflow_with_the_activity_error(EXAMPLE)
                    .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn http_outside_the_allowlist_is_denied_to_the_guest() {
                super::http_outside_the_allowlist_is_denied_to_the_guest(EXAMPLE).await
            }
        }
    )*};
}

suite!(
    rust => Example::Rust,
    js => Example::Js,
    js_spidermonkey => Example::JsSpiderMonkey,
    typescript => Example::TypeScript,
    python => Example::Python,
    c => Example::C,
    go => Example::Go,
);

/// A host serving the example on a fresh queue, talking to a transmit service.
async fn start(example: Example, env: &[(&str, &str)], transmit_url: &str) -> (String, TestHost) {
    let allow = transmit_url.trim_start_matches("http://").to_string();
    start_with_allowlist(example, env, transmit_url, vec![allow]).await
}

async fn start_with_allowlist(
    example: Example,
    env: &[(&str, &str)],
    transmit_url: &str,
    http_allowlist: Vec<String>,
) -> (String, TestHost) {
    let task_queue = unique("data-routing");
    let mut q = queue(&task_queue, vec![example.module()]);
    q.http_allowlist = http_allowlist;
    q.env
        .insert("TRANSMIT_SERVICE_URL".into(), transmit_url.into());
    for (k, v) in env {
        q.env.insert((*k).into(), (*v).into());
    }
    let host = TestHost::start(config(vec![q])).await;
    (task_queue, host)
}

fn packet(id: &str) -> Value {
    json!({"ID": id, "Source": "client", "Destination": "datacenter", "Contents": "payload"})
}

fn activity_type_of(history: &[HistoryEvent], scheduled_id: i64) -> String {
    history
        .iter()
        .find(|e| e.event_id == scheduled_id)
        .and_then(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                a.activity_type.as_ref().map(|t| t.name.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

async fn delivered_when_started_from_the_temporal_cli(example: Example) {
    let (url, _svc) = transmit_service(200, 0.0, &[]).await;
    let (task_queue, host) = start(example, &[("ROUTE_ERROR_CHANCE", "0")], &url).await;
    let id = unique("cli");
    let out = tokio::process::Command::new(temporal_cli())
        .args(["workflow", "execute", "--address", &server().host_port()])
        .args(["--task-queue", &task_queue, "--type", "DataRoutingWorkflow"])
        .args([
            "--workflow-id",
            &id,
            "--input",
            &packet("p-cli").to_string(),
            "-o",
            "json",
        ])
        .output()
        .await
        .expect("run temporal workflow execute");
    assert!(
        out.status.success(),
        "temporal CLI failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("CLI prints JSON");
    let result = &printed["result"];
    assert_eq!(result["Status"], "STATUS_DELIVERED", "{printed:#}");
    assert_eq!(result["CurrentRouteProvider"], "RouteA");
    assert_eq!(result["ID"], "p-cli");

    // The transmit service, not the worker, completed TransmitActivity: the
    // completion carries the service's identity (async completion by token).
    let t = Temporal::connect().await;
    let history = t.history(&id).await;
    let completed_by_service = history.iter().any(|e| match &e.attributes {
        Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
            a.identity == "transmit-service"
                && activity_type_of(&history, a.scheduled_event_id) == "TransmitActivity"
        }
        _ => false,
    });
    assert!(
        completed_by_service,
        "TransmitActivity was not completed by task token"
    );
    host.stop().await.expect("clean shutdown");
}

async fn a_silent_route_lands_in_failed_route_providers(example: Example) {
    let (url, _svc) = transmit_service(100, 0.0, &["RouteA"]).await;
    let (task_queue, host) = start(example, &[("ROUTE_ERROR_CHANCE", "0")], &url).await;
    let t = Temporal::connect().await;
    let id = unique("silent");
    t.start(
        &task_queue,
        "DataRoutingWorkflow",
        &id,
        &[packet("p-silent"), json!({"TransmitTimeoutSeconds": 2})],
    )
    .await;
    let Outcome::Completed(result) = t.outcome(&id, Duration::from_secs(60)).await else {
        panic!("workflow did not complete");
    };
    assert_eq!(
        result["FailedRouteProviders"],
        json!(["RouteA"]),
        "{result:#}"
    );
    assert_eq!(result["CurrentRouteProvider"], "RouteB");
    assert_eq!(result["Status"], "STATUS_DELIVERED");
    let timed_out = t.history(&id).await.iter().any(|e| {
        matches!(
            e.attributes,
            Some(Attributes::ActivityTaskTimedOutEventAttributes(_))
        )
    });
    assert!(timed_out, "the silent transmit should time out");
    host.stop().await.expect("clean shutdown");
}

async fn get_route_retries_are_visible_in_history(example: Example) {
    let (url, _svc) = transmit_service(100, 0.0, &[]).await;
    let (task_queue, host) = start(
        example,
        &[
            ("ROUTE_ERROR_CHANCE", "0"),
            ("ROUTE_FAIL_FIRST_ATTEMPTS", "2"),
        ],
        &url,
    )
    .await;
    let t = Temporal::connect().await;
    let id = unique("retries");
    t.start(
        &task_queue,
        "DataRoutingWorkflow",
        &id,
        &[packet("p-retry")],
    )
    .await;
    let Outcome::Completed(result) = t.outcome(&id, Duration::from_secs(60)).await else {
        panic!("workflow did not complete");
    };
    assert_eq!(result["Status"], "STATUS_DELIVERED");
    let history = t.history(&id).await;
    let started = history
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a))
                if activity_type_of(&history, a.scheduled_event_id) == "GetRouteActivity" =>
            {
                Some(a.clone())
            }
            _ => None,
        })
        .expect("GetRouteActivity started");
    assert_eq!(started.attempt, 3, "two failed attempts, then success");
    let last = started
        .last_failure
        .expect("the retried attempt carries the last failure");
    assert!(
        last.message.contains("route service unreachable"),
        "{}",
        last.message
    );
    host.stop().await.expect("clean shutdown");
}

async fn exhausted_route_retries_fail_the_workflow_with_the_activity_error(example: Example) {
    let (url, _svc) = transmit_service(100, 0.0, &[]).await;
    let (task_queue, host) = start(example, &[("ROUTE_ERROR_CHANCE", "1")], &url).await;
    let t = Temporal::connect().await;
    let id = unique("noroute");
    t.start(
        &task_queue,
        "DataRoutingWorkflow",
        &id,
        &[packet("p-fail"), json!({"RouteMaxAttempts": 2})],
    )
    .await;
    match t.outcome(&id, Duration::from_secs(60)).await {
        Outcome::Failed(message) => assert!(message.contains("Activity task failed"), "{message}"),
        other => panic!("expected a failed workflow, got {other:?}"),
    }
    host.stop().await.expect("clean shutdown");
}

async fn http_outside_the_allowlist_is_denied_to_the_guest(example: Example) {
    let (url, _svc) = transmit_service(100, 0.0, &[]).await;
    // The transmit service runs, but the queue's allowlist names another port.
    let (task_queue, host) = start_with_allowlist(
        example,
        &[("ROUTE_ERROR_CHANCE", "0")],
        &url,
        vec!["127.0.0.1:1".into()],
    )
    .await;
    let t = Temporal::connect().await;
    let id = unique("denied");
    t.start(
        &task_queue,
        "DataRoutingWorkflow",
        &id,
        &[packet("p-denied"), json!({"TransmitMaxAttempts": 2})],
    )
    .await;
    let Outcome::Completed(result) = t.outcome(&id, Duration::from_secs(60)).await else {
        panic!("workflow did not complete");
    };
    assert_eq!(result["Status"], "STATUS_FAILED", "{result:#}");
    assert_eq!(result["FailedRouteProviders"], json!(["RouteA", "RouteB"]));
    let history = t.history(&id).await;
    let denied = history.iter().any(|e| match &e.attributes {
        Some(Attributes::ActivityTaskFailedEventAttributes(a)) => a
            .failure
            .as_ref()
            .is_some_and(|f| f.message.to_lowercase().contains("denied")),
        _ => false,
    });
    let failures: Vec<_> = history
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => {
                a.failure.as_ref().map(|f| f.message.clone())
            }
            _ => None,
        })
        .collect();
    assert!(
        denied,
        "TransmitActivity should fail with the allowlist's denial: {failures:?}"
    );
    host.stop().await.expect("clean shutdown");
}
