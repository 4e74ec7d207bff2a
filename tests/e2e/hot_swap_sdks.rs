//! Hot swap in every thin SDK: each language's `versioned-v1`/`-v2`
//! fixtures (tests/fixtures-<lang>/; JavaScript on both engines) declare `Pinned` pinned and
//! `Upgrading` auto-upgrading in that language's idiom, as the Rust
//! fixtures do. The host's default here is auto-upgrade, so a pinned run
//! staying on version 1 is the declaration's doing; the loader check shows
//! both declarations were read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use polyworker_host::config::DefaultVersioning;
use polyworker_host::runtime::bindings::exports::polyworker::worker::versioning::VersioningBehavior;
use polyworker_host::runtime::{Capacity, Loader, WasmEngine};
use polyworker_tests::{Sdk, Temporal, TestHost, engine, unique};
use serde_json::json;

use super::{
    admin_ready, digest_of, failed_tasks, first_task_completed, list_until, modules, open_of,
    outcome_of, versioned_config_of,
};

/// Version `version` of an SDK's hot-swap fixture.
fn module(sdk: Sdk, version: u32) -> PathBuf {
    sdk.fixture(&format!("versioned-v{version}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript() {
    declared_versioning_routes_runs(Sdk::Js).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_spidermonkey() {
    declared_versioning_routes_runs(Sdk::JsSpiderMonkey).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python() {
    declared_versioning_routes_runs(Sdk::Python).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go() {
    declared_versioning_routes_runs(Sdk::Go).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c() {
    declared_versioning_routes_runs(Sdk::C).await
}

/// What the loader reads from a module's `versioning` export.
async fn declared(path: &Path) -> BTreeMap<String, VersioningBehavior> {
    let capacity = Capacity {
        workflow_instances: 1,
        activity_instances: 1,
        workflow_tasks: 1,
    };
    let wasm = WasmEngine::new(&engine(), capacity).expect("engine");
    let loader = Loader::new(&wasm.engine).expect("loader");
    let module = loader.load(path).await.expect("the fixture loads");
    module
        .workflow
        .as_ref()
        .expect("a workflow module")
        .versioning
        .clone()
}

async fn declared_versioning_routes_runs(sdk: Sdk) {
    let (v1_path, v2_path) = (module(sdk, 1), module(sdk, 2));
    let expected = BTreeMap::from([
        ("Pinned".to_string(), VersioningBehavior::Pinned),
        ("Upgrading".to_string(), VersioningBehavior::AutoUpgrade),
    ]);
    for path in [&v1_path, &v2_path] {
        assert_eq!(
            declared(path).await,
            expected,
            "{sdk:?}: {}",
            path.display()
        );
    }

    let task_queue = unique("swap-sdk");
    let store = std::env::temp_dir().join(unique("swap-sdk-store"));
    let cfg = versioned_config_of(&task_queue, &store, v1_path, DefaultVersioning::AutoUpgrade);
    let admin = cfg.deployment.as_ref().expect("a deployment").admin;
    let host = TestHost::start(cfg).await;
    admin_ready(admin).await;
    let t = Temporal::connect().await;
    let (pinned, upgrading) = (unique("pinned"), unique("upgrading"));
    t.start(&task_queue, "Pinned", &pinned, &[]).await;
    t.start(&task_queue, "Upgrading", &upgrading, &[]).await;
    for id in [&pinned, &upgrading] {
        t.wait_for_event(id, Duration::from_secs(30), first_task_completed)
            .await;
    }
    let v1 = digest_of(&module(sdk, 1));
    list_until(admin, "version 1 has its two open runs", |l| {
        open_of(l, &v1).as_deref() == Some("2")
    })
    .await;

    // Version 2's Pinned is not replay-safe: had the declaration been lost,
    // the gate would replay the pinned run against it and refuse.
    let v2_arg = v2_path.display().to_string();
    let (ok, out) = modules(
        admin,
        &["deploy", "--task-queue", &task_queue, &v2_arg, "--current"],
    );
    assert!(ok, "{sdk:?}: {out}");
    let fresh = unique("pinned-v2");
    t.start(&task_queue, "Pinned", &fresh, &[]).await;
    for id in [&pinned, &upgrading, &fresh] {
        t.signal(id, "go", json!(null)).await;
    }
    assert_eq!(outcome_of(&t, &pinned).await, "v1", "{sdk:?}: stays pinned");
    assert_eq!(
        outcome_of(&t, &upgrading).await,
        "v2",
        "{sdk:?}: moves to version 2 and takes the patched branch"
    );
    assert_eq!(outcome_of(&t, &fresh).await, "v2", "{sdk:?}");
    for id in [&pinned, &upgrading, &fresh] {
        assert_eq!(failed_tasks(&t.history(id).await), 0, "{sdk:?}: {id}");
    }
    host.stop().await.expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&store);
}
