//! `[[tenant]]`: a team sharing the host, with its own namespace,
//! credentials, task queues, capability ceiling, quotas and admin token.
//!
//! ```toml
//! [[tenant]]
//! name = "payments"
//! namespace = "payments"
//! admin_token_env = "PAYMENTS_ADMIN_TOKEN"
//! connection = { address = "https://payments.a1b2c.tmprl.cloud:7233", api_key_env = "PAYMENTS_API_KEY" }
//! ceiling = { http_allowlist = ["*.payments.internal"], env = ["PAYMENTS_*"], preopen_roots = ["/srv/payments"] }
//! quotas = { memory_mib = 2048 }
//!
//! [[tenant.task_queue]]
//! name = "payments-routing"
//! modules = ["routing.wasm"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::connection::ConnectionConfig;
use super::{ConfigError, TaskQueueConfig, invalid};
use crate::runtime::http::AllowRule;

/// One tenant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Its name: in metrics, logs and admin tokens.
    pub name: String,
    /// Its Temporal namespace: every queue of the tenant is served in it,
    /// and its workflows may address no other.
    pub namespace: String,
    /// How to reach its namespace; unset, `[server]`'s address and credentials.
    #[serde(default)]
    pub connection: Option<ConnectionConfig>,
    /// The environment variable holding its admin token: it may deploy,
    /// list and retire on its own queues only.
    #[serde(default)]
    pub admin_token_env: Option<String>,
    /// The most its queues may grant their activities.
    #[serde(default)]
    pub ceiling: Ceiling,
    /// What its guests may use of the host.
    #[serde(default)]
    pub quotas: Quotas,
    /// Further task queues of its namespace its workflows may target
    /// (served elsewhere, e.g. by native workers).
    #[serde(default)]
    pub allow_task_queues: Vec<String>,
    /// `[[tenant.task_queue]]`: its queues, with today's `[[task_queue]]` keys.
    #[serde(rename = "task_queue", default)]
    pub task_queues: Vec<TaskQueueConfig>,
    /// The implicit tenant of a config without `[[tenant]]`: no ceiling,
    /// no scope, as before tenants existed.
    #[serde(skip)]
    pub implicit: bool,
}

/// A capability ceiling: a queue may narrow it, never widen it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ceiling {
    /// Allowlist rules a queue's `http_allowlist` entries must fall under.
    pub http_allowlist: Vec<String>,
    /// Environment variable names a queue may set; `PREFIX_*` admits a prefix.
    pub env: Vec<String>,
    /// Directories a queue's preopens must lie within.
    pub preopen_roots: Vec<PathBuf>,
}

/// A tenant's quotas: the Temporal side's, deserialized as they are.
pub use crate::temporal::Quotas;

/// Checks each quota; `key` is the table's path.
fn validate_quotas(q: &Quotas, key: &str) -> Result<(), ConfigError> {
    for (k, v) in [
        ("memory_mib", q.memory_mib.map(|v| v as usize)),
        ("workflow_tasks", q.workflow_tasks),
        ("activities", q.activities),
        ("local_activities", q.local_activities),
        ("cached_workflows", q.cached_workflows),
    ] {
        if v == Some(0) {
            return Err(invalid(format!("{key}.{k}"), "must be at least 1"));
        }
    }
    for (k, v) in [
        ("activities_per_second", q.activities_per_second),
        ("log_lines_per_second", q.log_lines_per_second),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v > 0.0)
        {
            return Err(invalid(format!("{key}.{k}"), "must be a positive number"));
        }
    }
    Ok(())
}

impl TenantConfig {
    /// A tenant with every other key at its default: `[server]`'s
    /// connection, an empty ceiling, no quotas, no token.
    pub fn new(name: &str, namespace: &str, task_queues: Vec<TaskQueueConfig>) -> TenantConfig {
        TenantConfig {
            implicit: false,
            ..implicit(namespace, task_queues)
        }
        .named(name)
    }

    fn named(mut self, name: &str) -> TenantConfig {
        self.name = name.to_string();
        self
    }

    /// The queues its workflows may target: its own and its allowances.
    pub fn scope_queues(&self) -> BTreeSet<String> {
        self.task_queues
            .iter()
            .map(|q| q.name.clone())
            .chain(self.allow_task_queues.iter().cloned())
            .collect()
    }

    /// Resolves relative paths against the config file's directory.
    pub(super) fn resolve(&mut self, base: &Path) {
        if let Some(c) = &mut self.connection {
            c.resolve(base);
        }
        for r in &mut self.ceiling.preopen_roots {
            if r.is_relative() {
                *r = base.join(&*r);
            }
        }
        for q in &mut self.task_queues {
            q.resolve(base);
        }
    }

    /// Checks the tenant's own keys and that each queue stays under its
    /// ceiling; `key` is its path (`tenant[2]`).
    pub(super) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let k = |s: &str| format!("{key}.{s}");
        if !valid_name(&self.name) {
            return Err(invalid(
                k("name"),
                format!("{:?}: use letters, digits, `-` and `_`", self.name),
            ));
        }
        if self.namespace.trim().is_empty() {
            return Err(invalid(k("namespace"), "must not be empty"));
        }
        if let Some(c) = &self.connection {
            c.validate(&k("connection"))?;
        }
        validate_quotas(&self.quotas, &k("quotas"))?;
        for (j, rule) in self.ceiling.http_allowlist.iter().enumerate() {
            AllowRule::parse(rule)
                .map_err(|e| invalid(k(&format!("ceiling.http_allowlist[{j}]")), e.to_string()))?;
        }
        for (j, root) in self.ceiling.preopen_roots.iter().enumerate() {
            if !root.is_dir() {
                return Err(invalid(
                    k(&format!("ceiling.preopen_roots[{j}]")),
                    format!("{} is not a directory", root.display()),
                ));
            }
        }
        if self.task_queues.is_empty() {
            return Err(invalid(
                k("task_queue"),
                "a tenant needs at least one [[tenant.task_queue]]",
            ));
        }
        // Each queue's worker is owed the slots it needs to poll (two for
        // workflows, one for activities), set aside from the quota.
        let n = self.task_queues.len();
        let q = &self.quotas;
        for (key, quota, owed) in [
            ("workflow_tasks", q.workflow_tasks, 2 * n),
            ("activities", q.activities, n),
            ("local_activities", q.local_activities, n),
        ] {
            if let Some(quota) = quota
                && quota < owed
            {
                return Err(invalid(
                    k(&format!("quotas.{key}")),
                    format!(
                        "{quota} is fewer than its {n} queue(s) need to poll at all ({owed}): each \
                         queue's worker always holds {} of them",
                        owed / n
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that queue `i`'s grants stay under the ceiling.
    pub(super) fn check_ceiling(&self, q: &TaskQueueConfig, key: &str) -> Result<(), ConfigError> {
        if self.implicit {
            return Ok(());
        }
        let ceiling = &self.ceiling;
        let rules: Vec<AllowRule> = ceiling
            .http_allowlist
            .iter()
            .filter_map(|r| AllowRule::parse(r).ok())
            .collect();
        for (j, entry) in q.http_allowlist.iter().enumerate() {
            let Ok(rule) = AllowRule::parse(entry) else {
                continue; // the queue's own validation names it
            };
            if !rules.iter().any(|c| c.covers(&rule)) {
                return Err(invalid(
                    format!("{key}.http_allowlist[{j}]"),
                    format!(
                        "{entry:?} is wider than tenant {:?}'s ceiling (ceiling.http_allowlist = {:?})",
                        self.name, ceiling.http_allowlist
                    ),
                ));
            }
        }
        for name in q.env.keys() {
            if !ceiling.env.iter().any(|p| env_matches(p, name)) {
                return Err(invalid(
                    format!("{key}.env"),
                    format!(
                        "{name:?} is not within tenant {:?}'s ceiling (ceiling.env = {:?})",
                        self.name, ceiling.env
                    ),
                ));
            }
        }
        for (j, p) in q.preopens.iter().enumerate() {
            if !within_roots(&p.host, &ceiling.preopen_roots) {
                return Err(invalid(
                    format!("{key}.preopen[{j}].host"),
                    format!(
                        "{} is outside tenant {:?}'s preopen roots ({:?})",
                        p.host.display(),
                        self.name,
                        ceiling.preopen_roots
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `pattern` is a name, or a prefix followed by `*`.
fn env_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Whether `dir`, with symlinks and `..` resolved, lies within one of `roots`.
fn within_roots(dir: &Path, roots: &[PathBuf]) -> bool {
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .any(|r| dir.starts_with(r))
}

/// The implicit tenant of a config without `[[tenant]]`.
pub(super) fn implicit(namespace: &str, queues: Vec<TaskQueueConfig>) -> TenantConfig {
    TenantConfig {
        name: "default".into(),
        namespace: namespace.to_string(),
        connection: None,
        admin_token_env: None,
        ceiling: Ceiling::default(),
        quotas: Quotas::default(),
        allow_task_queues: Vec::new(),
        task_queues: queues,
        implicit: true,
    }
}

/// Tenants' names and namespaces are distinct, and a queue belongs to one tenant.
pub(super) fn check_distinct(tenants: &[TenantConfig]) -> Result<(), ConfigError> {
    let mut names = BTreeMap::new();
    let mut namespaces = BTreeMap::new();
    let mut queues: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, t) in tenants.iter().enumerate() {
        if let Some(first) = names.insert(t.name.as_str(), i) {
            return Err(invalid(
                format!("tenant[{i}].name"),
                format!("tenant {:?} is already tenant[{first}]", t.name),
            ));
        }
        // Workflow ids are namespace-wide: two tenants in one namespace
        // could signal and cancel each other's workflows.
        if let Some(first) = namespaces.insert(t.namespace.as_str(), i) {
            return Err(invalid(
                format!("tenant[{i}].namespace"),
                format!(
                    "namespace {:?} is already tenant[{first}]'s: each tenant needs its own",
                    t.namespace
                ),
            ));
        }
        for (j, q) in t.task_queues.iter().enumerate() {
            if let Some(owner) = queues.insert(q.name.as_str(), t.name.as_str()) {
                return Err(invalid(
                    format!("tenant[{i}].task_queue[{j}].name"),
                    format!(
                        "task queue {:?} already belongs to tenant {owner:?}",
                        q.name
                    ),
                ));
            }
        }
    }
    for (i, t) in tenants.iter().enumerate() {
        for (j, q) in t.allow_task_queues.iter().enumerate() {
            if let Some(owner) = queues.get(q.as_str())
                && *owner != t.name
            {
                return Err(invalid(
                    format!("tenant[{i}].allow_task_queues[{j}]"),
                    format!("task queue {q:?} belongs to tenant {owner:?}"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_patterns_admit_names_and_prefixes() {
        assert!(env_matches("API_KEY", "API_KEY"));
        assert!(!env_matches("API_KEY", "API_KEYS"));
        assert!(env_matches("PAY_*", "PAY_URL"));
        assert!(!env_matches("PAY_*", "OTHER"));
    }

    #[test]
    fn preopen_roots_resolve_symlinks_and_dots() {
        let base = std::env::temp_dir().join(format!("pw-roots-{}", std::process::id()));
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("inner")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let link = root.join("escape");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let roots = [root.clone()];
        assert!(within_roots(&root.join("inner"), &roots));
        assert!(!within_roots(&root.join("inner/../../outside"), &roots));
        assert!(!within_roots(&link, &roots), "a symlink out is outside");
        assert!(!within_roots(&outside, &[]));
    }
}
