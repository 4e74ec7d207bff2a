//! Hot swap: versions of a task queue's module deployed to a running host
//! through the admin API (`polyworker modules …`), routed by Temporal's
//! Worker Versioning; one worker per digest, and stored files checked
//! against their digests. `sdks` runs the same swap against each thin SDK's
//! versioning declarations.

#[path = "hot_swap_sdks.rs"]
mod sdks;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polyworker_host::config::{Config, DefaultVersioning, DeploymentConfig};
use polyworker_tests::{
    HostProcess, Outcome, Temporal, TestHost, config, eventually, free_address, guest, queue,
    unique,
};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

fn versioned_config(task_queue: &str, store: &Path) -> Config {
    versioned_config_of(
        task_queue,
        store,
        guest("versioned_v1"),
        DefaultVersioning::Pinned,
    )
}

/// A deployment serving `module` on `task_queue`.
fn versioned_config_of(
    task_queue: &str,
    store: &Path,
    module: PathBuf,
    default_versioning: DefaultVersioning,
) -> Config {
    let mut cfg = config(vec![queue(task_queue, vec![module])]);
    cfg.deployment = Some(DeploymentConfig {
        name: unique("deploy"),
        store: store.to_path_buf(),
        default_versioning,
        admin: free_address(),
        admin_token_env: None,
        replay_sample: 20,
        watch: None,
        registry: None,
    });
    cfg
}

/// Runs `polyworker modules ARGS --admin ADDR`; returns (success, output).
fn modules(admin: std::net::SocketAddr, args: &[&str]) -> (bool, String) {
    polyworker_tests::modules_cli(admin, None, args)
}

fn digest(name: &str) -> String {
    digest_of(&guest(name))
}

fn digest_of(path: &Path) -> String {
    polyworker_host::runtime::digest(&std::fs::read(path).expect("fixture built"))
}

fn first_task_completed(e: &HistoryEvent) -> bool {
    matches!(
        e.attributes,
        Some(Attributes::WorkflowTaskCompletedEventAttributes(_))
    )
}

fn failed_tasks(history: &[HistoryEvent]) -> usize {
    history
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskFailedEventAttributes(_))
            )
        })
        .count()
}

/// Waits until the host's admin API answers `modules list`.
async fn admin_ready(admin: std::net::SocketAddr) -> String {
    eventually(Duration::from_secs(60), "the admin API answers", || async {
        match modules(admin, &["list"]) {
            (true, out) => Ok(out),
            (false, out) => Err(out),
        }
    })
    .await
}

/// The state `modules list` shows for `digest` (its line's second word).
fn state_of(list: &str, digest: &str) -> Option<String> {
    list.lines()
        .find(|l| l.starts_with(digest))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_string)
}

/// The open-workflow count `modules list` shows for `digest`.
fn open_of(list: &str, digest: &str) -> Option<String> {
    let line = list.lines().find(|l| l.starts_with(digest))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "open")?;
    words.get(i + 1).map(|w| w.to_string())
}

/// Polls `modules list` until `ok` holds for it.
async fn list_until(admin: std::net::SocketAddr, what: &str, ok: impl Fn(&str) -> bool) -> String {
    eventually(Duration::from_secs(30), what, || async {
        let (_, list) = modules(admin, &["list"]);
        if ok(&list) {
            Ok(list)
        } else {
            Err(format!("\n{list}"))
        }
    })
    .await
}

async fn outcome_of(t: &Temporal, id: &str) -> serde_json::Value {
    match t.outcome(id, Duration::from_secs(60)).await {
        Outcome::Completed(v) => v,
        other => panic!("{id}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_takes_new_workflows_while_old_runs_finish_on_theirs() {
    let task_queue = unique("swap");
    let store = std::env::temp_dir().join(unique("swap-store"));
    let cfg = versioned_config(&task_queue, &store);
    let admin = cfg.deployment.as_ref().unwrap().admin;
    let host = TestHost::start(cfg.clone()).await;
    admin_ready(admin).await;
    let t = Temporal::connect().await;
    let (v1, v2) = (digest("versioned_v1"), digest("versioned_v2"));

    // Runs on version 1, parked on a signal: three pinned, one upgrading.
    let pinned: Vec<String> = (0..3).map(|_| unique("pinned-v1")).collect();
    for id in &pinned {
        t.start(&task_queue, "Pinned", id, &[]).await;
    }
    let upgrading = unique("upgrading");
    t.start(&task_queue, "Upgrading", &upgrading, &[]).await;
    for id in pinned.iter().chain([&upgrading]) {
        t.wait_for_event(id, Duration::from_secs(30), first_task_completed)
            .await;
    }

    let v2_path = guest("versioned_v2").display().to_string();
    let asked = Instant::now();
    let (ok, out) = modules(
        admin,
        &["deploy", "--task-queue", &task_queue, &v2_path, "--current"],
    );
    let deploy_took = asked.elapsed();
    assert!(ok, "{out}");
    assert!(out.contains(&v2) && out.contains("current"), "{out}");
    // New workflows run version 2's code from the first task on.
    let fresh = unique("pinned-v2");
    t.start(&task_queue, "Pinned", &fresh, &[]).await;
    let first = t
        .wait_for_event(&fresh, Duration::from_secs(30), |e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskStartedEventAttributes(_))
            )
        })
        .await;
    let served_after = first.event_time.map(|ts| {
        let at = std::time::UNIX_EPOCH + Duration::new(ts.seconds as u64, ts.nanos as u32);
        at.duration_since(std::time::SystemTime::now() - asked.elapsed())
            .unwrap_or_default()
    });
    println!(
        "deploy --current took {deploy_took:?}; first task of a new workflow on it {served_after:?} after the deploy began"
    );
    // The server counts the runs still on version 1.
    list_until(admin, "version 1 has its four open runs", |l| {
        open_of(l, &v1).as_deref() == Some("4")
    })
    .await;
    let (ok, out) = modules(admin, &["retire", "--task-queue", &task_queue, &v1[..12]]);
    assert!(!ok && out.contains("4 open workflows"), "{out}");
    for id in pinned.iter().chain([&upgrading, &fresh]) {
        t.signal(id, "go", json!(null)).await;
    }
    assert_eq!(outcome_of(&t, &fresh).await, "v2");
    for id in &pinned {
        assert_eq!(outcome_of(&t, id).await, "v1", "{id} stays on version 1");
    }
    assert_eq!(
        outcome_of(&t, &upgrading).await,
        "v2",
        "an auto-upgrading run moves to version 2 and takes the patched branch"
    );
    for id in pinned.iter().chain([&upgrading, &fresh]) {
        assert_eq!(failed_tasks(&t.history(id).await), 0, "{id}");
    }

    let (ok, list) = modules(admin, &["list"]);
    assert!(ok, "{list}");
    assert_eq!(state_of(&list, &v1).as_deref(), Some("draining"), "{list}");
    assert_eq!(state_of(&list, &v2).as_deref(), Some("current"), "{list}");
    let (ok, out) = modules(admin, &["retire", "--task-queue", &task_queue, &v2[..12]]);
    assert!(!ok && out.contains("is current"), "{out}");
    // Drained: the server counts no open runs on version 1 any more.
    list_until(admin, "version 1 drained", |l| {
        open_of(l, &v1).as_deref() == Some("0")
    })
    .await;
    let (ok, out) = modules(admin, &["retire", "--task-queue", &task_queue, &v1[..12]]);
    assert!(ok, "{out}");

    // A restart keeps the versions and their states.
    host.stop().await.expect("clean shutdown");
    let host = TestHost::start(cfg).await;
    let list = admin_ready(admin).await;
    assert_eq!(state_of(&list, &v1).as_deref(), Some("retired"), "{list}");
    assert_eq!(state_of(&list, &v2).as_deref(), Some("current"), "{list}");
    let after = unique("after-restart");
    t.start(&task_queue, "Pinned", &after, &[]).await;
    t.wait_for_event(&after, Duration::from_secs(30), first_task_completed)
        .await;
    t.signal(&after, "go", json!(null)).await;
    assert_eq!(outcome_of(&t, &after).await, "v2");
    // `gc` removes the retired version's file, and only that one.
    let stored = |d: &str| store.join("modules").join(format!("{d}.wasm")).is_file();
    assert!(stored(&v1) && stored(&v2));
    let (ok, out) = modules(admin, &["gc"]);
    assert!(ok && out.contains(&v1) && !out.contains(&v2), "{out}");
    assert!(!stored(&v1) && stored(&v2));
    let (_, list) = modules(admin, &["list"]);
    assert_eq!(state_of(&list, &v1).as_deref(), Some("retired"), "{list}");
    host.stop().await.expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_gate_refuses_a_version_that_breaks_upgrading_runs() {
    let task_queue = unique("gate");
    let store = std::env::temp_dir().join(unique("gate-store"));
    let cfg = versioned_config(&task_queue, &store);
    let admin = cfg.deployment.as_ref().unwrap().admin;
    let host = TestHost::start(cfg).await;
    admin_ready(admin).await;
    let t = Temporal::connect().await;
    let run = unique("upgrading");
    t.start(&task_queue, "Upgrading", &run, &[]).await;
    t.wait_for_event(&run, Duration::from_secs(30), first_task_completed)
        .await;

    let bad = guest("versioned_v2_bad").display().to_string();
    let (ok, out) = modules(
        admin,
        &["deploy", "--task-queue", &task_queue, &bad, "--current"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("the replay gate refused") && out.contains(&run),
        "{out}"
    );
    // It stays deployed but not current; the run finishes on version 1.
    let (_, list) = modules(admin, &["list"]);
    assert_eq!(
        state_of(&list, &digest("versioned_v2_bad")).as_deref(),
        Some("deployed"),
        "{list}"
    );
    t.signal(&run, "go", json!(null)).await;
    assert_eq!(outcome_of(&t, &run).await, "v1");
    assert_eq!(failed_tasks(&t.history(&run).await), 0);

    // Bad input is refused with a clear error and changes nothing.
    let not_wasm = std::env::temp_dir().join(unique("not-wasm"));
    std::fs::write(&not_wasm, b"hello").unwrap();
    let (ok, out) = modules(
        admin,
        &[
            "deploy",
            "--task-queue",
            &task_queue,
            &not_wasm.display().to_string(),
        ],
    );
    assert!(!ok && out.contains("not a WebAssembly"), "{out}");
    let (ok, out) = modules(admin, &["deploy", "--task-queue", "nope", &bad]);
    assert!(!ok && out.contains("is not served here"), "{out}");
    host.stop().await.expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_file(&not_wasm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_directory_deploys_the_files_that_appear_in_it() {
    let task_queue = unique("watch");
    let store = std::env::temp_dir().join(unique("watch-store"));
    let watched = std::env::temp_dir().join(unique("watched"));
    std::fs::create_dir_all(watched.join(&task_queue)).unwrap();
    let mut cfg = versioned_config(&task_queue, &store);
    cfg.deployment.as_mut().unwrap().watch = Some(watched.clone());
    let admin = cfg.deployment.as_ref().unwrap().admin;
    let host = TestHost::start(cfg).await;
    admin_ready(admin).await;
    let v2 = digest("versioned_v2");
    std::fs::copy(
        guest("versioned_v2"),
        watched.join(&task_queue).join("v2.wasm"),
    )
    .unwrap();
    // Files that are not components are not deployed.
    std::fs::write(watched.join(&task_queue).join("notes.txt"), b"x").unwrap();
    list_until(admin, "the watched file became current", |l| {
        state_of(l, &v2).as_deref() == Some("current")
    })
    .await;
    let t = Temporal::connect().await;
    let id = unique("watched-run");
    t.start(&task_queue, "Pinned", &id, &[]).await;
    t.wait_for_event(&id, Duration::from_secs(30), first_task_completed)
        .await;
    t.signal(&id, "go", json!(null)).await;
    assert_eq!(outcome_of(&t, &id).await, "v2");
    // The same file rewritten in place is a new version, made current; a
    // link beside it is not followed.
    let other = digest("versioned_v2_bad");
    std::os::unix::fs::symlink(
        guest("workflows"),
        watched.join(&task_queue).join("link.wasm"),
    )
    .unwrap();
    std::fs::copy(
        guest("versioned_v2_bad"),
        watched.join(&task_queue).join("v2.wasm"),
    )
    .unwrap();
    list_until(admin, "the rewritten file became current", |l| {
        state_of(l, &other).as_deref() == Some("current")
    })
    .await;
    // Over three more scans (1 s each), the link's target never appears.
    let linked = digest("workflows");
    polyworker_tests::holds_until(
        Instant::now() + Duration::from_secs(3),
        "the link's target was deployed",
        || !modules(admin, &["list"]).1.contains(&linked),
    )
    .await;
    host.stop().await.expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&store);
    let _ = std::fs::remove_dir_all(&watched);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_per_digest_and_a_changed_stored_file_is_refused() {
    let task_queue = unique("once");
    let store = std::env::temp_dir().join(unique("once-store"));
    let admin = free_address();
    let body = format!(
        "[server]\naddress = \"{}\"\nidentity = \"once\"\n\n\
         [deployment]\nname = \"{}\"\nstore = \"{}\"\nadmin = \"{admin}\"\n\n\
         [[task_queue]]\nname = \"{task_queue}\"\nmodules = [\"{}\"]\n",
        polyworker_tests::server().address(),
        unique("deploy"),
        store.display(),
        guest("versioned_v1").display(),
    );
    let mut host = HostProcess::spawn_with(&unique("once"), &body, &[]);
    host.ready(Duration::from_secs(60)).await;
    admin_ready(admin).await;
    let (v1, v2) = (digest("versioned_v1"), digest("versioned_v2"));
    let file = guest("versioned_v2").display().to_string();
    // Two deploys of the same bytes at once: one starts the version, the
    // other is refused, whichever comes second.
    let outcomes: Vec<(bool, String)> = std::thread::scope(|s| {
        let deploys: Vec<_> = (0..2)
            .map(|_| s.spawn(|| modules(admin, &["deploy", "--task-queue", &task_queue, &file])))
            .collect();
        deploys.into_iter().map(|d| d.join().unwrap()).collect()
    });
    let started = outcomes.iter().filter(|(ok, _)| *ok).count();
    assert_eq!(started, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|(ok, out)| !ok && out.contains("is already on task queue")),
        "{outcomes:?}"
    );
    assert_eq!(
        host.log().matches("deployed a version").count(),
        2,
        "v1 and v2, once each"
    );
    host.signal("TERM");
    assert!(host.exited(Duration::from_secs(30)).await.is_some());

    // v2's stored file is changed while the host is down: at the restart it
    // is refused by name, and v1 (current) serves on.
    let stored = store.join("modules").join(format!("{v2}.wasm"));
    std::fs::copy(guest("versioned_v1"), &stored).unwrap();
    let mut host = HostProcess::spawn_with(&unique("once-again"), &body, &[]);
    host.ready(Duration::from_secs(60)).await;
    let log = host.log();
    assert!(
        log.contains("cannot start a stored version")
            && log.contains(&format!("does not hash to its digest {v2}")),
        "{log}"
    );
    let t = Temporal::connect().await;
    let id = unique("after-tamper");
    t.start(&task_queue, "Pinned", &id, &[]).await;
    t.signal(&id, "go", json!(null)).await;
    assert_eq!(outcome_of(&t, &id).await, "v1");
    let (_, list) = modules(admin, &["list"]);
    assert_eq!(state_of(&list, &v1).as_deref(), Some("current"), "{list}");
    let _ = std::fs::remove_dir_all(&store);
}
