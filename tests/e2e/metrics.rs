//! The operational endpoints: Temporal core's worker metrics for
//! Prometheus, labelled by namespace and task queue, and `/healthz` and
//! `/readyz`, all over HTTP while the host runs.

use std::time::{Duration, Instant};

use polyworker_tests::{Outcome, Temporal, TestHost, config, guest, queue, unique};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_address() -> std::net::SocketAddr {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    ([127, 0, 0, 1], port).into()
}

/// The whole HTTP response to `GET path`, or "" if nothing answers.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if s.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body).await;
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_worker_metrics_are_served_for_prometheus() {
    let addr = free_address();
    let task_queue = unique("metrics");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.metrics.prometheus = Some(addr);
    let host = TestHost::start(cfg).await;
    let t = Temporal::connect().await;
    let id = unique("metrics-wf");
    t.start(
        &task_queue,
        "CallActivity",
        &id,
        &[json!({"activity_type": "Echo", "args": ["hi"]})],
    )
    .await;
    assert!(matches!(
        t.outcome(&id, Duration::from_secs(30)).await,
        Outcome::Completed(_)
    ));

    // A metric appears once core first records it: poll with a deadline.
    let label = format!("task_queue=\"{task_queue}\"");
    let wanted = [
        "temporal_workflow_completed",
        "temporal_worker_task_slots_available",
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_activity_execution_latency",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut body;
    loop {
        body = get(addr, "/metrics").await;
        let missing: Vec<_> = wanted
            .iter()
            .filter(|m| {
                !body
                    .lines()
                    .any(|l| l.starts_with(*m) && l.contains(&label))
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing {missing:?} for {label} in:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(body.contains("namespace=\"default\""), "{body}");
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_follow_the_host() {
    let addr = free_address();
    let task_queue = unique("health");
    let mut cfg = config(vec![queue(&task_queue, vec![guest("activities")])]);
    cfg.metrics.health = Some(addr);
    let host = TestHost::start(cfg).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = get(addr, "/readyz").await;
        if ready.starts_with("HTTP/1.0 200") {
            assert!(ready.ends_with("ready\n"), "{ready}");
            break;
        }
        assert!(
            ready.is_empty() || ready.starts_with("HTTP/1.0 503"),
            "before the workers poll, /readyz is 503: {ready}"
        );
        assert!(Instant::now() < deadline, "never ready: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(get(addr, "/healthz").await.starts_with("HTTP/1.0 200"));
    assert!(get(addr, "/nope").await.starts_with("HTTP/1.0 404"));
    host.stop().await.expect("clean shutdown");
    assert_eq!(
        get(addr, "/healthz").await,
        "",
        "the endpoint stops with the host"
    );
}
