//! The Prometheus endpoint: Temporal core's worker metrics, labelled by
//! namespace and task queue, scraped over HTTP while the host runs.

use std::time::{Duration, Instant};

use polyworker_tests::{Outcome, Temporal, TestHost, config, guest, queue, unique};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn scrape(addr: std::net::SocketAddr) -> String {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let request = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if s.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body).await;
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_worker_metrics_are_served_for_prometheus() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
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
        body = scrape(addr).await;
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
