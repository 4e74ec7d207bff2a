//! A fleet of host processes on the shared dev server, following one
//! registry: what the fleet suite (`e2e/fleet.rs`) and the convergence
//! benchmark (`benches/fleet_converge.rs`) share.

use std::path::{Path, PathBuf};

use crate::{HostProcess, free_address, polyworker_cli, server};

/// `polyworker modules push` of a component file to the queue's repository;
/// what it printed.
pub fn push_file(registry: &str, task_queue: &str, file: &Path) -> String {
    let file = file.display().to_string();
    let (ok, out) = polyworker_cli(&[
        "modules",
        "push",
        "--registry",
        registry,
        "--plain-http",
        "--task-queue",
        task_queue,
        &file,
    ]);
    assert!(ok, "push {file}: {out}");
    out
}

/// [`push_file`] of a fixture.
pub fn push(registry: &str, task_queue: &str, fixture: &str) -> String {
    push_file(registry, task_queue, &crate::guest(fixture))
}

/// Where host `name` keeps its store: kept across its restarts (the
/// harness removes a host's own directory when it is dropped).
pub fn store_of(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pw-fleet-store-{name}"))
}

/// A host of the fleet: its own store and admin port, the shared
/// deployment, following the registry every 300 ms.
pub fn fleet_host(name: &str, deployment: &str, registry: &str, queues: &[&str]) -> HostProcess {
    fleet_host_polling(name, deployment, registry, queues, 300)
}

/// [`fleet_host`], looking at the registry every `poll_ms`.
pub fn fleet_host_polling(
    name: &str,
    deployment: &str,
    registry: &str,
    queues: &[&str],
    poll_ms: u64,
) -> HostProcess {
    let store = store_of(name);
    let mut body = format!(
        "[server]\naddress = \"{}\"\nidentity = \"{name}\"\n\n\
         [deployment]\nname = \"{deployment}\"\nstore = \"{}\"\nadmin = \"{}\"\n\n\
         [deployment.registry]\naddress = \"{registry}\"\nplain_http = true\npoll_ms = {poll_ms}\n\n",
        server().address(),
        store.display(),
        free_address(),
    );
    for q in queues {
        body.push_str(&format!("[[task_queue]]\nname = \"{q}\"\n\n"));
    }
    HostProcess::spawn_with(name, &body, &[])
}

/// `polyworker modules set-current|set-ramping` on the fleet.
pub struct FleetCli<'a> {
    /// The registry repository prefix.
    pub registry: &'a str,
    /// The `[deployment]` name.
    pub deployment: &'a str,
    /// The queue.
    pub task_queue: &'a str,
}

impl FleetCli<'_> {
    /// Runs `polyworker modules <verb> <args> --registry … --deployment …`.
    pub fn route(&self, args: &[&str]) -> (bool, String) {
        let address = server().address();
        let mut all = vec!["modules"];
        all.extend_from_slice(args);
        all.extend([
            "--registry",
            self.registry,
            "--plain-http",
            "--deployment",
            self.deployment,
            "--task-queue",
            self.task_queue,
            "--address",
            &address,
        ]);
        polyworker_cli(&all)
    }
}
