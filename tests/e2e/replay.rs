//! Patching and replay: v1 histories replay on a patched v2, fail on an
//! unguarded v2, and new runs on v2 take the new branch.

use std::time::Duration;

use polyworker_host::temporal::replay::{self, ReplayInput};
use polyworker_tests::{
    Outcome, Temporal, TestHost, c_guest, config, engine, guest, polyworker_bin, queue, repo_root,
    server, temporal_cli, unique,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

async fn run_to_completion(t: &Temporal, task_queue: &str, id: &str) -> serde_json::Value {
    t.start(task_queue, "PatchedWorkflow", id, &[]).await;
    match t.outcome(id, Duration::from_secs(30)).await {
        Outcome::Completed(v) => v,
        other => panic!("{id}: {other:?}"),
    }
}

async fn fetch(t: &Temporal, id: &str) -> ReplayInput {
    ReplayInput {
        source: id.to_string(),
        workflow_id: id.to_string(),
        history: temporalio_common::protos::temporal::api::history::v1::History {
            events: t.history(id).await,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patched_versions_replay_old_histories_and_take_the_new_branch() {
    let task_queue = unique("patching");
    let t = Temporal::connect().await;

    // v1 runs two workflows to completion.
    let v1 = TestHost::start(config(vec![queue(&task_queue, vec![guest("patch_v1")])])).await;
    let ids = [unique("v1-a"), unique("v1-b")];
    for id in &ids {
        assert_eq!(run_to_completion(&t, &task_queue, id).await, "v1");
    }
    v1.stop().await.expect("v1 stops");
    let mut inputs = Vec::new();
    for id in &ids {
        inputs.push(fetch(&t, id).await);
    }

    // Their histories replay on the guarded v2 ...
    let reports = replay::replay_file(&guest("patch_v2"), &engine(), inputs.clone(), None)
        .await
        .expect("replay runs");
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(r.failure, None, "{r:?}");
    }
    // ... and not on the unguarded one, with core's non-determinism report.
    let reports = replay::replay_file(&guest("patch_v2_unguarded"), &engine(), inputs, None)
        .await
        .expect("replay runs");
    for r in &reports {
        let err = r
            .failure
            .as_ref()
            .expect("unguarded v2 must not replay v1 histories");
        assert!(err.contains("Nondeterminism"), "{err}");
        assert_eq!(r.workflow_id, r.source);
    }

    // New runs on v2 take the new branch and record the patch marker.
    let v2 = TestHost::start(config(vec![queue(&task_queue, vec![guest("patch_v2")])])).await;
    let id = unique("v2");
    assert_eq!(run_to_completion(&t, &task_queue, &id).await, "v2");
    let marker = t.history(&id).await.iter().any(|e| {
        matches!(&e.attributes, Some(Attributes::MarkerRecordedEventAttributes(m)) if m.marker_name == "core_patch")
    });
    assert!(marker, "v2 records a patch marker");
    // And v2's own history replays on v2.
    let reports = replay::replay_file(
        &guest("patch_v2"),
        &engine(),
        vec![fetch(&t, &id).await],
        None,
    )
    .await
    .expect("replay runs");
    assert_eq!(reports[0].failure, None);
    v2.stop().await.expect("v2 stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_cli_reads_temporal_cli_json_and_sets_its_exit_status() {
    let task_queue = unique("replay-cli");
    let t = Temporal::connect().await;
    let v1 = TestHost::start(config(vec![queue(&task_queue, vec![guest("patch_v1")])])).await;
    let id = unique("json");
    assert_eq!(run_to_completion(&t, &task_queue, &id).await, "v1");
    v1.stop().await.expect("v1 stops");

    let file = show_history(&id);

    let run_with = |module: &str, extra: &[&str]| {
        std::process::Command::new(polyworker_bin())
            .args(["replay", "--module"])
            .arg(guest(module))
            .arg("--history")
            .arg(&file)
            .args(extra)
            .env("XDG_CACHE_HOME", repo_root().join("target"))
            .output()
            .expect("polyworker replay")
    };
    let run = |module: &str| run_with(module, &[]);
    // Also compiled for a debugger (native debug info, no optimisation).
    for extra in [&[][..], &["--debug"][..]] {
        let ok = run_with("patch_v2", extra);
        let stdout = String::from_utf8_lossy(&ok.stdout);
        assert!(
            ok.status.success(),
            "{extra:?}: {stdout}{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(stdout.contains(&format!("ok    {id}")), "{stdout}");
        assert!(stdout.contains("1 ok, 0 failed"), "{stdout}");
    }

    steps_through_the_guest_in_gdb(&file);

    let bad = run("patch_v2_unguarded");
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        !bad.status.success(),
        "a failed replay exits non-zero: {stdout}"
    );
    assert!(stdout.contains(&format!("FAIL  {id}")), "{stdout}");
    assert!(stdout.contains("Nondeterminism"), "{stdout}");

    // The same history fetched from the server by workflow id.
    let by_id = std::process::Command::new(polyworker_bin())
        .args(["replay", "--module"])
        .arg(guest("patch_v2"))
        .args(["--workflow-id", &id, "--address", &server().address()])
        .env("XDG_CACHE_HOME", repo_root().join("target"))
        .output()
        .expect("polyworker replay --workflow-id");
    assert!(
        by_id.status.success(),
        "{}",
        String::from_utf8_lossy(&by_id.stdout)
    );
}

/// The run's history in proto JSON, from `temporal workflow show`.
fn show_history(id: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("histories"));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join(format!("{id}.json"));
    let out = std::process::Command::new(temporal_cli())
        .args(["workflow", "show", "--address", &server().host_port()])
        .args(["-w", id, "-o", "json"])
        .output()
        .expect("temporal workflow show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&file, &out.stdout).expect("write the history");
    file
}

/// gdb's output for `polyworker replay --debug` of `history` against
/// `module`, stopped at `source:line`, then one `next`.
fn gdb_replay(
    module: &std::path::Path,
    history: &std::path::Path,
    source: &str,
    line: u32,
) -> String {
    let mut gdb = std::process::Command::new("gdb");
    gdb.arg("-batch");
    for command in [
        "set breakpoint pending on",
        &format!("break {}:{line}", repo_root().join(source).display()),
        "run",
        "bt 3",
        "next",
        "info line",
        "kill",
    ] {
        gdb.args(["-ex", command]);
    }
    let out = gdb
        .arg("--args")
        .arg(polyworker_bin())
        .args(["replay", "--debug", "--module"])
        .arg(module)
        .arg("--history")
        .arg(history)
        .env("XDG_CACHE_HOME", repo_root().join("target"))
        .output()
        .expect("gdb runs (scripts/setup.sh installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// In gdb, during `polyworker replay --debug`: a breakpoint on a line of the
/// workflow's source (patch-v2 is built with DWARF) binds once wasmtime
/// hands gdb the compiled component, the backtrace shows guest frames, and
/// `next` steps by guest source line.
fn steps_through_the_guest_in_gdb(history: &std::path::Path) {
    let source = "tests/fixtures/patch-v2/src/lib.rs";
    let out = gdb_replay(&guest("patch_v2"), history, source, 6);
    assert!(
        out.contains("hit Breakpoint 1") && out.contains(&format!("at {source}:6")),
        "the breakpoint binds to the guest's line: {out}"
    );
    // The SDK's own frames have no line tables (only patch-v2 is built with
    // DWARF), but are the guest's: the call came through its executor.
    assert!(
        out.lines()
            .any(|l| l.starts_with("#1") && l.contains("executor") && l.contains("poll_main")),
        "the backtrace goes on into the guest's SDK: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Line ") && l.contains(".rs\" starts at address")),
        "`next` stopped at a guest source line: {out}"
    );
}

/// The same for a C workflow (the C SDK fixture built with `--debug`),
/// replaying a history its optimised build made: the breakpoint in the
/// timer's callback binds, and `next` moves to the following C line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_workflow_replays_in_gdb_at_its_source_lines() {
    let task_queue = unique("replay-c");
    let t = Temporal::connect().await;
    let host = TestHost::start(config(vec![queue(&task_queue, vec![c_guest("sdk")])])).await;
    let id = unique("c-timer");
    t.start(&task_queue, "ConditionTimeout", &id, &[]).await;
    match t.outcome(&id, Duration::from_secs(60)).await {
        Outcome::Completed(v) => assert_eq!(v, serde_json::json!({"met": false})),
        other => panic!("{other:?}"),
    }
    host.stop().await.expect("clean shutdown");
    let file = show_history(&id);
    let source = "tests/fixtures-c/sdk/features.c";
    let out = gdb_replay(&c_guest("sdk-debug"), &file, source, 96);
    assert!(
        out.contains("hit Breakpoint 1")
            && out.contains("waited")
            && out.contains(&format!("{source}:96")),
        "the breakpoint binds in the C callback: {out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("97\t")),
        "`next` steps to the next line of C: {out}"
    );
}
