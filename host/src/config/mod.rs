//! The host's configuration: a TOML file, validated with errors that name the key.
//!
//! ```toml
//! [server]
//! address = "http://127.0.0.1:7233"
//! namespace = "default"
//!
//! [[task_queue]]
//! name = "data-routing"
//! modules = ["data_routing.wasm"]          # relative to this file
//! http_allowlist = ["127.0.0.1:8089"]      # activities may call only these
//! env = { TRANSMIT_SERVICE_URL = "http://127.0.0.1:8089" }
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod connection;
mod deployment;
mod metrics;
mod task_queue;
mod tenant;

pub use connection::{ConnectionConfig, TlsConfig};
pub use deployment::{DefaultVersioning, DeploymentConfig, RegistryConfig};
pub use metrics::{MetricsConfig, OtlpConfig, OtlpProtocol, TracesConfig};
pub use task_queue::{Pollers, TaskQueueConfig};
pub use tenant::{Ceiling, Quotas, TenantConfig};

pub use crate::runtime::EngineConfig;
pub use crate::runtime::activity::Preopen;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML of the config's shape.
    #[error("config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's report (it names the key and line).
        source: Box<toml::de::Error>,
    },
    /// A key has a value the host refuses.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// The key, as a path (`task_queue[0].http_allowlist[1]`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where Temporal is.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[engine]`: the wasm engine and the guests' bounds.
    #[serde(default)]
    pub engine: EngineConfig,
    /// `[[task_queue]]`: the queues served, by the one implicit tenant of a
    /// config without `[[tenant]]`.
    #[serde(rename = "task_queue", default)]
    pub task_queues: Vec<TaskQueueConfig>,
    /// `[[tenant]]`: the teams sharing this host, each with its own
    /// namespace, credentials, queues, ceiling, quotas and admin token.
    #[serde(rename = "tenant", default)]
    pub tenants: Vec<TenantConfig>,
    /// `[capacity]`: what all guests together may use of the host.
    #[serde(default)]
    pub capacity: CapacityConfig,
    /// `[metrics]`: Prometheus, OTLP and health endpoints.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// `[traces]`: spans over OTLP.
    #[serde(default)]
    pub traces: TracesConfig,
    /// Versioned deployment of modules (hot swap); unset, each queue serves
    /// the modules listed in its table, unversioned.
    #[serde(default)]
    pub deployment: Option<DeploymentConfig>,
}

/// What all guests of all tenants together may use of the host.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacityConfig {
    /// The host-wide guest memory budget: linear memory granted to every
    /// workflow and activity store together. Unset, half of the machine's
    /// memory (or of its cgroup limit).
    pub guest_memory_mib: Option<u64>,
    /// Workflow tasks at once, all queues of all tenants together (beyond
    /// the two slots core needs per workflow worker); unset, no host total.
    pub workflow_task_slots: Option<usize>,
    /// Activity attempts at once, host-wide.
    pub activity_slots: Option<usize>,
    /// Local-activity attempts at once, host-wide.
    pub local_activity_slots: Option<usize>,
    /// Workflow runs kept cached, all tenants together; past it, the least
    /// recently used idle run (of a tenant over its fair part of the memory
    /// budget first) is evicted.
    pub cached_workflows: Option<usize>,
}

impl CapacityConfig {
    /// The host's slot totals.
    pub fn slots(&self) -> crate::temporal::HostSlots {
        crate::temporal::HostSlots {
            workflow_tasks: self.workflow_task_slots,
            activities: self.activity_slots,
            local_activities: self.local_activity_slots,
            cached_workflows: self.cached_workflows,
        }
    }

    /// The budget in bytes.
    pub fn guest_memory_bytes(&self) -> usize {
        match self.guest_memory_mib {
            Some(m) => usize::try_from(m << 20).unwrap_or(usize::MAX),
            None => crate::runtime::budget::default_budget_bytes(),
        }
    }
}

/// Where the Temporal server is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The frontend's gRPC address, `http://host:port` (or `https://`).
    pub address: String,
    /// The namespace every queue is served in.
    pub namespace: String,
    /// Identity shown in histories; defaults to `polyworker@<hostname>-<pid>`.
    pub identity: Option<String>,
    /// TLS towards the frontend (also on, with the system's roots, for an
    /// `https://` address).
    pub tls: Option<TlsConfig>,
    /// The environment variable holding an API key (Temporal Cloud).
    pub api_key_env: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            address: "http://127.0.0.1:7233".into(),
            namespace: "default".into(),
            identity: None,
            tls: None,
            api_key_env: None,
        }
    }
}

impl ServerConfig {
    /// The connection settings of `[server]`, the default of every tenant.
    pub fn connection(&self) -> ConnectionConfig {
        ConnectionConfig {
            address: Some(self.address.clone()),
            tls: self.tls.clone(),
            api_key_env: self.api_key_env.clone(),
        }
    }
}

impl Config {
    /// Reads, parses and validates a config file; module paths become absolute.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text; relative module paths resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            source: Box::new(source),
        })?;
        if let Some(d) = &mut config.deployment {
            if d.store.is_relative() {
                d.store = base.join(&d.store);
            }
            if let Some(w) = &mut d.watch
                && w.is_relative()
            {
                *w = base.join(&*w);
            }
        }
        for q in &mut config.task_queues {
            q.resolve(base);
        }
        for t in &mut config.tenants {
            t.resolve(base);
        }
        let mut server = config.server.connection();
        server.resolve(base);
        config.server.tls = server.tls;
        config.validate()?;
        Ok(config)
    }

    /// Checks everything that can be checked without the server.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.connection().validate("server")?;
        if let Some(otlp) = &self.metrics.otlp {
            otlp.validate("metrics")?;
        }
        if let Some(otlp) = &self.traces.otlp {
            otlp.validate("traces")?;
        }
        if self.server.namespace.is_empty() {
            return Err(invalid("server.namespace", "must not be empty"));
        }
        let e = &self.engine;
        if e.workflow_deadline_ms == 0 || e.workflow_deadline_ms > 60_000 {
            return Err(invalid(
                "engine.workflow_deadline_ms",
                "must be between 1 and 60000",
            ));
        }
        for (key, v) in [
            ("engine.workflow_memory_mib", e.workflow_memory_mib),
            ("engine.activity_memory_mib", e.activity_memory_mib),
        ] {
            if !(1..=4096).contains(&v) {
                return Err(invalid(key, "must be between 1 and 4096"));
            }
        }
        let c = &self.capacity;
        for (k, v) in [
            (
                "capacity.guest_memory_mib",
                c.guest_memory_mib.map(|v| v as usize),
            ),
            ("capacity.workflow_task_slots", c.workflow_task_slots),
            ("capacity.activity_slots", c.activity_slots),
            ("capacity.local_activity_slots", c.local_activity_slots),
            ("capacity.cached_workflows", c.cached_workflows),
        ] {
            if v == Some(0) {
                return Err(invalid(k, "must be at least 1"));
            }
        }
        if let Some(d) = &self.deployment
            && d.registry.is_some()
            && let Some(q) = self.queues().find(|q| !q.modules.is_empty())
        {
            return Err(invalid(
                "deployment.registry",
                format!(
                    "task queue {:?} lists modules, but with a registry its versions come from the registry: \
                     remove `modules` and push them with `polyworker modules push`",
                    q.name
                ),
            ));
        }
        if !self.tenants.is_empty() {
            return self.validate_tenants();
        }
        if self.task_queues.is_empty() {
            return Err(invalid(
                "task_queue",
                "at least one [[task_queue]] (or [[tenant]]) is required",
            ));
        }
        if let Some(d) = &self.deployment {
            let names: Vec<&str> = self.task_queues.iter().map(|q| q.name.as_str()).collect();
            d.validate(&names)?;
        }
        let mut names = HashSet::new();
        for (i, q) in self.task_queues.iter().enumerate() {
            q.validate(&format!("task_queue[{i}]"), self.deployment.is_some())?;
            if !names.insert(q.name.as_str()) {
                return Err(invalid(
                    format!("task_queue[{i}].name"),
                    format!("task queue {:?} is listed twice", q.name),
                ));
            }
        }
        Ok(())
    }

    fn validate_tenants(&self) -> Result<(), ConfigError> {
        if !self.task_queues.is_empty() {
            return Err(invalid(
                "task_queue",
                "with [[tenant]] tables, every queue belongs to a tenant: use [[tenant.task_queue]]",
            ));
        }
        let budget = self.capacity.guest_memory_bytes();
        for (i, t) in self.tenants.iter().enumerate() {
            let key = format!("tenant[{i}]");
            t.validate(&key)?;
            if let Some(m) = t.quotas.memory_mib
                && usize::try_from(m << 20).unwrap_or(usize::MAX) > budget
            {
                return Err(invalid(
                    format!("{key}.quotas.memory_mib"),
                    format!(
                        "{m} MiB is more than the host's guest memory budget ({} MiB)",
                        budget >> 20
                    ),
                ));
            }
            for (j, q) in t.task_queues.iter().enumerate() {
                let at = format!("{key}.task_queue[{j}]");
                q.validate(&at, self.deployment.is_some())?;
                t.check_ceiling(q, &at)?;
            }
        }
        tenant::check_distinct(&self.tenants)?;
        if let Some(d) = &self.deployment {
            let names: Vec<&str> = self.queues().map(|q| q.name.as_str()).collect();
            d.validate(&names)?;
            // Tenants' tokens confine them to their queues; a host token
            // does the rest. No tokenless access once tenants exist.
            if d.admin_token_env.is_none() {
                return Err(invalid(
                    "deployment.admin_token_env",
                    "with [[tenant]] tables the admin API always needs tokens: set the host's token here (and each tenant's in tenant.admin_token_env)",
                ));
            }
        }
        Ok(())
    }

    /// Every queue served, of every tenant.
    pub fn queues(&self) -> impl Iterator<Item = &TaskQueueConfig> {
        self.task_queues
            .iter()
            .chain(self.tenants.iter().flat_map(|t| &t.task_queues))
    }

    /// The tenants: those configured, or the one implicit tenant (named
    /// `default`, in `[server].namespace`, without ceiling or scope) that
    /// serves the `[[task_queue]]` tables.
    pub fn tenants(&self) -> Vec<TenantConfig> {
        if self.tenants.is_empty() {
            vec![tenant::implicit(
                &self.server.namespace,
                self.task_queues.clone(),
            )]
        } else {
            self.tenants.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_module(extra: &str) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("pw-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.wasm"), b"x").unwrap();
        Config::parse(
            &format!("[[task_queue]]\nname = \"q\"\nmodules = [\"m.wasm\"]\n{extra}"),
            &dir,
        )
    }

    #[test]
    fn minimal_config_takes_defaults() {
        let c = with_module("").unwrap();
        assert_eq!(c.server.address, "http://127.0.0.1:7233");
        assert_eq!(c.server.namespace, "default");
        assert_eq!(c.task_queues[0].max_cached_workflows, 1000);
        assert!(c.task_queues[0].modules[0].is_absolute());
        assert!(c.task_queues[0].http_allowlist.is_empty());
        assert!(c.task_queues[0].preopens.is_empty());
    }

    #[test]
    fn debug_output_never_shows_environment_values() {
        let c = with_module("env = { API_KEY = \"s3cr3t\" }").unwrap();
        let text = format!("{c:?}");
        assert!(text.contains("API_KEY=<redacted>"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn preopens_resolve_and_validate() {
        let c = with_module("[[task_queue.preopen]]\nhost = \".\"\nguest = \"/data\"\n").unwrap();
        let p = &c.task_queues[0].preopens[0];
        assert!(p.host.is_absolute() && p.read_only && p.guest == "/data");
        let e = with_module("[[task_queue.preopen]]\nhost = \"missing\"\nguest = \"/data\"\n")
            .unwrap_err();
        assert!(
            e.to_string().contains("task_queue[0].preopen[0].host"),
            "{e}"
        );
        let e =
            with_module("[[task_queue.preopen]]\nhost = \".\"\nguest = \"data\"\n").unwrap_err();
        assert!(
            e.to_string().contains("task_queue[0].preopen[0].guest"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e = with_module("max_concurrent_workflow_tasks = 1").unwrap_err();
        assert!(
            e.to_string()
                .contains("task_queue[0].max_concurrent_workflow_tasks"),
            "{e}"
        );
        let e = with_module("http_allowlist = [\"ftp://x\"]").unwrap_err();
        assert!(
            e.to_string().contains("task_queue[0].http_allowlist[0]"),
            "{e}"
        );
        let e = with_module("colour = 1").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = Config::parse(
            "[[task_queue]]\nname = \"q\"\nmodules = [\"missing.wasm\"]",
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("task_queue[0].modules[0]"), "{e}");
        let e = Config::parse("[server]\naddress = \"nope\"\n", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("server.address"), "{e}");
        let e = Config::parse("", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("task_queue"), "{e}");
    }

    #[test]
    fn metrics_address_parses_and_bad_ones_are_named() {
        let c = with_module("[metrics]\nprometheus = \"127.0.0.1:9464\"").unwrap();
        assert_eq!(c.metrics.prometheus, Some(([127, 0, 0, 1], 9464).into()));
        let e = with_module("[metrics]\nprometheus = \"localhost\"").unwrap_err();
        assert!(e.to_string().contains("prometheus = \"localhost\""), "{e}");
    }

    #[test]
    fn tuning_keys_parse_and_bad_ones_are_named() {
        let c = with_module(
            "workflow_pollers = 8\nactivity_pollers = { minimum = 2, maximum = 20, initial = 4 }\n\
             max_activities_per_second = 50.5\nmax_concurrent_local_activities = 7",
        )
        .unwrap();
        let q = &c.task_queues[0];
        assert_eq!(q.workflow_pollers, Some(Pollers::Maximum(8)));
        assert_eq!(
            q.activity_pollers,
            Some(Pollers::Autoscaling {
                minimum: 2,
                maximum: 20,
                initial: 4
            })
        );
        assert_eq!(q.max_activities_per_second, Some(50.5));
        assert_eq!(q.max_concurrent_local_activities, 7);
        assert_eq!(q.max_task_queue_activities_per_second, None);
        let auto = with_module("workflow_pollers = \"auto\"").unwrap();
        assert!(matches!(
            auto.task_queues[0].workflow_pollers,
            Some(Pollers::Autoscaling { minimum: 1, .. })
        ));
        for (text, key) in [
            ("workflow_pollers = 1", "task_queue[0].workflow_pollers"),
            ("activity_pollers = 0", "task_queue[0].activity_pollers"),
            (
                "activity_pollers = { minimum = 5, maximum = 2 }",
                "task_queue[0].activity_pollers",
            ),
            (
                "max_activities_per_second = -1.0",
                "task_queue[0].max_activities_per_second",
            ),
            (
                "max_concurrent_local_activities = 0",
                "task_queue[0].max_concurrent_local_activities",
            ),
        ] {
            let e = with_module(text).unwrap_err();
            assert!(e.to_string().contains(key), "{text}: {e}");
        }
        let e = with_module("workflow_pollers = \"many\"").unwrap_err();
        assert!(e.to_string().contains("workflow_pollers"), "{e}");
    }

    #[test]
    fn deployment_keys_validate() {
        let c = with_module("[deployment]\nname = \"orders\"\nstore = \"store\"").unwrap();
        let d = c.deployment.expect("deployment");
        assert!(d.store.is_absolute() && d.admin.ip().is_loopback());
        assert_eq!(d.default_versioning, DefaultVersioning::Pinned);
        assert_eq!(d.deployment_name("q"), "orders/q");
        for (extra, key) in [
            ("name = \"a.b\"\nstore = \"s\"", "deployment.name"),
            (
                "name = \"a\"\nstore = \"s\"\nadmin = \"0.0.0.0:7350\"",
                "deployment.admin_token_env",
            ),
            (
                "name = \"a\"\nstore = \"s\"\nreplay_sample = 0",
                "deployment.replay_sample",
            ),
            (
                "name = \"a\"\nstore = \"s\"\ndefault_versioning = \"sideways\"",
                "sideways",
            ),
        ] {
            let e = with_module(&format!("[deployment]\n{extra}")).unwrap_err();
            assert!(e.to_string().contains(key), "{extra}: {e}");
        }
        // A versioned queue may start with no version; an unversioned one may not.
        let empty = "[[task_queue]]\nname = \"q\"\nmodules = []\n";
        let dir = Path::new("/nonexistent");
        assert!(
            Config::parse(
                &format!("[deployment]\nname = \"a\"\nstore = \"s\"\n{empty}"),
                dir
            )
            .is_ok()
        );
        let e = Config::parse(empty, dir).unwrap_err();
        assert!(e.to_string().contains("task_queue[0].modules"), "{e}");
    }

    #[test]
    fn a_registry_is_where_versions_come_from() {
        let dir = Path::new("/nonexistent");
        let registry = "[deployment]\nname = \"a\"\nstore = \"s\"\n\
                        [deployment.registry]\naddress = \"127.0.0.1:5000/teams\"\nplain_http = true\n";
        let c = Config::parse(&format!("{registry}[[task_queue]]\nname = \"q\"\n"), dir).unwrap();
        let r = c.deployment.unwrap().registry.unwrap();
        assert_eq!(
            (r.address.as_str(), r.plain_http, r.poll_ms),
            ("127.0.0.1:5000/teams", true, 5000)
        );
        let e = with_module(registry).unwrap_err();
        assert!(
            e.to_string().contains("deployment.registry") && e.to_string().contains("modules push"),
            "{e}"
        );
        for (table, key) in [
            (
                "address = \"http://r:5000/x\"",
                "deployment.registry.address",
            ),
            (
                "address = \"r:5000/x\"\npoll_ms = 10",
                "deployment.registry.poll_ms",
            ),
            ("address = \"r:5000/x\"\ncolour = 1", "colour"),
        ] {
            let text = format!(
                "[deployment]\nname = \"a\"\nstore = \"s\"\n[deployment.registry]\n{table}\n[[task_queue]]\nname = \"q\"\n"
            );
            let e = Config::parse(&text, dir).unwrap_err();
            assert!(e.to_string().contains(key), "{table}: {e}");
        }
    }

    fn tenants(text: &str) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("pw-tenants-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a-data/in")).unwrap();
        std::fs::create_dir_all(dir.join("b-data")).unwrap();
        std::fs::write(dir.join("m.wasm"), b"x").unwrap();
        Config::parse(text, &dir)
    }

    const TWO: &str = "[[tenant]]\nname = \"a\"\nnamespace = \"ns-a\"\n\
        ceiling = { http_allowlist = [\"*.a.internal\"], env = [\"A_*\"], preopen_roots = [\"a-data\"] }\n\
        quotas = { memory_mib = 512 }\n\
        [[tenant.task_queue]]\nname = \"qa\"\nmodules = [\"m.wasm\"]\n\
        [[tenant]]\nname = \"b\"\nnamespace = \"ns-b\"\n\
        [[tenant.task_queue]]\nname = \"qb\"\nmodules = [\"m.wasm\"]\n";

    #[test]
    fn tenants_parse_with_their_queues_and_a_config_without_them_is_one_implicit_tenant() {
        let c = tenants(TWO).unwrap();
        let t = c.tenants();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].name.as_str(), t[0].namespace.as_str()), ("a", "ns-a"));
        assert!(t[0].task_queues[0].modules[0].is_absolute());
        assert!(t[0].ceiling.preopen_roots[0].is_absolute());
        assert_eq!(t[0].quotas.memory_mib, Some(512));
        assert_eq!(c.queues().count(), 2);
        assert!(!t[0].implicit);
        let old = with_module("").unwrap();
        let t = old.tenants();
        assert_eq!(t.len(), 1);
        assert!(t[0].implicit && t[0].name == "default" && t[0].namespace == "default");
        assert_eq!(t[0].task_queues[0].name, "q");
    }

    #[test]
    fn tenant_contradictions_are_refused_with_the_key_named() {
        let q = |tenant: &str, extra: &str| {
            format!(
                "[[tenant]]\nname = \"a\"\nnamespace = \"ns-a\"\n\
                 ceiling = {{ http_allowlist = [\"*.a.internal\"], env = [\"A_*\"], preopen_roots = [\"a-data\"] }}\n\
                 [[tenant.task_queue]]\nname = \"qa\"\nmodules = [\"m.wasm\"]\n{extra}\n{tenant}"
            )
        };
        let b = |ns: &str, queue: &str| {
            format!(
                "[[tenant]]\nname = \"b\"\nnamespace = \"{ns}\"\n\
                 [[tenant.task_queue]]\nname = \"{queue}\"\nmodules = [\"m.wasm\"]\n"
            )
        };
        for (text, key) in [
            (q(&b("ns-b", "qa"), ""), "tenant[1].task_queue[0].name"),
            (q(&b("ns-a", "qb"), ""), "tenant[1].namespace"),
            (
                q(&b("ns-b", "qb"), "http_allowlist = [\"evil.example\"]"),
                "tenant[0].task_queue[0].http_allowlist[0]",
            ),
            (
                q(&b("ns-b", "qb"), "http_allowlist = [\"*\"]"),
                "tenant[0].task_queue[0].http_allowlist[0]",
            ),
            (
                q(&b("ns-b", "qb"), "env = { SECRET = \"x\" }"),
                "tenant[0].task_queue[0].env",
            ),
            (
                q(
                    &b("ns-b", "qb"),
                    "[[tenant.task_queue.preopen]]\nhost = \"b-data\"\nguest = \"/d\"",
                ),
                "tenant[0].task_queue[0].preopen[0].host",
            ),
            (
                format!(
                    "[[task_queue]]\nname = \"top\"\nmodules = [\"m.wasm\"]\n{}",
                    b("ns-b", "qb")
                ),
                "`task_queue`",
            ),
            (q(&b("ns-b", "qb"), "colour = 1"), "colour"),
            (
                q(&b("ns-b", "qb"), "").replace(
                    "namespace = \"ns-b\"\n",
                    "namespace = \"ns-b\"\nallow_task_queues = [\"qa\"]\n",
                ),
                "tenant[1].allow_task_queues[0]",
            ),
            (
                q(&b("ns-b", "qb"), "").replace(
                    "namespace = \"ns-b\"\n",
                    "namespace = \"ns-b\"\nquotas = { workflow_tasks = 1 }\n",
                ),
                "tenant[1].quotas.workflow_tasks",
            ),
            (
                format!(
                    "[capacity]\nguest_memory_mib = 100\n{}",
                    q(&b("ns-b", "qb"), "")
                )
                .replace(
                    "namespace = \"ns-a\"\n",
                    "namespace = \"ns-a\"\nquotas = { memory_mib = 200 }\n",
                ),
                "tenant[0].quotas.memory_mib",
            ),
            (
                format!(
                    "[deployment]\nname = \"d\"\nstore = \"s\"\n{}",
                    q(&b("ns-b", "qb"), "modules = []")
                )
                .replace("modules = [\"m.wasm\"]\nmodules = []", "modules = []"),
                "deployment.admin_token_env",
            ),
        ] {
            let e = tenants(&text).expect_err(key);
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
        // Within the ceiling, each of those is accepted.
        let ok = q(
            &b("ns-b", "qb"),
            "http_allowlist = [\"https://api.a.internal:443\"]\nenv = { A_URL = \"x\" }\n\
             [[tenant.task_queue.preopen]]\nhost = \"a-data/in\"\nguest = \"/d\"",
        );
        tenants(&ok).unwrap();
    }

    #[test]
    fn the_tenants_manual_example_has_the_configs_shape() {
        let doc = include_str!("../../../docs/tenants.md");
        let start = doc.find("```toml\n").expect("a toml block") + 8;
        let block = &doc[start..start + doc[start..].find("```").expect("its end")];
        let c: Config = toml::from_str(block).expect("the example parses, every key known");
        let t = c.tenants();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].quotas.cached_workflows, Some(500));
        let tls = t[1]
            .connection
            .as_ref()
            .and_then(|c| c.tls.as_ref())
            .expect("mTLS");
        assert!(tls.client_cert.is_some() && tls.client_key.is_some());
    }
}
