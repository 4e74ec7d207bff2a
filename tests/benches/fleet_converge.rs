//! How fast a fleet converges: three host processes on one dev server
//! following one registry (Debian's `docker-registry` on loopback), each
//! looking every second. Each round pushes a new version (version 2 of the
//! hot-swap fixture with a custom section naming the round, so its digest
//! is new) and measures, per host:
//! - push → that host polling the new version (its log's `polling` line);
//! - set-current (`polyworker modules set-current --registry --force`, the
//!   CLI's own call to the server) → the first workflow task of a new
//!   workflow that host runs on the new version (the server's
//!   `WorkflowTaskStarted` time; workflows are started in batches of 12).
//!
//! `cargo bench -p polyworker-tests --bench fleet_converge --profile dev`

use std::time::{Duration, SystemTime};

use polyworker_tests::fleet::{FleetCli, fleet_host_polling, push, push_file};
use polyworker_tests::registry::Registry;
use polyworker_tests::{HostProcess, Temporal, guest, unique, wait::poll_until};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const ROUNDS: usize = 5;
const HOSTS: usize = 3;
const POLL_MS: u64 = 1000;

/// The fixture with a custom section `round` appended: the same component
/// under a new digest.
fn variant(round: usize) -> (std::path::PathBuf, String) {
    let mut bytes = std::fs::read(guest("versioned_v2")).expect("fixture built");
    let name = b"polyworker-bench-round";
    let payload = round.to_le_bytes();
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(&payload);
    bytes.push(0); // a custom section
    bytes.push(section.len() as u8);
    bytes.extend_from_slice(&section);
    let digest = polyworker_host::runtime::digest(&bytes);
    let path = std::env::temp_dir().join(format!(
        "pw-bench-round-{round}-{}.wasm",
        std::process::id()
    ));
    std::fs::write(&path, bytes).expect("write the variant");
    (path, digest)
}

/// The time of a host's JSON log line with `message` and `digest`.
fn logged_at(host: &HostProcess, message: &str, digest: &str) -> Option<SystemTime> {
    host.log().lines().find_map(|l| {
        if !(l.contains(message) && l.contains(digest)) {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        let t = chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str()?).ok()?;
        Some(SystemTime::from(t))
    })
}

fn secs(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).unwrap_or_default().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Starts workflows in batches of 12 until every host has run a first
/// task of one on `build_id`; the first such task's start time per host.
/// Each run parks after its first task (it waits for a signal), which is
/// all this reads; then it is let go.
async fn first_tasks(
    t: &Temporal,
    task_queue: &str,
    build_id: &str,
    hosts: &[String],
) -> Vec<SystemTime> {
    let mut first: Vec<Option<SystemTime>> = vec![None; hosts.len()];
    for _ in 0..50 {
        let ids: Vec<String> = (0..12).map(|_| unique("conv")).collect();
        for id in &ids {
            t.start(task_queue, "Pinned", id, &[]).await;
        }
        for id in &ids {
            t.wait_for_event(id, Duration::from_secs(60), |e| {
                matches!(
                    e.attributes,
                    Some(Attributes::WorkflowTaskCompletedEventAttributes(_))
                )
            })
            .await;
            let h = t.history(id).await;
            t.signal(id, "go", json!(null)).await;
            let started = h.iter().find_map(|e| match e.attributes {
                Some(Attributes::WorkflowTaskStartedEventAttributes(_)) => e.event_time,
                _ => None,
            });
            let done = h.iter().find_map(|e| match &e.attributes {
                Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some(a.clone()),
                _ => None,
            });
            let (Some(started), Some(done)) = (started, done) else {
                continue;
            };
            let on_new = done
                .deployment_version
                .as_ref()
                .is_some_and(|v| v.build_id == build_id);
            let host = hosts
                .iter()
                .position(|n| done.identity.starts_with(&format!("{n}@")));
            if let (true, Some(i)) = (on_new, host)
                && first[i].is_none()
            {
                first[i] = Some(
                    SystemTime::UNIX_EPOCH
                        + Duration::new(started.seconds as u64, started.nanos as u32),
                );
            }
        }
        if first.iter().all(Option::is_some) {
            return first.into_iter().flatten().collect();
        }
    }
    panic!("not every host ran the new version within 50 batches");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let registry = Registry::start();
    let repo = registry.repository("bench");
    let q = unique("converge");
    let deployment = unique("converge");
    push(&repo, &q, "versioned_v1");
    let names: Vec<String> = (0..HOSTS).map(|i| unique(&format!("conv-{i}"))).collect();
    let mut hosts: Vec<HostProcess> = names
        .iter()
        .map(|n| fleet_host_polling(n, &deployment, &repo, &[&q], POLL_MS))
        .collect();
    for h in &mut hosts {
        h.ready(Duration::from_secs(60)).await;
    }
    let fleet = FleetCli {
        registry: &repo,
        deployment: &deployment,
        task_queue: &q,
    };
    let v1 = polyworker_host::runtime::digest(
        &std::fs::read(guest("versioned_v1")).expect("fixture built"),
    );
    let ok = poll_until(Duration::from_secs(60), || async {
        match fleet.route(&["set-current", &v1, "--force"]) {
            (true, _) => Ok(()),
            (false, out) => Err(out),
        }
    })
    .await;
    ok.expect("v1 current");
    let t = Temporal::connect().await;
    let (mut polling, mut routed, mut first_any) = (Vec::new(), Vec::new(), Vec::new());
    let mut clis = Vec::new();
    println!(
        "round  push→polling per host (s)      set-current→first task per host (s)  the CLI's call (s)"
    );
    for round in 1..=ROUNDS {
        let (file, digest) = variant(round);
        let pushed = SystemTime::now();
        push_file(&repo, &q, &file);
        let mut at = Vec::new();
        for h in &hosts {
            let seen = poll_until(Duration::from_secs(60), || async {
                logged_at(h, "\"polling\"", &digest).ok_or(())
            })
            .await
            .expect("the host polls the new version");
            at.push(secs(pushed, seen));
        }
        let set = SystemTime::now();
        let (ok, out) = fleet.route(&["set-current", &digest, "--force"]);
        assert!(ok, "{out}");
        let cli = secs(set, SystemTime::now());
        clis.push(cli);
        let firsts = first_tasks(&t, &q, &digest, &names).await;
        let after: Vec<f64> = firsts.iter().map(|f| secs(set, *f)).collect();
        println!(
            "{round:>5}  {:<30} {:<36} {cli:.2}",
            at.iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(" "),
            after
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        polling.push(at.iter().copied().fold(0.0, f64::max));
        routed.push(after.iter().copied().fold(0.0, f64::max));
        first_any.push(after.iter().copied().fold(f64::MAX, f64::min));
        let _ = std::fs::remove_file(&file);
    }
    println!(
        "median over {ROUNDS} rounds: push → every host polling {:.2} s; set-current → first task on every host {:.2} s (on the first host {:.2} s); the CLI's call {:.2} s",
        median(polling),
        median(routed),
        median(first_any),
        median(clis)
    );
}
