//! `[deployment]`: versioned module deployment. With it, every task queue's
//! modules are versions in a module store, each served by its own core
//! worker as a Temporal Worker Deployment Version, and swapped at runtime
//! through the admin API.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, invalid};

/// How runs of a workflow type move between versions when the component
/// does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultVersioning {
    /// Runs stay on the version they started on.
    Pinned,
    /// Runs move to the current version at their next workflow task.
    AutoUpgrade,
}

impl DefaultVersioning {
    /// Core's name for it.
    pub fn behavior(self) -> temporalio_common::worker::VersioningBehavior {
        use temporalio_common::worker::VersioningBehavior;
        match self {
            DefaultVersioning::Pinned => VersioningBehavior::Pinned,
            DefaultVersioning::AutoUpgrade => VersioningBehavior::AutoUpgrade,
        }
    }
}

/// The `[deployment]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// Each task queue is its own Worker Deployment, `<name>/<task queue>`.
    pub name: String,
    /// Where deployed modules and their states are kept, relative to the
    /// config file.
    pub store: PathBuf,
    /// For workflow types whose component declares no behaviour.
    #[serde(default = "pinned")]
    pub default_versioning: DefaultVersioning,
    /// Where the admin API listens (gRPC). Loopback by default.
    #[serde(default = "default_admin")]
    pub admin: SocketAddr,
    /// The environment variable holding the admin API's bearer token;
    /// required when `admin` is not a loopback address.
    #[serde(default)]
    pub admin_token_env: Option<String>,
    /// How many recent runs of each auto-upgrading workflow type the replay
    /// gate replays before a version becomes current.
    #[serde(default = "default_sample")]
    pub replay_sample: usize,
    /// A directory watched for `.wasm` files: each new file is deployed to
    /// the task queue named by its subdirectory and made current.
    #[serde(default)]
    pub watch: Option<PathBuf>,
    /// An OCI registry the fleet's modules live in (`[deployment.registry]`):
    /// every host converges on what it holds and the server routes to.
    #[serde(default)]
    pub registry: Option<RegistryConfig>,
}

/// The `[deployment.registry]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `host[:port]/path`: each task queue's versions are the artifacts of
    /// the repository `<path>/<task queue>`.
    pub address: String,
    /// Talk plain HTTP (a registry on loopback); HTTPS otherwise.
    #[serde(default)]
    pub plain_http: bool,
    /// How often each host asks the registry and the server what to run.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
}

fn default_poll_ms() -> u64 {
    5000
}

fn pinned() -> DefaultVersioning {
    DefaultVersioning::Pinned
}

fn default_admin() -> SocketAddr {
    ([127, 0, 0, 1], 7350).into()
}

fn default_sample() -> usize {
    20
}

impl DeploymentConfig {
    /// The Worker Deployment of one task queue.
    pub fn deployment_name(&self, task_queue: &str) -> String {
        format!("{}/{}", self.name, task_queue)
    }

    /// The admin token, read from the environment.
    pub fn admin_token(&self) -> Option<String> {
        self.admin_token_env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|t| !t.is_empty())
    }

    pub(super) fn validate(&self, queues: &[&str]) -> Result<(), ConfigError> {
        // The server reserves these in deployment names: `.` and `:` split
        // version strings, `__` prefixes its own.
        let bad = |s: &str| s.contains('.') || s.contains(':') || s.contains("__");
        if self.name.trim().is_empty() || bad(&self.name) {
            return Err(invalid(
                "deployment.name",
                "must be non-empty and contain no `.`, `:` or `__`",
            ));
        }
        for (i, q) in queues.iter().enumerate() {
            if bad(q) {
                return Err(invalid(
                    format!("task_queue[{i}].name"),
                    format!(
                        "{q:?} names a Worker Deployment under [deployment], so it may not contain `.`, `:` or `__`"
                    ),
                ));
            }
        }
        if !self.admin.ip().is_loopback() && self.admin_token_env.is_none() {
            return Err(invalid(
                "deployment.admin_token_env",
                format!(
                    "the admin API on {} is reachable from other machines: name the environment variable holding its token",
                    self.admin
                ),
            ));
        }
        if self.replay_sample == 0 {
            return Err(invalid("deployment.replay_sample", "must be at least 1"));
        }
        if let Some(r) = &self.registry {
            if r.address.trim().is_empty() || r.address.contains("://") {
                return Err(invalid(
                    "deployment.registry.address",
                    "must be `host[:port]/path`, without a scheme (plain_http = true for HTTP)",
                ));
            }
            if r.poll_ms < 100 {
                return Err(invalid(
                    "deployment.registry.poll_ms",
                    "must be at least 100",
                ));
            }
        }
        Ok(())
    }
}
