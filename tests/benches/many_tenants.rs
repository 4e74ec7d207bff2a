//! One host, many tenants: 50 tenants × 2 queues, each tenant in a
//! namespace of its own on one dev server (registered by the bench), all on
//! one shared connection. Measures, idle and then under a steady load of
//! `BenchWorkflow`s spread over every tenant: the pollers core keeps open,
//! the host's CPU, and the polls the host makes of the server.
//!
//! `cargo bench -p polyworker-tests --bench many_tenants --profile dev`
//! (every queue with core's default pollers), and with `-- auto` (every
//! queue's pollers autoscaling from one, as the tuning docs recommend for
//! hosts of many quiet queues).

use std::time::{Duration, Instant};

use polyworker_host::config::{Pollers, TenantConfig};
use polyworker_tests::{
    Outcome, Temporal, TestHost, config, free_address, guest, http_get, queue, server, unique,
};
use serde_json::json;
use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::workflowservice::v1::RegisterNamespaceRequest;

const TENANTS: usize = 50;
/// Longer than the server's long-poll timeout (~60 s), so that idle polls,
/// counted when they return, are seen.
const WINDOW: Duration = Duration::from_secs(75);

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

fn total(body: &str, metric: &str, label: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(metric) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn register(names: &[String]) {
    let t = temporalio_client::Connection::connect(
        temporalio_client::ConnectionOptions::new(
            temporalio_client::Url::parse(&server().address()).expect("a URL"),
        )
        .identity("bench".to_string())
        .build(),
    )
    .await
    .expect("connect");
    for n in names {
        let mut c = t.clone();
        let req = RegisterNamespaceRequest {
            namespace: n.clone(),
            workflow_execution_retention_period: Some(prost_wkt_types::Duration {
                seconds: 86_400,
                nanos: 0,
            }),
            ..Default::default()
        };
        let _ = WorkflowService::register_namespace(&mut c, tonic::Request::new(req)).await;
    }
}

/// Pollers open, CPU used and polls made over `WINDOW`.
async fn measure(metrics: std::net::SocketAddr, what: &str) {
    // Core counts long polls apart from other requests.
    let polls = |b: &str| {
        total(b, "temporal_long_request{", "PollWorkflowTaskQueue")
            + total(b, "temporal_long_request{", "PollActivityTaskQueue")
    };
    let before = http_get(metrics, "/metrics").await;
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    tokio::time::sleep(WINDOW).await;
    let after = http_get(metrics, "/metrics").await;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_seconds() - cpu0) / secs * 100.0;
    let pollers = total(&after, "temporal_num_pollers", "");
    let rate = (polls(&after) - polls(&before)) / secs;
    let succeed = total(&after, "temporal_workflow_task_queue_poll_succeed", "")
        - total(&before, "temporal_workflow_task_queue_poll_succeed", "");
    let empty = total(&after, "temporal_workflow_task_queue_poll_empty", "")
        - total(&before, "temporal_workflow_task_queue_poll_empty", "");
    println!(
        "| {what} | {pollers:.0} | {cpu:.1} % of a core | {rate:.1} polls/s | {} |",
        if succeed + empty > 0.0 {
            format!("{:.0} %", succeed / (succeed + empty) * 100.0)
        } else {
            "–".into()
        }
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let auto = std::env::args().any(|a| a == "auto");
    let names: Vec<String> = (0..TENANTS).map(|i| format!("bench-tenant-{i}")).collect();
    register(&names).await;
    let metrics = free_address();
    let mut cfg = config(Vec::new());
    cfg.metrics.prometheus = Some(metrics);
    let mut queues = Vec::new();
    for n in &names {
        let qs = [unique(&format!("{n}-1")), unique(&format!("{n}-2"))];
        let mut q: Vec<_> = qs
            .iter()
            .map(|q| queue(q, vec![guest("bench_workflow")]))
            .collect();
        for q in &mut q {
            q.max_cached_workflows = 20;
            if auto {
                let a = Pollers::Autoscaling {
                    minimum: 1,
                    maximum: 10,
                    initial: 1,
                };
                // The workflow side needs two: a sticky and a normal poll.
                q.workflow_pollers = Some(Pollers::Autoscaling {
                    minimum: 2,
                    maximum: 10,
                    initial: 2,
                });
                q.activity_pollers = Some(a);
            }
        }
        cfg.tenants.push(TenantConfig::new(n, n, q));
        queues.push((n.clone(), qs));
    }
    let started = Instant::now();
    let _host = TestHost::start(cfg).await;
    let client = Temporal::connect().await;
    // Ready once one workflow of the last tenant completes.
    let (last_ns, last_q) = queues.last().expect("tenants");
    let t = client.in_namespace(last_ns);
    let id = unique("ready");
    t.start(&last_q[0], "BenchWorkflow", &id, &[json!({"steps": 0})])
        .await;
    assert!(matches!(
        t.outcome(&id, Duration::from_secs(300)).await,
        Outcome::Completed(_)
    ));
    println!(
        "{TENANTS} tenants × 2 queues serving after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("| phase | pollers | host CPU | polls of the server | workflow poll success |");
    println!("|---|---|---|---|---|");
    tokio::time::sleep(Duration::from_secs(10)).await;
    measure(metrics, "idle").await;
    // Steady: 4 workflows a second, round robin over every tenant's queues.
    let load = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        for i in 0.. {
            tick.tick().await;
            let (ns, qs) = &queues[i % queues.len()];
            let t = client.in_namespace(ns);
            t.start(
                &qs[i / queues.len() % 2],
                "BenchWorkflow",
                &unique("steady"),
                &[json!({"steps": 0})],
            )
            .await;
        }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    measure(metrics, "4 workflows/s over all tenants").await;
    load.abort();
}
