//! A fleet that converges on its own: modules pushed once to a real OCI
//! registry (Debian's `docker-registry` on loopback), several host
//! processes with empty stores on one dev server, routing changed once on
//! the server (with polyworker's CLI and with Temporal's) — and every host
//! follows; registry credentials from the environment or a Docker config.

use std::time::Duration;

use polyworker_tests::fleet::{FleetCli, fleet_host, push, store_of};
use polyworker_tests::registry::Registry;
use polyworker_tests::{
    HostProcess, Outcome, Temporal, eventually, guest, http_get, server, temporal_cli, unique,
};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const WITHIN: Duration = Duration::from_secs(60);

fn digest(name: &str) -> String {
    polyworker_host::runtime::digest(&std::fs::read(guest(name)).expect("fixture built"))
}

/// Temporal's own CLI against the dev server: its stdout, or its stderr.
fn temporal(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(temporal_cli())
        .args(args)
        .args([
            "--address",
            server().address().trim_start_matches("http://"),
        ])
        .args(["--namespace", "default"])
        .output()
        .expect("run the temporal CLI");
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).to_string()),
        false => Err(String::from_utf8_lossy(&out.stderr).to_string()),
    }
}

/// `temporal worker deployment set-current-version`, retried until the
/// server knows the version (its pollers have reached it).
async fn set_current(deployment: &str, build_id: &str) {
    let what = format!("{deployment} is routed to {build_id:.12}");
    eventually(WITHIN, &what, || async {
        temporal(&[
            "worker",
            "deployment",
            "set-current-version",
            "--yes",
            "--deployment-name",
            deployment,
            "--build-id",
            build_id,
        ])
        .map(drop)
    })
    .await;
}

/// Waits until the server has no record of `build_id` in `deployment`.
async fn deleted(deployment: &str, build_id: &str) {
    let what = format!("{build_id:.12} is deleted from {deployment}");
    eventually(Duration::from_secs(120), &what, || async {
        let out = temporal(&["worker", "deployment", "describe", "--name", deployment])?;
        match out.contains(build_id) {
            true => Err(out),
            false => Ok(()),
        }
    })
    .await;
}

/// Waits until `host`'s log has `line` (a message with `digest`).
async fn logs(host: &HostProcess, line: &str, digest: &str) {
    let what = format!("{line} {digest:.12}");
    eventually(WITHIN, &what, || async {
        let log = host.log();
        match log.lines().any(|l| l.contains(line) && l.contains(digest)) {
            true => Ok(()),
            false => Err(log.lines().rev().take(5).collect::<Vec<_>>().join("\n")),
        }
    })
    .await;
}

/// Who completed the run's workflow tasks.
async fn identities(t: &Temporal, id: &str) -> Vec<String> {
    t.history(id)
        .await
        .into_iter()
        .filter_map(|e| match e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some(a.identity),
            _ => None,
        })
        .collect()
}

/// Starts `wf` from Temporal's CLI, lets it go, and checks its answer.
async fn completes_with(t: &Temporal, task_queue: &str, wf: &str, answer: &str) -> String {
    let id = unique(wf);
    let started = temporal(&[
        "workflow",
        "start",
        "--task-queue",
        task_queue,
        "--type",
        wf,
        "--workflow-id",
        &id,
    ]);
    assert!(started.is_ok(), "{id}: {started:?}");
    t.signal(&id, "go", json!(null)).await;
    match t.outcome(&id, WITHIN).await {
        Outcome::Completed(v) => assert_eq!(v, answer, "{id}"),
        other => panic!("{id}: {other:?}"),
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_converge_on_what_the_registry_holds_and_the_server_routes_to() {
    polyworker_tests::quick_drainage();
    let mut registry = Registry::start();
    let repo = registry.repository("fleet");
    let q = unique("fleet");
    let deployment = unique("fleet");
    let (v1, v2) = (digest("versioned_v1"), digest("versioned_v2"));
    let out = push(&repo, &q, "versioned_v1");
    assert!(
        out.contains(&v1) && out.contains("Pinned"),
        "push names the digest and the types: {out}"
    );

    // Three hosts with empty stores pull v1; one set-current through
    // polyworker's CLI (its replay gate has nothing to replay yet).
    let names: Vec<String> = (1..=5).map(|i| unique(&format!("fleet-{i}"))).collect();
    let mut hosts: Vec<HostProcess> = names[..3]
        .iter()
        .map(|n| fleet_host(n, &deployment, &repo, &[&q]))
        .collect();
    for h in &mut hosts {
        h.ready(WITHIN).await;
        logs(h, "started a version from the registry", &v1).await;
    }
    let name = format!("{deployment}/{q}");
    let fleet = FleetCli {
        registry: &repo,
        deployment: &deployment,
        task_queue: &q,
    };
    let (ok, out) = fleet.route(&["set-current", &v1[..12]]);
    assert!(ok && out.contains("is current"), "{out}");
    let t = Temporal::connect().await;
    // A pinned run stays on v1 across the swap below; an auto-upgrading
    // one moves to v2.
    let pinned = unique("pinned");
    t.start(&q, "Pinned", &pinned, &[]).await;
    let upgrading = unique("upgrading");
    t.start(&q, "Upgrading", &upgrading, &[]).await;
    served_by_all(&t, &q, "v1", &names[..3]).await;

    // v2 is pushed and made current once, through Temporal's CLI: every
    // host follows; the pinned run finishes on v1.
    push(&repo, &q, "versioned_v2");
    for h in &hosts {
        logs(h, "started a version from the registry", &v2).await;
    }
    set_current(&name, &v2).await;
    for h in &hosts {
        logs(h, "the server made a version current", &v2).await;
    }
    completes_with(&t, &q, "Pinned", "v2").await;
    t.signal(&pinned, "go", json!(null)).await;
    assert!(matches!(t.outcome(&pinned, WITHIN).await, Outcome::Completed(v) if v == "v1"));

    // The replay gate, fleet-wide: a version that breaks the auto-upgrading
    // run is refused by the CLI, naming the run; the run finishes on v2.
    let bad = digest("versioned_v2_bad");
    let bad_ramp = bad.clone();
    push(&repo, &q, "versioned_v2_bad");
    for h in &hosts {
        logs(h, "started a version from the registry", &bad).await;
    }
    let (ok, out) = fleet.route(&["set-current", &bad]);
    assert!(
        !ok && out.contains("the replay gate refused") && out.contains(&upgrading),
        "{out}"
    );
    t.signal(&upgrading, "go", json!(null)).await;
    assert!(matches!(t.outcome(&upgrading, WITHIN).await, Outcome::Completed(v) if v == "v2"));
    for id in [&pinned, &upgrading] {
        let failed = t.history(id).await.iter().any(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskFailedEventAttributes(_))
            )
        });
        assert!(!failed, "{id}: a workflow task failed across the swap");
    }
    // With its last run gone (the auto-upgrading one moved at its next
    // task), v1 stops everywhere.
    for h in &hosts {
        logs(h, "stopped a drained version", &v1).await;
    }
    // Its file leaves each host's store: the registry keeps the bytes.
    for n in &names[..3] {
        let file = store_of(n).join("modules").join(format!("{v1}.wasm"));
        eventually(WITHIN, "v1's file is collected", || async {
            if file.exists() {
                Err("still there")
            } else {
                Ok(())
            }
        })
        .await;
    }

    // Ramping 20% (past the gate, which would refuse it for the finished
    // run): new workflows split between the versions in about that share.
    let (ok, out) = fleet.route(&["set-ramping", &bad, "--percentage", "20", "--force"]);
    assert!(ok && out.contains("ramps to 20%"), "{out}");
    let ramped = ramp_share(&t, &q, 200).await;
    assert!(
        (15..=70).contains(&ramped),
        "{ramped} of 200 new workflows ran the 20% ramp"
    );
    let (ok, out) = fleet.route(&["set-ramping", &bad, "--percentage", "0", "--force"]);
    assert!(ok && out.contains("drains"), "{out}");
    // Once it drains, it is the newest drained version, and v1 (drained
    // before it) is deleted from the server by the hosts.
    deleted(&name, &v1).await;
    assert!(
        hosts.iter().any(|h| h
            .log()
            .lines()
            .any(|l| l.contains("deleted a drained version") && l.contains(&v1))),
        "a host deleted v1"
    );

    // A blob changed in the registry's storage is refused by digest (on a
    // queue only the late host serves, so no other host pulled it first); a
    // fourth host joining later with an empty store serves what is current.
    let q_bad = unique("fleet-bad");
    let bad = digest("workflows");
    push(&repo, &q_bad, "workflows");
    let blob = registry.blob_file(&bad);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();
    let mut late = fleet_host(&names[3], &deployment, &repo, &[&q, &q_bad]);
    late.ready(WITHIN).await;
    logs(&late, "started a version from the registry", &v2).await;
    logs(&late, "refused a version from the registry", &bad).await;
    let metrics = http_get(late.metrics, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("polyworker_registry_refusals") && l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        late.log().contains("hashes to"),
        "the refusal says why:\n{}",
        late.log()
    );
    hosts.push(late);
    served_by_all(&t, &q, "v2", &names[..4]).await;
    // It starts neither the version deleted from the server (the registry
    // still holds it) nor the drained one.
    let log = hosts[3].log();
    for old in [&v1, &bad_ramp] {
        assert!(
            !log.lines()
                .any(|l| l.contains("started a version from the registry")
                    && l.contains(old.as_str())),
            "the late host started {old:.12}:\n{log}"
        );
    }

    // The registry goes down: hosts keep serving and say so once; a host
    // restarted meanwhile starts from its store; all catch up after.
    registry.pause();
    for h in &hosts {
        logs(h, "the registry cannot be read", "").await;
    }
    let readyz = http_get(hosts[0].health, "/readyz").await;
    assert!(
        readyz.starts_with("HTTP/1.0 200") && readyz.contains("the registry cannot be read"),
        "ready, with the detail: {readyz}"
    );
    let metrics = http_get(hosts[0].metrics, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("polyworker_registry_reachable") && l.ends_with(" 0")),
        "{metrics}"
    );
    let mut stopped = hosts.remove(1);
    stopped.signal("TERM");
    assert!(stopped.exited(WITHIN).await.is_some());
    // Its directory goes before the new process's is made.
    drop(stopped);
    hosts.insert(1, fleet_host(&names[1], &deployment, &repo, &[&q]));
    hosts[1].ready(WITHIN).await;
    logs(&hosts[1], "the registry cannot be read", "").await;
    served_by_all(&t, &q, "v2", &names[..4]).await;
    // A host that joins empty during the outage has nothing to serve
    // until the registry is back; then it pulls what is current.
    let mut empty = fleet_host(&names[4], &deployment, &repo, &[&q]);
    empty.ready(WITHIN).await;
    registry.resume();
    logs(&empty, "started a version from the registry", &v2).await;
    hosts.push(empty);
    served_by_all(&t, &q, "v2", &names).await;
    for h in &hosts[..4] {
        logs(h, "the registry can be read again", "").await;
    }
    for h in &hosts {
        let log = h.log();
        assert!(!log.contains("panicked"), "a host panicked:\n{log}");
    }
    for n in &names {
        let _ = std::fs::remove_dir_all(store_of(n));
    }
}

/// How many of `n` new `Pinned` workflows ran the ramping version (the
/// others answer "v2").
async fn ramp_share(t: &Temporal, task_queue: &str, n: usize) -> usize {
    let ids: Vec<String> = (0..n).map(|_| unique("ramp")).collect();
    for id in &ids {
        t.start(task_queue, "Pinned", id, &[]).await;
        t.signal(id, "go", json!(null)).await;
    }
    let mut ramped = 0;
    for id in &ids {
        match t.outcome(id, WITHIN).await {
            Outcome::Completed(v) if v == "v2-bad" => ramped += 1,
            Outcome::Completed(v) if v == "v2" => {}
            other => panic!("{id}: {other:?}"),
        }
    }
    ramped
}

/// Runs workflows until each of `hosts` has completed a task of one (at most
/// 60 runs), each answering `answer`.
async fn served_by_all(t: &Temporal, task_queue: &str, answer: &str, hosts: &[String]) {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..60 {
        let id = completes_with(t, task_queue, "Pinned", answer).await;
        seen.extend(identities(t, &id).await);
        // Core adds `@<machine>` to the configured identity.
        if hosts
            .iter()
            .all(|h| seen.iter().any(|s| s.starts_with(&format!("{h}@"))))
        {
            return;
        }
    }
    panic!("not every host served one of 60 runs: {seen:?}, hosts {hosts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_credentials_come_from_the_environment_or_the_docker_config() {
    polyworker_tests::quick_drainage();
    use base64::Engine;
    use polyworker_tests::registry::{PASSWORD, USER};
    let registry = Registry::start_with_login();
    let repo = registry.repository("secured");
    let q = unique("secured");
    let file = guest("versioned_v1").display().to_string();
    let push_file = |file: &str, env: &[(&str, &str)]| {
        polyworker_tests::polyworker_cli_with(
            &[
                "modules",
                "push",
                "--registry",
                &repo,
                "--plain-http",
                "--task-queue",
                &q,
                file,
            ],
            env,
        )
    };
    let push_with = |env: &[(&str, &str)]| push_file(&file, env);
    // No credentials: refused, and said so.
    let empty = std::env::temp_dir().join(unique("docker-config-empty"));
    std::fs::create_dir_all(&empty).unwrap();
    let empty_env = empty.display().to_string();
    let (ok, out) = push_with(&[("DOCKER_CONFIG", &empty_env)]);
    assert!(!ok && out.to_lowercase().contains("auth"), "{out}");
    // A file that is not a component is refused before anything is sent.
    let not_wasm = std::env::temp_dir().join(unique("not-a-component.wasm"));
    std::fs::write(&not_wasm, b"hello").unwrap();
    let (ok, out) = push_file(&not_wasm.display().to_string(), &[]);
    assert!(!ok && out.contains("not a WebAssembly"), "{out}");
    let _ = std::fs::remove_file(&not_wasm);
    // From the environment.
    let (ok, out) = push_with(&[
        ("DOCKER_CONFIG", &empty_env),
        ("POLYWORKER_REGISTRY_USERNAME", USER),
        ("POLYWORKER_REGISTRY_PASSWORD", PASSWORD),
    ]);
    assert!(ok, "{out}");
    // From a Docker config file, as `docker login` writes it; a host reads
    // it the same way.
    let docker = std::env::temp_dir().join(unique("docker-config"));
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.address
        ),
    )
    .unwrap();
    let docker_env = docker.display().to_string();
    let (ok, out) = push_with(&[("DOCKER_CONFIG", &docker_env)]);
    assert!(ok, "{out}");
    let name = unique("secured-host");
    let store = store_of(&name);
    let body = format!(
        "[server]\naddress = \"{}\"\nidentity = \"{name}\"\n\n\
         [deployment]\nname = \"{}\"\nstore = \"{}\"\nadmin = \"{}\"\n\n\
         [deployment.registry]\naddress = \"{repo}\"\nplain_http = true\npoll_ms = 300\n\n\
         [[task_queue]]\nname = \"{q}\"\n",
        server().address(),
        unique("secured"),
        store.display(),
        polyworker_tests::free_address(),
    );
    let mut host = HostProcess::spawn_with(&name, &body, &[("DOCKER_CONFIG", &docker_env)]);
    host.ready(WITHIN).await;
    logs(
        &host,
        "started a version from the registry",
        &digest("versioned_v1"),
    )
    .await;
    for d in [&empty, &docker, &store] {
        let _ = std::fs::remove_dir_all(d);
    }
}
