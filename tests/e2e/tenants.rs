//! Tenants sharing one host: each serves its own namespace on the shared
//! dev server (started with `--namespace tenant-a --namespace tenant-b`),
//! its workflows' commands cannot leave it, a tenant that cannot connect
//! leaves the others running, the memory budget evicts idle runs before it
//! refuses a growth, admin tokens confine each tenant, and a reload
//! (`SIGHUP` or the admin API) changes tenants without touching the others.

use std::time::Duration;

use polyworker_host::config::TenantConfig;
use polyworker_tests::{
    Outcome, TENANT_NAMESPACES, Temporal, TestHost, admin_cli, config, eventually, free_address,
    guest, http_get, modules_cli, queue, unique,
};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const WITHIN: Duration = Duration::from_secs(60);

/// Tenants `a` and `b` in the dev server's tenant namespaces, one queue
/// each serving the hostile and garbage fixtures.
fn two_tenants() -> (polyworker_host::Config, String, String) {
    let (qa, qb) = (unique("qa"), unique("qb"));
    let modules = vec![guest("hostile"), guest("garbage")];
    let mut cfg = config(Vec::new());
    cfg.tenants = vec![
        TenantConfig::new("a", TENANT_NAMESPACES[0], vec![queue(&qa, modules.clone())]),
        TenantConfig::new("b", TENANT_NAMESPACES[1], vec![queue(&qb, modules)]),
    ];
    (cfg, qa, qb)
}

async fn completes(
    t: &Temporal,
    task_queue: &str,
    wf: &str,
    args: &[serde_json::Value],
) -> serde_json::Value {
    let id = unique(wf);
    t.start(task_queue, wf, &id, args).await;
    match t.outcome(&id, WITHIN).await {
        Outcome::Completed(v) => v,
        other => panic!("{wf} on {task_queue}: {other:?}"),
    }
}

async fn task_fails_with(
    t: &Temporal,
    task_queue: &str,
    wf: &str,
    id: &str,
    args: &[serde_json::Value],
    wanted: &str,
) {
    t.start(task_queue, wf, id, args).await;
    let (message, _) = t.task_failure(id, WITHIN).await;
    assert!(
        message.contains(wanted),
        "{wf}: wanted {wanted:?} in {message:?}"
    );
}

/// The value of the first sample of `metric` whose labels contain `label`.
fn sample(body: &str, metric: &str, label: &str) -> Option<f64> {
    body.lines()
        .filter(|l| l.starts_with(metric) && l.contains(label))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Waits until the first sample of `metric` with `label` reaches `at_least`
/// (the tenant metrics are sampled once a second); returns the scrape.
async fn metric_reaches(
    metrics: std::net::SocketAddr,
    metric: &str,
    label: &str,
    at_least: f64,
) -> String {
    let what = format!("{metric}{{{label}}} reaches {at_least}");
    eventually(WITHIN, &what, || async {
        let body = http_get(metrics, "/metrics").await;
        match sample(&body, metric, label) {
            Some(n) if n >= at_least => Ok(body),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_serve_their_own_namespaces_and_commands_cannot_leave_them() {
    let (mut cfg, qa, qb) = two_tenants();
    let metrics = free_address();
    cfg.metrics.prometheus = Some(metrics);
    let host = TestHost::start(cfg).await;
    let client = Temporal::connect().await;
    let (a, b) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );
    assert_eq!(completes(&a, &qa, "Healthy", &[]).await, "ok");
    assert_eq!(completes(&b, &qb, "Healthy", &[]).await, "ok");
    // Its own queue is fine, named or not.
    assert_eq!(
        completes(&a, &qa, "CrossQueue", &[qa.clone().into()]).await,
        "stolen"
    );

    let outside = "outside tenant \"a\"";
    task_fails_with(
        &a,
        &qa,
        "CrossQueue",
        &unique("steal-activity"),
        &[qb.clone().into()],
        &format!("schedule-activity targets task queue {qb:?}, {outside}"),
    )
    .await;
    task_fails_with(
        &a,
        &qa,
        "CrossChild",
        &unique("steal-child"),
        &[qb.clone().into()],
        &format!("start-child targets task queue {qb:?}, {outside}"),
    )
    .await;
    task_fails_with(
        &a,
        &qa,
        "SignalElsewhere",
        &format!("{}:{}", unique("signal"), TENANT_NAMESPACES[1]),
        &[],
        &format!(
            "signal-external targets namespace {:?}, {outside}",
            TENANT_NAMESPACES[1]
        ),
    )
    .await;
    // A workflow of the same queue name in the other namespace reaches no
    // worker of a's: the server keeps namespaces apart.
    let body = metric_reaches(
        metrics,
        "polyworker_tenant_scope_refusals",
        "tenant=\"a\"",
        3.0,
    )
    .await;
    assert_eq!(
        sample(&body, "polyworker_tenant_scope_refusals", "tenant=\"b\""),
        Some(0.0),
        "b refused nothing"
    );
    // Core's metrics and the host's own carry the tenant too.
    for (metric, tenant) in [
        ("temporal_workflow_completed", "a"),
        ("temporal_workflow_completed", "b"),
        ("polyworker_instantiations", "a"),
        ("polyworker_activation_latency_us_count", "b"),
    ] {
        let label = format!("tenant=\"{tenant}\"");
        assert!(
            body.lines()
                .any(|l| l.starts_with(metric) && l.contains(&label)),
            "{metric} with {label} in:\n{body}"
        );
    }
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_that_cannot_connect_or_is_refused_does_not_stop_the_others() {
    let (mut cfg, qa, _) = two_tenants();
    let mut unreachable = TenantConfig::new(
        "c",
        "tenant-c",
        vec![queue(&unique("qc"), vec![guest("hostile")])],
    );
    unreachable.connection = Some(polyworker_host::config::ConnectionConfig {
        address: Some(format!("http://{}", free_address())),
        ..Default::default()
    });
    let refused = TenantConfig::new(
        "d",
        "no-such-namespace",
        vec![queue(&unique("qd"), vec![guest("hostile")])],
    );
    cfg.tenants.push(unreachable);
    cfg.tenants.push(refused);
    let host = TestHost::start(cfg).await;
    let a = Temporal::connect().await.in_namespace(TENANT_NAMESPACES[0]);
    assert_eq!(completes(&a, &qa, "Healthy", &[]).await, "ok");
    host.stop().await.expect("clean shutdown");
}

/// Waits until the workflow's first task completed: its run is cached and parked.
async fn parked(t: &Temporal, id: &str) {
    t.wait_for_event(id, WITHIN, |e| {
        matches!(
            e.attributes,
            Some(Attributes::WorkflowTaskCompletedEventAttributes(_))
        )
    })
    .await;
}

/// Whether any workflow task of `id` failed so far.
async fn any_task_failed(t: &Temporal, id: &str) -> bool {
    t.history(id).await.iter().any(|e| {
        matches!(
            e.attributes,
            Some(Attributes::WorkflowTaskFailedEventAttributes(_))
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_budget_evicts_idle_runs_before_it_refuses() {
    const HOG_MIB: u64 = 30;
    let (mut cfg, qa, qb) = two_tenants();
    let metrics = free_address();
    cfg.metrics.prometheus = Some(metrics);
    cfg.engine.workflow_memory_mib = 160;
    cfg.capacity.guest_memory_mib = Some(150);
    cfg.tenants[0].quotas.memory_mib = Some(100);
    let host = TestHost::start(cfg).await;
    let client = Temporal::connect().await;
    let (a, b) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );
    let evictions = |tenant: &'static str| async move {
        let body = http_get(metrics, "/metrics").await;
        sample(
            &body,
            "polyworker_tenant_evictions",
            &format!("tenant=\"{tenant}\""),
        )
        .unwrap_or(0.0)
    };
    // Four 30 MiB runs parked in a's 100 MiB share: the fourth fits only
    // once an idle one of a's own is evicted.
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let id = unique("hog-a");
        a.start(&qa, "Hog", &id, &[HOG_MIB.into()]).await;
        parked(&a, &id).await;
        hogs.push((&a, id));
    }
    eventually(WITHIN, "a evicted its own idle run", || async {
        match evictions("a").await {
            n if n >= 1.0 => Ok(()),
            n => Err(n),
        }
    })
    .await;
    let a_before = evictions("a").await;
    // b is within its share, but the host's 150 MiB are nearly gone: a,
    // over its fair part (75 MiB), gives way.
    for _ in 0..2 {
        let id = unique("hog-b");
        b.start(&qb, "Hog", &id, &[HOG_MIB.into()]).await;
        parked(&b, &id).await;
        hogs.push((&b, id));
    }
    eventually(
        WITHIN,
        "b's runs were made room for by evicting a's",
        || async {
            match evictions("a").await {
                n if n > a_before => Ok(()),
                n => Err(n),
            }
        },
    )
    .await;
    assert_eq!(evictions("b").await, 0.0, "b lost no run");
    for (t, id) in &hogs {
        assert!(
            !any_task_failed(t, id).await,
            "{id}: eviction made room, nothing was refused"
        );
    }
    // Past its share even with nothing of its own left to evict: refused,
    // with the budget named, and retried later by the server.
    let big = unique("hog-too-big");
    task_fails_with(
        &a,
        &qa,
        "Hog",
        &big,
        &[110.into()],
        "tenant memory budget exceeded",
    )
    .await;
    // Woken one by one, every parked run completes, evicted ones by replay.
    for (t, id) in &hogs {
        t.signal(id, "go", serde_json::Value::Null).await;
        match t.outcome(id, WITHIN).await {
            Outcome::Completed(v) => assert_eq!(v, HOG_MIB),
            other => panic!("{id}: {other:?}"),
        }
    }
    metric_reaches(
        metrics,
        "polyworker_tenant_budget_refusals",
        "budget=\"tenant\",tenant=\"a\"",
        1.0,
    )
    .await;
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_confine_each_tenant_to_its_own_queues() {
    let (qa, qb) = (unique("adm-a"), unique("adm-b"));
    let store = std::env::temp_dir().join(unique("pw-admin-store"));
    let admin = free_address();
    let v1 = guest("versioned_v1");
    let tenant = |name: &str, ns: &str, q: &str| {
        format!(
            "[[tenant]]\nname = \"{name}\"\nnamespace = \"{ns}\"\nadmin_token_env = \"PW_{}_TOKEN\"\n\
             [[tenant.task_queue]]\nname = \"{q}\"\nmodules = [\"{}\"]\n\n",
            name.to_uppercase(),
            v1.display()
        )
    };
    let body = format!(
        "[server]\naddress = \"{}\"\nidentity = \"admin-tokens\"\n\n\
         [deployment]\nname = \"tokens\"\nstore = \"{}\"\nadmin = \"{admin}\"\nadmin_token_env = \"PW_HOST_TOKEN\"\n\n{}{}",
        polyworker_tests::server().address(),
        store.display(),
        tenant("a", TENANT_NAMESPACES[0], &qa),
        tenant("b", TENANT_NAMESPACES[1], &qb),
    );
    let (host_t, a_t, b_t) = ("host-secret-1", "a-secret-2", "b-secret-3");
    let mut host = polyworker_tests::HostProcess::spawn_with(
        &unique("admin-tokens"),
        &body,
        &[
            ("PW_HOST_TOKEN", host_t),
            ("PW_A_TOKEN", a_t),
            ("PW_B_TOKEN", b_t),
        ],
    );
    host.ready(WITHIN).await;
    let (ok, all) = modules_cli(admin, Some(host_t), &["list"]);
    assert!(ok && all.contains(&qa) && all.contains(&qb), "{all}");
    let (ok, mine) = modules_cli(admin, Some(a_t), &["list"]);
    assert!(
        ok && mine.contains(&qa) && !mine.contains(&qb),
        "a sees only its own: {mine}"
    );
    let v2 = guest("versioned_v2").display().to_string();
    let (ok, out) = modules_cli(admin, Some(a_t), &["deploy", "--task-queue", &qb, &v2]);
    assert!(
        !ok && out.contains("may act only on its own task queues"),
        "{out}"
    );
    let (ok, out) = modules_cli(admin, Some(b_t), &["retire", "--task-queue", &qa, "0000"]);
    assert!(
        !ok && out.contains("may act only on its own task queues"),
        "{out}"
    );
    let (ok, out) = modules_cli(admin, Some(a_t), &["deploy", "--task-queue", &qa, &v2]);
    assert!(ok, "a deploys to its own queue: {out}");
    for token in [None, Some("guess")] {
        let (ok, out) = modules_cli(admin, token, &["list"]);
        assert!(
            !ok && out.contains("Bearer"),
            "with tenants, even loopback needs a token: {out}"
        );
    }
    let log = host.log();
    for t in [host_t, a_t, b_t] {
        assert!(!log.contains(t), "tokens are never logged");
    }
    let _ = std::fs::remove_dir_all(&store);
}

/// The most activities of `ids` that ran at once, by the server's clock.
async fn most_at_once(t: &Temporal, ids: &[String]) -> usize {
    let mut edges = Vec::new();
    for id in ids {
        for e in t.history(id).await {
            let at = e.event_time.map(|ts| (ts.seconds, ts.nanos));
            match e.attributes {
                Some(Attributes::ActivityTaskStartedEventAttributes(_)) => edges.push((at, 1i32)),
                Some(Attributes::ActivityTaskCompletedEventAttributes(_)) => edges.push((at, -1)),
                _ => {}
            }
        }
    }
    // Ends before starts at the same instant: a slot handed on is not overlap.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_slot_quota_and_log_rate_span_all_of_its_queues() {
    let (q1, q2, qb) = (unique("quota-1"), unique("quota-2"), unique("quota-b"));
    let modules = vec![guest("activities"), guest("hostile")];
    let metrics = free_address();
    let mut cfg = config(Vec::new());
    cfg.metrics.prometheus = Some(metrics);
    let mut a = TenantConfig::new(
        "a",
        TENANT_NAMESPACES[0],
        vec![queue(&q1, modules.clone()), queue(&q2, modules.clone())],
    );
    a.quotas.activities = Some(2);
    a.quotas.log_lines_per_second = Some(5.0);
    cfg.tenants = vec![
        a,
        TenantConfig::new("b", TENANT_NAMESPACES[1], vec![queue(&qb, modules)]),
    ];
    let host = TestHost::start(cfg).await;
    let client = Temporal::connect().await;
    let ta = client.in_namespace(TENANT_NAMESPACES[0]);
    let tb = client.in_namespace(TENANT_NAMESPACES[1]);
    let call = json!({ "activity_type": "Sleep", "args": [700] });
    let mut ids = Vec::new();
    for q in [&q1, &q2, &q1, &q2, &q1, &q2] {
        let id = unique("sleepy");
        ta.start(q, "CallActivity", &id, std::slice::from_ref(&call))
            .await;
        ids.push(id);
    }
    // b is not held back by a's quota: its three run side by side.
    let mut b_ids = Vec::new();
    for _ in 0..3 {
        let id = unique("sleepy-b");
        tb.start(&qb, "CallActivity", &id, std::slice::from_ref(&call))
            .await;
        b_ids.push(id);
    }
    for (t, id) in ids
        .iter()
        .map(|i| (&ta, i))
        .chain(b_ids.iter().map(|i| (&tb, i)))
    {
        match t.outcome(id, WITHIN).await {
            Outcome::Completed(v) => assert_eq!(v["ok"], 700, "{id}"),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(
        most_at_once(&ta, &ids).await,
        2,
        "a's quota of 2 spans both of its queues"
    );
    assert_eq!(most_at_once(&tb, &b_ids).await, 3, "b has no quota");

    let flood = unique("flood");
    ta.start(&q1, "LogFlood", &flood, &[200.into()]).await;
    assert!(matches!(
        ta.outcome(&flood, WITHIN).await,
        Outcome::Completed(_)
    ));
    // 200 lines in one activation against 5 a second (a burst of 6).
    metric_reaches(
        metrics,
        "polyworker_tenant_log_lines_dropped",
        "tenant=\"a\"",
        190.0,
    )
    .await;
    host.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_tenants_without_touching_the_others_in_flight_work() {
    let (qa, qb) = (unique("reload-a"), unique("reload-b"));
    let tenant = |name: &str, ns: &str, q: &str, extra: &str| {
        format!(
            "[[tenant]]\nname = \"{name}\"\nnamespace = \"{ns}\"\n{extra}\n\
             [[tenant.task_queue]]\nname = \"{q}\"\nmodules = [\"{}\", \"{}\"]\n\
             graceful_shutdown_ms = 1000\n\n",
            guest("hostile").display(),
            guest("activities").display()
        )
    };
    let server = format!(
        "[server]\naddress = \"{}\"\nidentity = \"reload\"\n\n",
        polyworker_tests::server().address()
    );
    let a = tenant("a", TENANT_NAMESPACES[0], &qa, "");
    let mut host =
        polyworker_tests::HostProcess::spawn_with(&unique("reload"), &format!("{server}{a}"), &[]);
    host.ready(WITHIN).await;
    let client = Temporal::connect().await;
    let (ta, tb) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );
    // In flight across the reloads: a parked run and a 3 s activity of a's.
    let hog = unique("parked");
    ta.start(&qa, "Hog", &hog, &[1.into()]).await;
    let slow = unique("slow");
    let call = json!({ "activity_type": "Sleep", "args": [3000] });
    ta.start(&qa, "CallActivity", &slow, &[call]).await;
    parked(&ta, &hog).await;

    // b is added.
    host.rewrite_config(&format!(
        "{server}{a}{}",
        tenant("b", TENANT_NAMESPACES[1], &qb, "")
    ));
    host.signal("HUP");
    assert_eq!(completes(&tb, &qb, "Healthy", &[]).await, "ok");
    // A config that does not validate is refused; both tenants go on.
    host.rewrite_config(&format!("{server}{a}colour = 1\n"));
    host.signal("HUP");
    eventually(WITHIN, "the refusal is logged", || async {
        if host.log().contains("the new config was refused") {
            Ok(())
        } else {
            Err("not yet")
        }
    })
    .await;
    assert_eq!(completes(&tb, &qb, "Healthy", &[]).await, "ok");
    // b's quota changes (b restarts); a is untouched.
    host.rewrite_config(&format!(
        "{server}{a}{}",
        tenant(
            "b",
            TENANT_NAMESPACES[1],
            &qb,
            "quotas = { activities = 1 }"
        )
    ));
    host.signal("HUP");
    eventually(WITHIN, "the reload restarts b alone", || async {
        let log = host.log();
        match log.lines().rev().find(|l| l.contains("\"reloaded\"")) {
            Some(l)
                if l.contains(r#""restarted":"[\"b\"]""#)
                    && l.contains(r#""unchanged":"[\"a\"]""#) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(completes(&tb, &qb, "Healthy", &[]).await, "ok");
    // a's in-flight work never noticed.
    match ta.outcome(&slow, WITHIN).await {
        Outcome::Completed(v) => assert_eq!(v["ok"], 3000),
        other => panic!("{other:?}"),
    }
    ta.signal(&hog, "go", serde_json::Value::Null).await;
    assert!(matches!(
        ta.outcome(&hog, WITHIN).await,
        Outcome::Completed(_)
    ));
    for id in [&slow, &hog] {
        assert!(
            !any_task_failed(&ta, id).await,
            "{id}: a reload of b touched a"
        );
    }
}

/// The tenants `polyworker reload` printed on its line for `what`.
fn listed<'a>(out: &'a str, what: &str) -> Vec<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(what))
        .map(|rest| {
            rest.split(", ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_call_reloads_a_versioned_host_and_its_tokens() {
    let (qa, qb) = (unique("vreload-a"), unique("vreload-b"));
    let store = std::env::temp_dir().join(unique("pw-vreload-store"));
    let admin = free_address();
    let tenant = |name: &str, ns: &str, q: &str| {
        format!(
            "[[tenant]]\nname = \"{name}\"\nnamespace = \"{ns}\"\nadmin_token_env = \"PW_{}_TOKEN\"\n\
             [[tenant.task_queue]]\nname = \"{q}\"\nmodules = [\"{}\"]\ngraceful_shutdown_ms = 1000\n\n",
            name.to_uppercase(),
            guest("versioned_v1").display()
        )
    };
    let head = format!(
        "[server]\naddress = \"{}\"\nidentity = \"vreload\"\n\n\
         [deployment]\nname = \"vreload\"\nstore = \"{}\"\nadmin = \"{admin}\"\nadmin_token_env = \"PW_HOST_TOKEN\"\n\n",
        polyworker_tests::server().address(),
        store.display(),
    );
    let a = tenant("a", TENANT_NAMESPACES[0], &qa);
    let (host_t, a_t, b_t) = ("host-secret-4", "a-secret-5", "b-secret-6");
    let mut host = polyworker_tests::HostProcess::spawn_with(
        &unique("vreload"),
        &format!("{head}{a}"),
        &[
            ("PW_HOST_TOKEN", host_t),
            ("PW_A_TOKEN", a_t),
            ("PW_B_TOKEN", b_t),
        ],
    );
    host.ready(WITHIN).await;
    let client = Temporal::connect().await;
    let (ta, tb) = (
        client.in_namespace(TENANT_NAMESPACES[0]),
        client.in_namespace(TENANT_NAMESPACES[1]),
    );
    // a's pinned run stays open across every reload below.
    let pinned = unique("pinned");
    ta.start(&qa, "Pinned", &pinned, &[]).await;
    parked(&ta, &pinned).await;
    let reload = |token| admin_cli(admin, Some(token), &["reload"]);

    // b is added, with its token and its versioned queue.
    host.rewrite_config(&format!(
        "{head}{a}{}",
        tenant("b", TENANT_NAMESPACES[1], &qb)
    ));
    let (ok, out) = reload(a_t);
    assert!(
        !ok && out.contains("may not reload"),
        "a tenant's token cannot reload: {out}"
    );
    let (ok, out) = reload(host_t);
    assert!(ok, "{out}");
    assert_eq!(
        (listed(&out, "added"), listed(&out, "unchanged")),
        (vec!["b"], vec!["a"]),
        "{out}"
    );
    let (ok, mine) = modules_cli(admin, Some(b_t), &["list"]);
    assert!(
        ok && mine.contains(&qb) && mine.contains("current"),
        "{mine}"
    );
    let b_run = unique("b-run");
    tb.start(&qb, "Pinned", &b_run, &[]).await;
    tb.signal(&b_run, "go", serde_json::Value::Null).await;
    assert!(matches!(tb.outcome(&b_run, WITHIN).await, Outcome::Completed(v) if v == "v1"));

    // A config that does not validate is refused and said so.
    host.rewrite_config(&format!("{head}{a}colour = 1\n"));
    let (ok, out) = reload(host_t);
    assert!(
        !ok && out.contains("the new config was refused") && out.contains("colour"),
        "{out}"
    );

    // b is removed: its queue stops and its token is no longer accepted.
    host.rewrite_config(&format!("{head}{a}"));
    let (ok, out) = reload(host_t);
    assert!(ok, "{out}");
    assert_eq!(
        (listed(&out, "removed"), listed(&out, "unchanged")),
        (vec!["b"], vec!["a"]),
        "{out}"
    );
    let (ok, out) = modules_cli(admin, Some(b_t), &["list"]);
    assert!(!ok && out.contains("Bearer"), "b's token is gone: {out}");
    let (ok, all) = modules_cli(admin, Some(host_t), &["list"]);
    assert!(ok && all.contains(&qa) && !all.contains(&qb), "{all}");

    // a's run never noticed.
    ta.signal(&pinned, "go", serde_json::Value::Null).await;
    assert!(matches!(ta.outcome(&pinned, WITHIN).await, Outcome::Completed(v) if v == "v1"));
    assert!(
        !any_task_failed(&ta, &pinned).await,
        "reloading b touched a's run"
    );
    let _ = std::fs::remove_dir_all(&store);
}
