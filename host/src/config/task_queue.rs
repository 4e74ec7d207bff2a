//! One `[[task_queue]]`: its components, what its activities may reach, and
//! the worker tuning keys Temporal's other SDKs expose under the same names.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use temporalio_sdk_core::PollerBehavior;

use super::{ConfigError, invalid};
use crate::runtime::activity::Preopen;
use crate::runtime::http::{AllowRule, Allowlist};
use crate::temporal::{Grants, WorkerOptions};

/// One task queue: which components serve it and what its activities may reach.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskQueueConfig {
    /// The task queue's name.
    pub name: String,
    /// Component files (`.wasm`), relative to the config file (none for a
    /// versioned queue whose versions come from a registry).
    #[serde(default)]
    pub modules: Vec<PathBuf>,
    /// Workflow runs kept in memory between tasks (sticky execution).
    #[serde(default = "default_cached")]
    pub max_cached_workflows: usize,
    /// Workflow tasks processed at once (at least 2: a sticky and a normal poll).
    #[serde(default = "default_slots")]
    pub max_concurrent_workflow_tasks: usize,
    /// Activity attempts running at once.
    #[serde(default = "default_slots")]
    pub max_concurrent_activities: usize,
    /// Local-activity attempts running at once.
    #[serde(default = "default_slots")]
    pub max_concurrent_local_activities: usize,
    /// Concurrent workflow-task polls; unset leaves it to core (a fixed
    /// maximum of 5, or autoscaling where the namespace enrols it).
    #[serde(default)]
    pub workflow_pollers: Option<Pollers>,
    /// Concurrent activity-task polls; as `workflow_pollers`.
    #[serde(default)]
    pub activity_pollers: Option<Pollers>,
    /// Activities this worker starts per second, at most.
    #[serde(default)]
    pub max_activities_per_second: Option<f64>,
    /// Activities the server hands out per second on this queue, to all of
    /// its workers together.
    #[serde(default)]
    pub max_task_queue_activities_per_second: Option<f64>,
    /// How long a workflow task may wait on this host's sticky queue before
    /// the server gives it to any worker.
    #[serde(default = "default_sticky_ms")]
    pub sticky_schedule_to_start_timeout_ms: u64,
    /// How long a cancelled activity may run on to clean up before it is
    /// interrupted.
    #[serde(default = "default_grace_ms")]
    pub activity_cancel_grace_ms: u64,
    /// On shutdown, how long in-flight activities may finish before core
    /// cancels them (they then get `activity_cancel_grace_ms` more).
    #[serde(default = "default_shutdown_ms")]
    pub graceful_shutdown_ms: u64,
    /// Hosts activities may call over `wasi:http`: `host`, `host:port`,
    /// `*.domain`, optionally with `http://` or `https://`. Empty denies all.
    #[serde(default)]
    pub http_allowlist: Vec<String>,
    /// Environment variables activities see (workflows never see any).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Host directories activities may use; nothing else of the host's
    /// filesystem is reachable (`..`, absolute paths and symlinks that lead
    /// out are refused).
    #[serde(default, rename = "preopen")]
    pub preopens: Vec<Preopen>,
    /// Serve only the components' workflows, not their activities (as
    /// core's `no_remote_activities`): the activities run on other workers,
    /// or are mocks in a test environment.
    #[serde(default)]
    pub no_remote_activities: bool,
}

/// How many polls a worker keeps open: `5` (at most five), or
/// `{ minimum = 1, maximum = 100, initial = 5 }` / `"auto"` for core's
/// autoscaling, which follows the server's hints about the backlog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pollers {
    /// At most this many polls.
    Maximum(usize),
    /// Core's autoscaling between `minimum` and `maximum`, from `initial`.
    Autoscaling {
        /// Fewest polls.
        minimum: usize,
        /// Most polls.
        maximum: usize,
        /// Polls at start.
        initial: usize,
    },
}

impl<'de> Deserialize<'de> for Pollers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Auto {
            #[serde(default = "one")]
            minimum: usize,
            #[serde(default = "hundred")]
            maximum: usize,
            #[serde(default = "five")]
            initial: usize,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(usize),
            Word(String),
            Auto(Auto),
        }
        fn one() -> usize {
            1
        }
        fn hundred() -> usize {
            100
        }
        fn five() -> usize {
            5
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) => Ok(Pollers::Maximum(n)),
            Raw::Word(w) if w == "auto" => Ok(Pollers::Autoscaling {
                minimum: one(),
                maximum: hundred(),
                initial: five(),
            }),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "{w:?}: expected a number, \"auto\" or {{ minimum, maximum, initial }}"
            ))),
            Raw::Auto(a) => Ok(Pollers::Autoscaling {
                minimum: a.minimum,
                maximum: a.maximum,
                initial: a.initial,
            }),
        }
    }
}

impl Pollers {
    fn check(&self, at_least: usize, key: String) -> Result<(), ConfigError> {
        match *self {
            Pollers::Maximum(n) if n < at_least => {
                Err(invalid(key, format!("must be at least {at_least}")))
            }
            Pollers::Maximum(_) => Ok(()),
            Pollers::Autoscaling {
                minimum,
                maximum,
                initial,
            } => {
                if minimum == 0 || minimum > maximum || !(minimum..=maximum).contains(&initial) {
                    Err(invalid(
                        key,
                        format!(
                            "autoscaling needs 1 <= minimum <= initial <= maximum (got {minimum}, {initial}, {maximum})"
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }
}

fn default_cached() -> usize {
    1000
}

fn default_slots() -> usize {
    100
}

fn default_sticky_ms() -> u64 {
    10_000
}

fn default_grace_ms() -> u64 {
    5_000
}

fn default_shutdown_ms() -> u64 {
    10_000
}

impl TaskQueueConfig {
    /// A queue with every key at its default.
    pub fn new(name: impl Into<String>, modules: Vec<PathBuf>) -> Self {
        TaskQueueConfig {
            name: name.into(),
            modules,
            max_cached_workflows: default_cached(),
            max_concurrent_workflow_tasks: default_slots(),
            max_concurrent_activities: default_slots(),
            max_concurrent_local_activities: default_slots(),
            workflow_pollers: None,
            activity_pollers: None,
            max_activities_per_second: None,
            max_task_queue_activities_per_second: None,
            sticky_schedule_to_start_timeout_ms: default_sticky_ms(),
            activity_cancel_grace_ms: default_grace_ms(),
            graceful_shutdown_ms: default_shutdown_ms(),
            http_allowlist: Vec::new(),
            env: BTreeMap::new(),
            preopens: Vec::new(),
            no_remote_activities: false,
        }
    }

    /// Resolves relative module and preopen paths against `base`.
    pub(super) fn resolve(&mut self, base: &std::path::Path) {
        for m in &mut self.modules {
            if m.is_relative() {
                *m = base.join(&*m);
            }
        }
        for p in &mut self.preopens {
            if p.host.is_relative() {
                p.host = base.join(&p.host);
            }
        }
    }

    /// Checks this queue; `at` is its key (`task_queue[0]`), for errors. A
    /// `versioned` queue (under `[deployment]`) lists at most its first
    /// version; the rest arrive through the admin API.
    pub(super) fn validate(&self, at: &str, versioned: bool) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{at}.{k}");
        if self.name.trim().is_empty() {
            return Err(invalid(key("name"), "must not be empty"));
        }
        if versioned && self.modules.len() > 1 {
            return Err(invalid(
                key("modules"),
                "under [deployment] a version is one component: list at most one (its first version)",
            ));
        }
        if !versioned && self.modules.is_empty() {
            return Err(invalid(
                key("modules"),
                "at least one component is required",
            ));
        }
        for (j, m) in self.modules.iter().enumerate() {
            if !m.is_file() {
                return Err(invalid(
                    key(&format!("modules[{j}]")),
                    format!("{} does not exist or is not a file", m.display()),
                ));
            }
        }
        // Core needs two workflow slots: one for the sticky queue's poll, one
        // for the normal queue's.
        if self.max_concurrent_workflow_tasks < 2 {
            return Err(invalid(
                key("max_concurrent_workflow_tasks"),
                "must be at least 2",
            ));
        }
        for (k, v) in [
            ("max_concurrent_activities", self.max_concurrent_activities),
            (
                "max_concurrent_local_activities",
                self.max_concurrent_local_activities,
            ),
        ] {
            if v == 0 {
                return Err(invalid(key(k), "must be at least 1"));
            }
        }
        for (k, p, min) in [
            ("workflow_pollers", self.workflow_pollers, 2),
            ("activity_pollers", self.activity_pollers, 1),
        ] {
            if let Some(p) = p {
                p.check(min, key(k))?;
            }
        }
        for (k, v) in [
            ("max_activities_per_second", self.max_activities_per_second),
            (
                "max_task_queue_activities_per_second",
                self.max_task_queue_activities_per_second,
            ),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(invalid(key(k), "must be a positive number"));
            }
        }
        for (j, rule) in self.http_allowlist.iter().enumerate() {
            AllowRule::parse(rule)
                .map_err(|e| invalid(key(&format!("http_allowlist[{j}]")), e.to_string()))?;
        }
        for (j, p) in self.preopens.iter().enumerate() {
            let key = key(&format!("preopen[{j}]"));
            if !p.host.is_dir() {
                return Err(invalid(
                    format!("{key}.host"),
                    format!("{} is not a directory", p.host.display()),
                ));
            }
            if !p.guest.starts_with('/') || p.guest.contains("..") {
                return Err(invalid(
                    format!("{key}.guest"),
                    format!("{:?} must be an absolute guest path without `..`", p.guest),
                ));
            }
        }
        for k in self.env.keys() {
            if k.is_empty() || k.contains('=') || k.contains('\0') {
                return Err(invalid(
                    key("env"),
                    format!("{k:?} is not a valid variable name"),
                ));
            }
        }
        Ok(())
    }
}

impl TaskQueueConfig {
    /// The core worker's tuning.
    pub fn worker_options(&self) -> WorkerOptions {
        WorkerOptions {
            max_cached_workflows: self.max_cached_workflows,
            max_concurrent_workflow_tasks: self.max_concurrent_workflow_tasks,
            max_concurrent_activities: self.max_concurrent_activities,
            max_concurrent_local_activities: self.max_concurrent_local_activities,
            workflow_pollers: self.workflow_pollers.map(Pollers::behavior),
            activity_pollers: self.activity_pollers.map(Pollers::behavior),
            max_activities_per_second: self.max_activities_per_second,
            max_task_queue_activities_per_second: self.max_task_queue_activities_per_second,
            sticky_schedule_to_start_timeout: Duration::from_millis(
                self.sticky_schedule_to_start_timeout_ms,
            ),
            graceful_shutdown: Duration::from_millis(self.graceful_shutdown_ms),
        }
    }

    /// What the queue's activities are granted.
    pub fn grants(&self) -> Grants {
        Grants {
            // Entries were validated with the config.
            allowlist: Allowlist::new(&self.http_allowlist).unwrap_or_default(),
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            preopens: self.preopens.clone(),
        }
    }

    /// How long a cancelled activity may go on before it is interrupted.
    pub fn cancel_grace(&self) -> Duration {
        Duration::from_millis(self.activity_cancel_grace_ms)
    }
}

impl Pollers {
    fn behavior(self) -> PollerBehavior {
        match self {
            Pollers::Maximum(n) => PollerBehavior::SimpleMaximum(n),
            Pollers::Autoscaling {
                minimum,
                maximum,
                initial,
            } => PollerBehavior::Autoscaling {
                minimum,
                maximum,
                initial,
            },
        }
    }
}

/// Environment values are often secrets: debug output shows their names only.
impl std::fmt::Debug for TaskQueueConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskQueueConfig")
            .field("name", &self.name)
            .field("modules", &self.modules)
            .field("max_cached_workflows", &self.max_cached_workflows)
            .field(
                "max_concurrent_workflow_tasks",
                &self.max_concurrent_workflow_tasks,
            )
            .field("max_concurrent_activities", &self.max_concurrent_activities)
            .field(
                "max_concurrent_local_activities",
                &self.max_concurrent_local_activities,
            )
            .field("workflow_pollers", &self.workflow_pollers)
            .field("activity_pollers", &self.activity_pollers)
            .field("max_activities_per_second", &self.max_activities_per_second)
            .field(
                "max_task_queue_activities_per_second",
                &self.max_task_queue_activities_per_second,
            )
            .field(
                "sticky_schedule_to_start_timeout_ms",
                &self.sticky_schedule_to_start_timeout_ms,
            )
            .field("activity_cancel_grace_ms", &self.activity_cancel_grace_ms)
            .field("graceful_shutdown_ms", &self.graceful_shutdown_ms)
            .field("http_allowlist", &self.http_allowlist)
            .field(
                "env",
                &self
                    .env
                    .keys()
                    .map(|k| format!("{k}=<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("preopens", &self.preopens)
            .field("no_remote_activities", &self.no_remote_activities)
            .finish()
    }
}
