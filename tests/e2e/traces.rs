//! Traces across SDKs: a client using Temporal's Python SDK with its
//! OpenTelemetry interceptor starts a data-routing workflow on polyworker;
//! the spans that reach a collector on loopback (`polyworker_tests::otlp`)
//! form one trace: the client's start, polyworker's workflow tasks, and
//! every attempt of both activities.

use std::collections::BTreeSet;
use std::time::Duration;

use polyworker_host::config::{OtlpConfig, OtlpProtocol};
use polyworker_tests::otlp::{Collector, SpanRecord};
use polyworker_tests::{
    Temporal, TestHost, config, eventually, guest, queue, repo_root, server, transmit_service,
    unique,
};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

fn otlp(collector: &Collector) -> OtlpConfig {
    OtlpConfig {
        endpoint: format!("http://{}", collector.grpc),
        protocol: OtlpProtocol::Grpc,
        headers: Default::default(),
        interval_ms: 200,
        resource: Default::default(),
    }
}

/// Runs the Python client (tests/otel/traced_client.py) starting
/// `workflow(arg)`, with a native worker on `native_queue` if given; its
/// stdout.
async fn python_client(
    collector: &Collector,
    task_queue: &str,
    id: &str,
    workflow: &str,
    arg: serde_json::Value,
    native_queue: Option<&str>,
) -> String {
    let out = tokio::process::Command::new(repo_root().join(".venv/bin/python"))
        .arg(repo_root().join("tests/otel/traced_client.py"))
        .args([
            &server().host_port(),
            &collector.http.to_string(),
            task_queue,
            id,
        ])
        .args([workflow, &arg.to_string()])
        .args(native_queue)
        .output()
        .await
        .expect("python runs (scripts/setup.sh installs temporalio and opentelemetry-sdk)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn named<'a>(spans: &'a [SpanRecord], name: &str) -> Vec<&'a SpanRecord> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_clients_trace_goes_through_polyworkers_workflow_and_activities() {
    let collector = Collector::start().await;
    let (url, _svc) = transmit_service(100, 0.0, &[]).await;
    let task_queue = unique("traced");
    let mut q = queue(&task_queue, vec![guest("data_routing")]);
    q.http_allowlist = vec![url.trim_start_matches("http://").to_string()];
    q.env.insert("TRANSMIT_SERVICE_URL".into(), url.clone());
    q.env.insert("ROUTE_ERROR_CHANCE".into(), "0".into());
    q.env.insert("ROUTE_FAIL_FIRST_ATTEMPTS".into(), "2".into());
    // No sticky cache: every workflow task replays the run so far, and only
    // the new part of each may make a span.
    q.max_cached_workflows = 0;
    let mut cfg = config(vec![q]);
    cfg.traces.otlp = Some(otlp(&collector));
    let host = TestHost::start(cfg).await;

    let id = unique("traced-wf");
    let packet = json!({"ID": "p-traced", "Source": "a", "Destination": "b", "Contents": "x"});
    let result = python_client(
        &collector,
        &task_queue,
        &id,
        "DataRoutingWorkflow",
        packet,
        None,
    )
    .await;
    assert!(result.contains("STATUS_DELIVERED"), "{result}");
    let history = Temporal::connect().await.history(&id).await;
    let tasks = history
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskCompletedEventAttributes(_))
            )
        })
        .count();

    let spans = eventually(
        Duration::from_secs(30),
        "the trace at the collector",
        || async {
            let spans = collector.spans();
            let done = !named(&spans, "StartWorkflow:DataRoutingWorkflow").is_empty()
                && named(&spans, "WorkflowTask:DataRoutingWorkflow").len() >= tasks
                && named(&spans, "RunActivity:GetRouteActivity").len() >= 3
                && !named(&spans, "RunActivity:TransmitActivity").is_empty();
            match done {
                true => Ok(spans),
                false => Err(format!("{spans:#?}")),
            }
        },
    )
    .await;
    let start = named(&spans, "StartWorkflow:DataRoutingWorkflow")[0];
    assert_eq!(start.service, "python-client");
    let trace: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.trace_id == start.trace_id)
        .collect();

    // One span per workflow task, none for the replayed ones.
    let workflow_tasks: Vec<&&SpanRecord> = trace
        .iter()
        .filter(|s| s.name == "WorkflowTask:DataRoutingWorkflow")
        .collect();
    assert_eq!(workflow_tasks.len(), tasks, "{workflow_tasks:#?}");
    let task_ids: BTreeSet<&str> = workflow_tasks.iter().map(|s| s.span_id.as_str()).collect();
    for s in &workflow_tasks {
        assert_eq!(s.service, "polyworker");
        assert_eq!(s.attributes["temporalWorkflowID"], id);
        assert_eq!(s.attributes["temporal.task_queue"], task_queue);
        assert_eq!(s.attributes["temporal.replaying"], "false");
        assert!(
            s.attributes["polyworker.module_digest"].len() == 64,
            "{s:?}"
        );
        assert!(s.attributes.contains_key("polyworker.tenant"), "{s:?}");
    }
    // The client's start is their parent (the interceptor's header).
    assert!(
        workflow_tasks
            .iter()
            .all(|s| s.parent_span_id == start.span_id),
        "{workflow_tasks:#?}"
    );

    // Each activity attempt is its own span, under the workflow task that
    // scheduled it.
    let routes: Vec<&&SpanRecord> = trace
        .iter()
        .filter(|s| s.name == "RunActivity:GetRouteActivity")
        .collect();
    let attempts: BTreeSet<&str> = routes
        .iter()
        .map(|s| s.attributes["temporal.attempt"].as_str())
        .collect();
    assert_eq!(attempts, BTreeSet::from(["1", "2", "3"]), "{routes:#?}");
    let outcomes: Vec<&str> = {
        let mut r = routes.clone();
        r.sort_by_key(|s| s.attributes["temporal.attempt"].clone());
        r.iter()
            .map(|s| s.attributes["polyworker.outcome"].as_str())
            .collect()
    };
    assert_eq!(outcomes, ["failed", "failed", "completed"]);
    let transmits: Vec<&&SpanRecord> = trace
        .iter()
        .filter(|s| s.name == "RunActivity:TransmitActivity")
        .collect();
    assert!(!transmits.is_empty());
    for s in routes.iter().chain(&transmits) {
        assert!(
            task_ids.contains(s.parent_span_id.as_str()),
            "an attempt's parent is a workflow task: {s:?}"
        );
    }
    host.stop().await.expect("clean shutdown");
}

/// The same trace goes on into an activity on a native Python worker (its
/// own OpenTelemetry interceptor reads the header polyworker wrote) and
/// back into the workflow, which completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_continues_into_an_activity_on_a_native_worker() {
    let collector = Collector::start().await;
    let task_queue = unique("traced-poly");
    let native = unique("traced-native");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.traces.otlp = Some(otlp(&collector));
    let host = TestHost::start(cfg).await;
    let id = unique("traced-native-wf");
    let call = json!({"activity_type": "Shout", "args": ["hi"], "task_queue": native});
    let result = python_client(
        &collector,
        &task_queue,
        &id,
        "CallActivity",
        call,
        Some(native.as_str()),
    )
    .await;
    assert!(result.contains("\"HI\""), "{result}");
    let spans = eventually(
        Duration::from_secs(30),
        "the trace at the collector",
        || async {
            let spans = collector.spans();
            let done = !named(&spans, "StartWorkflow:CallActivity").is_empty()
                && !named(&spans, "RunActivity:Shout").is_empty()
                && named(&spans, "WorkflowTask:CallActivity").len() >= 2;
            match done {
                true => Ok(spans),
                false => Err(format!("{spans:#?}")),
            }
        },
    )
    .await;
    let start = named(&spans, "StartWorkflow:CallActivity")[0];
    let tasks: BTreeSet<&str> = named(&spans, "WorkflowTask:CallActivity")
        .iter()
        .filter(|s| s.trace_id == start.trace_id)
        .map(|s| s.span_id.as_str())
        .collect();
    assert!(
        tasks.len() >= 2,
        "the task that scheduled it and the one after: {spans:#?}"
    );
    let shout = named(&spans, "RunActivity:Shout")[0];
    assert_eq!(shout.service, "python-client", "the native worker ran it");
    assert_eq!(shout.trace_id, start.trace_id, "{spans:#?}");
    assert!(
        tasks.contains(shout.parent_span_id.as_str()),
        "its parent is polyworker's workflow task: {spans:#?}"
    );
    host.stop().await.expect("clean shutdown");
}

/// The span a JSON log line was written in: its `trace_id` and `span_id`.
fn span_ids(line: &serde_json::Value) -> Option<(String, String)> {
    let span = line.get("span")?;
    Some((
        span.get("trace_id")?.as_str()?.to_string(),
        span.get("span_id")?.as_str()?.to_string(),
    ))
}

/// A process host's JSON log: the guest's lines from a workflow task and
/// from an activity attempt carry the ids of the spans they were written in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_log_lines_carry_their_spans_ids() {
    let collector = Collector::start().await;
    let (url, _svc) = transmit_service(100, 0.0, &[]).await;
    let task_queue = unique("traced-logs");
    let allow = url.trim_start_matches("http://");
    let body = format!(
        "[server]\naddress = \"{}\"\n\n[traces.otlp]\nendpoint = \"http://{}\"\ninterval_ms = 200\n\n\
         [[task_queue]]\nname = \"{task_queue}\"\nmodules = [\"{}\"]\n\
         http_allowlist = [\"{allow}\"]\nenv = {{ TRANSMIT_SERVICE_URL = \"{url}\", ROUTE_ERROR_CHANCE = \"0\" }}\n",
        server().address(),
        collector.grpc,
        guest("data_routing").display(),
    );
    let mut host = polyworker_tests::HostProcess::spawn_with(&unique("traced-logs"), &body, &[]);
    host.ready(Duration::from_secs(60)).await;
    let t = Temporal::connect().await;
    let id = unique("traced-logs-wf");
    let packet = json!({"ID": "p-logs", "Source": "a", "Destination": "b", "Contents": "x"});
    t.start(&task_queue, "DataRoutingWorkflow", &id, &[packet])
        .await;
    assert!(matches!(
        t.outcome(&id, Duration::from_secs(60)).await,
        polyworker_tests::Outcome::Completed(_)
    ));
    let spans = eventually(
        Duration::from_secs(30),
        "the spans at the collector",
        || async {
            let spans = collector.spans();
            match !named(&spans, "RunActivity:TransmitActivity").is_empty() {
                true => Ok(spans),
                false => Err(format!("{spans:#?}")),
            }
        },
    )
    .await;
    let log = host.log();
    let guest_line = |text: &str| {
        log.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(text))
            })
            .unwrap_or_else(|| panic!("no guest line with {text:?} in:\n{log}"))
    };
    for (text, span_name) in [
        ("transmit attempt", "WorkflowTask:DataRoutingWorkflow"),
        (
            "handed to the transmit service",
            "RunActivity:TransmitActivity",
        ),
    ] {
        let line = guest_line(text);
        let (trace_id, span_id) = span_ids(&line).unwrap_or_else(|| panic!("no span ids: {line}"));
        assert!(
            named(&spans, span_name)
                .iter()
                .any(|s| s.trace_id == trace_id && s.span_id == span_id),
            "{text:?} was logged in a {span_name} span: {line}\n{spans:#?}"
        );
    }
    host.signal("TERM");
    host.exited(Duration::from_secs(30)).await;
}

/// An activity sees its attempt's trace context (to forward on its own
/// calls): the `traceparent` of the attempt's span, in the client's trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_sees_its_attempts_traceparent() {
    let collector = Collector::start().await;
    let task_queue = unique("traced-parent");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.traces.otlp = Some(otlp(&collector));
    let host = TestHost::start(cfg).await;
    let id = unique("traced-parent-wf");
    let call = json!({"activity_type": "TraceParent", "args": []});
    let out = python_client(&collector, &task_queue, &id, "CallActivity", call, None).await;
    let result: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let seen = result["ok"]
        .as_str()
        .unwrap_or_else(|| panic!("{result}"))
        .to_string();
    let spans = eventually(Duration::from_secs(30), "the attempt's span", || async {
        let spans = collector.spans();
        match named(&spans, "RunActivity:TraceParent").first() {
            Some(s) => Ok((*s).clone()),
            None => Err(format!("{spans:#?}")),
        }
    })
    .await;
    assert_eq!(seen, format!("00-{}-{}-01", spans.trace_id, spans.span_id));
    host.stop().await.expect("clean shutdown");
}
