//! The operational endpoints: Temporal core's worker metrics for
//! Prometheus, labelled by namespace and task queue, and `/healthz` and
//! `/readyz`, all over HTTP while the host runs; the same metrics pushed
//! over OTLP (gRPC and HTTP) to a collector on loopback.

use std::time::Duration;

use polyworker_host::config::{OtlpConfig, OtlpProtocol};
use polyworker_tests::otlp::{Collector, Via};
use polyworker_tests::{
    Outcome, Temporal, TestHost, config, eventually, free_address, guest, http_get, queue, unique,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_worker_metrics_are_served_for_prometheus() {
    let addr = free_address();
    let task_queue = unique("metrics");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.metrics.prometheus = Some(addr);
    let host = TestHost::start(cfg).await;
    echo_once(&Temporal::connect().await, &task_queue, "metrics-wf").await;

    // A metric appears once core first records it: poll with a deadline.
    let label = format!("task_queue=\"{task_queue}\"");
    let wanted = [
        "temporal_workflow_completed",
        "temporal_worker_task_slots_available",
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_activity_execution_latency",
    ];
    let body = eventually(
        Duration::from_secs(30),
        "core's metrics for the queue",
        || async {
            let body = http_get(addr, "/metrics").await;
            let missing: Vec<_> = wanted
                .iter()
                .filter(|m| {
                    !body
                        .lines()
                        .any(|l| l.starts_with(*m) && l.contains(&label))
                })
                .collect();
            if missing.is_empty() {
                Ok(body)
            } else {
                Err(format!("missing {missing:?} for {label} in:\n{body}"))
            }
        },
    )
    .await;
    assert!(body.contains("namespace=\"default\""), "{body}");
    host.stop().await.expect("clean shutdown");
}

/// Runs one `CallActivity` workflow (an `Echo`) on `task_queue` to its end.
async fn echo_once(t: &Temporal, task_queue: &str, id_prefix: &str) {
    let id = unique(id_prefix);
    t.start(
        task_queue,
        "CallActivity",
        &id,
        &[json!({"activity_type": "Echo", "args": ["hi"]})],
    )
    .await;
    assert!(matches!(
        t.outcome(&id, Duration::from_secs(30)).await,
        Outcome::Completed(_)
    ));
}

/// Core's worker metrics and the host's, as OTLP names them.
const OTLP_WANTED: &[&str] = &[
    "temporal_workflow_completed",
    "temporal_activity_execution_latency",
    "temporal_worker_task_slots_available",
    "polyworker_instantiations",
    "polyworker_activation_latency_us",
];

/// Runs one workflow with an activity on a host exporting as `cfg` says,
/// then waits until `collector` has every wanted metric over `via`.
async fn exported(
    mut cfg: polyworker_host::config::Config,
    task_queue: &str,
    collector: &Collector,
    via: Via,
) -> TestHost {
    cfg.server.identity = Some(format!("otlp-test-{task_queue}"));
    let host = TestHost::start(cfg).await;
    echo_once(&Temporal::connect().await, task_queue, "otlp-wf").await;
    eventually(
        Duration::from_secs(30),
        "the metrics at the collector",
        || async {
            let names = collector.metric_names(via);
            let missing: Vec<_> = OTLP_WANTED
                .iter()
                .filter(|m| !names.contains(**m))
                .collect();
            match missing.is_empty() {
                true => Ok(()),
                false => Err(format!("missing {missing:?} over {via:?}; got {names:?}")),
            }
        },
    )
    .await;
    let headers = collector.headers(via);
    assert!(
        headers.contains(&("x-team".to_string(), "routing".to_string())),
        "the configured header: {headers:?}"
    );
    host
}

fn otlp(endpoint: String, protocol: OtlpProtocol) -> OtlpConfig {
    OtlpConfig {
        endpoint,
        protocol,
        headers: [("x-team".to_string(), "routing".to_string())].into(),
        interval_ms: 200,
        resource: [("deployment.environment".to_string(), "test".to_string())].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_go_over_otlp_grpc_and_to_prometheus_at_once() {
    let collector = Collector::start().await;
    let addr = free_address();
    let task_queue = unique("otlp-grpc");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.metrics.prometheus = Some(addr);
    cfg.metrics.otlp = Some(otlp(
        format!("http://{}", collector.grpc),
        OtlpProtocol::Grpc,
    ));
    let host = exported(cfg, &task_queue, &collector, Via::Grpc).await;
    let resource = collector.resource(Via::Grpc);
    for (k, v) in [
        ("service.name", "polyworker".to_string()),
        ("service.instance.id", format!("otlp-test-{task_queue}")),
        ("deployment.environment", "test".to_string()),
    ] {
        assert!(resource.contains(&(k.to_string(), v)), "{k}: {resource:?}");
    }
    // Prometheus, fed by the same meter, has them too.
    let body = http_get(addr, "/metrics").await;
    let label = format!("task_queue=\"{task_queue}\"");
    for m in ["temporal_workflow_completed", "polyworker_instantiations"] {
        assert!(
            body.lines().any(|l| l.starts_with(m) && l.contains(&label)),
            "{m} for {label} in:\n{body}"
        );
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_go_over_otlp_http() {
    let collector = Collector::start().await;
    let task_queue = unique("otlp-http");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.metrics.otlp = Some(otlp(
        format!("http://{}", collector.http),
        OtlpProtocol::Http,
    ));
    let host = exported(cfg, &task_queue, &collector, Via::Http).await;
    assert!(collector.metric_names(Via::Grpc).is_empty());
    host.stop().await.expect("clean shutdown");
}

/// A collector that is not there costs the host nothing but warnings: it
/// starts, runs workflows and stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_does_not_stop_the_host() {
    let task_queue = unique("otlp-absent");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    let nobody = free_address();
    cfg.metrics.otlp = Some(otlp(format!("http://{nobody}"), OtlpProtocol::Grpc));
    cfg.traces.otlp = Some(otlp(format!("http://{nobody}"), OtlpProtocol::Http));
    let host = TestHost::start(cfg).await;
    echo_once(&Temporal::connect().await, &task_queue, "otlp-absent-wf").await;
    host.stop().await.expect("clean shutdown");
}

/// The value of the first sample of `name` whose labels contain every one
/// of `labels`.
fn sample<S: AsRef<str>>(body: &str, name: &str, labels: &[S]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|x| l.contains(x.as_ref())))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Scrapes until `ok` holds for the body, or fails with the body.
async fn scrape_until(addr: std::net::SocketAddr, what: &str, ok: impl Fn(&str) -> bool) -> String {
    eventually(Duration::from_secs(30), what, || async {
        let body = http_get(addr, "/metrics").await;
        if ok(&body) {
            Ok(body)
        } else {
            Err(format!("metrics:\n{body}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_metrics_count_instances_guest_latency_and_limits() {
    let addr = free_address();
    let task_queue = unique("host-metrics");
    let mut q = queue(
        &task_queue,
        vec![guest("workflows"), guest("hostile"), guest("activities")],
    );
    q.max_concurrent_local_activities = 3;
    let mut cfg = config(vec![q]);
    cfg.metrics.prometheus = Some(addr);
    cfg.engine.workflow_deadline_ms = 500;
    cfg.engine.workflow_memory_mib = 32;
    let host = TestHost::start(cfg).await;
    let digest = |name: &str| {
        polyworker_host::runtime::digest(&std::fs::read(guest(name)).expect("fixture built"))
    };
    let (workflows, hostile, activities) =
        (digest("workflows"), digest("hostile"), digest("activities"));
    let t = Temporal::connect().await;
    // One run parked on a signal (a cached instance), one that completes
    // after an activity, one that loops, one that eats memory.
    let parked = unique("parked");
    t.start(&task_queue, "Accumulate", &parked, &[json!(1)])
        .await;
    let done = unique("done");
    t.start(
        &task_queue,
        "CallActivity",
        &done,
        &[json!({"activity_type": "Echo", "args": ["hi"]})],
    )
    .await;
    assert!(matches!(
        t.outcome(&done, Duration::from_secs(30)).await,
        Outcome::Completed(_)
    ));
    let looping = unique("loop");
    t.start(&task_queue, "InfiniteLoop", &looping, &[]).await;
    let bomb = unique("bomb");
    t.start(&task_queue, "MemoryBomb", &bomb, &[]).await;

    let q = format!("task_queue=\"{task_queue}\"");
    let wf = |d: &str| {
        vec![
            q.clone(),
            "kind=\"workflow\"".into(),
            format!("module_digest=\"{d}\""),
        ]
    };
    let (parked_labels, hostile_labels) = (wf(&workflows), wf(&hostile));
    let activity_labels = vec![
        q.clone(),
        "kind=\"activity\"".into(),
        format!("module_digest=\"{activities}\""),
    ];
    let body = scrape_until(addr, "host metrics for every module", |b| {
        let at_least =
            |name, labels: &Vec<String>, n: f64| sample(b, name, labels).is_some_and(|v| v >= n);
        at_least("polyworker_instances", &parked_labels, 1.0)
            && at_least("polyworker_linear_memory_bytes", &parked_labels, 65536.0)
            && at_least(
                "polyworker_activation_latency_us_count",
                &parked_labels,
                1.0,
            )
            && at_least("polyworker_instantiations", &activity_labels, 1.0)
            && at_least("polyworker_epoch_interruptions", &hostile_labels, 1.0)
            && at_least(
                "polyworker_limit_hits",
                &[hostile_labels.clone(), vec!["limit=\"memory\"".into()]].concat(),
                1.0,
            )
    })
    .await;
    // Instantiation latency is in µs with buckets from 5 µs.
    assert!(
        body.contains("polyworker_instantiation_latency_us_bucket{") && body.contains("le=\"5\""),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "polyworker_components_loaded",
            &[&format!("module_digest=\"{hostile}\"")]
        ),
        Some(1.0),
        "{body}"
    );
    // The tuning key reaches core: idle local-activity slots.
    assert_eq!(
        sample(
            &body,
            "temporal_worker_task_slots_available",
            &[&q, "worker_type=\"LocalActivityWorker\""]
        ),
        Some(3.0),
        "{body}"
    );
    // The signal completes the parked run; core evicts it, and its
    // instance and memory go.
    t.signal(&parked, "add", json!(5)).await;
    assert!(matches!(
        t.outcome(&parked, Duration::from_secs(30)).await,
        Outcome::Completed(_)
    ));
    scrape_until(addr, "the parked run's instance released", |b| {
        sample(b, "polyworker_instances", &parked_labels) == Some(0.0)
            && sample(b, "polyworker_linear_memory_bytes", &parked_labels) == Some(0.0)
    })
    .await;
    t.terminate(&looping).await;
    t.terminate(&bomb).await;
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_follow_the_host() {
    let addr = free_address();
    let task_queue = unique("health");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.metrics.health = Some(addr);
    let host = TestHost::start(cfg).await;
    eventually(Duration::from_secs(60), "/readyz answers 200", || async {
        let ready = http_get(addr, "/readyz").await;
        if ready.starts_with("HTTP/1.0 200") {
            assert!(ready.ends_with("ready\n"), "{ready}");
            return Ok(());
        }
        assert!(
            ready.is_empty() || ready.starts_with("HTTP/1.0 503"),
            "before the workers poll, /readyz is 503: {ready}"
        );
        Err(ready)
    })
    .await;
    assert!(http_get(addr, "/healthz").await.starts_with("HTTP/1.0 200"));
    assert!(http_get(addr, "/nope").await.starts_with("HTTP/1.0 404"));
    host.stop().await.expect("clean shutdown");
    assert_eq!(
        http_get(addr, "/healthz").await,
        "",
        "the endpoint stops with the host"
    );
}
