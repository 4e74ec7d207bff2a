//! Reloading the config while the host runs (`SIGHUP`, or the admin API's
//! `Reload`): tenants added, removed or changed, without touching the
//! others' in-flight work.
//!
//! The unit of change is the tenant. One whose table is unchanged keeps
//! running as it is; a removed one stops gracefully (in-flight activities
//! get their graceful period, cached runs are evicted); a changed one (its
//! quotas, ceiling, connection or queues) stops and starts again with the
//! new table, its runs replaying on the new workers; an added one connects
//! and starts. Under `[deployment]` the same holds for a tenant's versioned
//! queues: the fleet stops every version of a removed queue and starts the
//! stored versions of an added one. Everything that can be refused is
//! checked before anything stops: a config that does not validate, a
//! component that does not load, a token variable that is unset, queues the
//! instance pool reserved at start cannot hold, or a change to what only a
//! restart can change (`[server]`, `[engine]`, `[capacity]`, `[metrics]`,
//! `[deployment]`) leaves the running host as it was.

use std::future::Future;
use std::path::Path;

use tracing::{error, info};

use crate::config::{Config, ConfigError};
use crate::deploy::admin::proto::ReloadResponse;
use crate::error::HostError;
use crate::host::{Host, capacity};
use crate::ops::telemetry::error_chain;
use crate::runtime::Capacity;
use crate::tenancy::{Serving, serve_tenant, tenant_tokens};

/// What a reload did, by tenant name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Started.
    pub added: Vec<String>,
    /// Stopped.
    pub removed: Vec<String>,
    /// Stopped and started with their new tables.
    pub restarted: Vec<String>,
    /// Left running.
    pub unchanged: Vec<String>,
}

/// Refuses changes only a restart can apply, naming the table.
fn check_reloadable(old: &Config, new: &Config) -> Result<(), ConfigError> {
    let fixed = [
        ("server", old.server == new.server),
        ("engine", old.engine == new.engine),
        ("capacity", old.capacity == new.capacity),
        ("metrics", old.metrics == new.metrics),
        ("deployment", old.deployment == new.deployment),
    ];
    for (table, same) in fixed {
        if !same {
            return Err(ConfigError::Invalid {
                key: table.into(),
                message: format!("[{table}] cannot change while the host runs: restart it"),
            });
        }
    }
    if old.tenants.is_empty() != new.tenants.is_empty() {
        return Err(ConfigError::Invalid {
            key: "tenant".into(),
            message: "moving between one implicit tenant and [[tenant]] tables needs a restart"
                .into(),
        });
    }
    Ok(())
}

/// Refuses queues that need more instances than the pool reserved at start:
/// they would fail their tasks as soon as the pool ran out.
fn check_pool(reserved: Capacity, pooling: bool, new: &Config) -> Result<(), ConfigError> {
    let needed = capacity(new);
    let fits = needed.workflow_instances <= reserved.workflow_instances
        && needed.activity_instances <= reserved.activity_instances;
    if pooling && !fits {
        return Err(ConfigError::Invalid {
            key: "tenant".into(),
            message: format!(
                "the new queues need {} workflow and {} activity instances; the pool reserved \
                 {} and {} at start: restart the host (or lower max_cached_workflows and the \
                 slot counts)",
                needed.workflow_instances,
                needed.activity_instances,
                reserved.workflow_instances,
                reserved.activity_instances
            ),
        });
    }
    Ok(())
}

impl From<Reloaded> for ReloadResponse {
    fn from(r: Reloaded) -> ReloadResponse {
        ReloadResponse {
            added: r.added,
            removed: r.removed,
            restarted: r.restarted,
            unchanged: r.unchanged,
        }
    }
}

impl Host {
    /// Applies `new` (see the module's doc); on an error nothing changed.
    pub async fn reload(&mut self, new: Config) -> Result<Reloaded, HostError> {
        new.validate()?;
        check_reloadable(&self.config, &new)?;
        let engine = self.workers.engine();
        check_pool(engine.capacity, engine.pooling, &new)?;
        let tokens = match self.admin_tokens {
            Some(_) => Some(tenant_tokens(&new)?),
            None => None,
        };
        let mut old: Vec<Serving> = std::mem::take(&mut self.serving);
        let mut plan = Vec::new();
        for (i, t) in new.tenants().into_iter().enumerate() {
            let kept = old
                .iter()
                .position(|s| s.config.name == t.name && s.config == t && s.tenant.is_some());
            plan.push((i, t, kept.map(|k| old.remove(k))));
        }
        // Load what the new tables name before stopping anything.
        for t in plan
            .iter()
            .filter(|(_, _, kept)| kept.is_none())
            .map(|(_, t, _)| t)
        {
            for path in t.task_queues.iter().flat_map(|q| &q.modules) {
                if !self.loaded.contains_key(path) {
                    match self.workers.load(path, None).await {
                        Ok(m) => {
                            self.loaded.insert(path.clone(), m);
                        }
                        Err(e) => {
                            // Put everything back as it was.
                            self.serving = plan.into_iter().filter_map(|(_, _, k)| k).collect();
                            self.serving.append(&mut old);
                            return Err(e.into());
                        }
                    }
                }
            }
        }
        let mut report = Reloaded::default();
        let new_names: Vec<&str> = plan.iter().map(|(_, t, _)| t.name.as_str()).collect();
        for gone in old {
            let name = gone.config.name.clone();
            if new_names.contains(&name.as_str()) {
                report.restarted.push(name);
            } else {
                report.removed.push(name);
            }
            if let Some(fleet) = &self.fleet {
                let names: Vec<String> = gone
                    .config
                    .task_queues
                    .iter()
                    .map(|q| q.name.clone())
                    .collect();
                fleet.remove_queues(&names).await;
            }
            gone.stop().await;
        }
        if let (Some(admin), Some(tokens)) = (&self.admin_tokens, tokens) {
            admin.set_tenants(tokens);
        }
        for (i, t, kept) in plan {
            match kept {
                Some(s) => {
                    report.unchanged.push(t.name.clone());
                    self.serving.push(s);
                }
                None => {
                    if !report.restarted.contains(&t.name) {
                        report.added.push(t.name.clone());
                    }
                    let s = serve_tenant(
                        &new,
                        i,
                        t,
                        &self.workers,
                        &mut self.connections,
                        &self.loaded,
                        self.fleet.is_some(),
                    )
                    .await?;
                    self.serving.push(self.serve_versioned(s).await?);
                }
            }
        }
        self.sampled.set(
            self.serving
                .iter()
                .filter_map(|s| s.tenant.clone())
                .collect(),
        );
        if let Some(l) = &self.labels {
            l.set(&crate::host::tenant_list(&new));
        }
        self.config = new;
        Ok(report)
    }

    /// Hands a (re)started tenant's queues to the fleet, under
    /// `[deployment]`. An explicit tenant whose versions cannot start is
    /// left down, as at start; the implicit one's failure is the reload's.
    async fn serve_versioned(&self, mut s: Serving) -> Result<Serving, HostError> {
        let Some(fleet) = &self.fleet else {
            return Ok(s);
        };
        let queues = s.versioned_queues();
        if let Err(e) = fleet.add_queues(&queues).await {
            let names: Vec<String> = queues.into_iter().map(|(_, q)| q.name).collect();
            fleet.remove_queues(&names).await;
            if s.config.implicit {
                return Err(e.into());
            }
            error!(tenant = %s.config.name, error = %error_chain(&e), "cannot serve this tenant; the others go on");
            s.tenant = None;
        }
        Ok(s)
    }
}

/// Runs the host from the config at `path` until `shutdown`; on each
/// `SIGHUP` it re-reads the file and reloads. A config that is refused is
/// logged, and the running one stays.
pub async fn run_reloading(
    path: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HostError> {
    let mut host = Host::start(Config::from_file(path)?).await?;
    tokio::pin!(shutdown);
    let mut hangups = hangups();
    let mut asked = host.reloads.accept();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hangups.recv() => {
                info!(config = %path.display(), "SIGHUP: reloading the config");
                let _ = reload_from(&mut host, path).await;
            }
            Some(reply) = async { asked.as_mut()?.recv().await } => {
                info!(config = %path.display(), "admin API: reloading the config");
                let outcome = reload_from(&mut host, path).await;
                let _ = reply.send(outcome.map(Into::into).map_err(|e| {
                    tonic::Status::invalid_argument(format!(
                        "the new config was refused; the running one stays: {}",
                        error_chain(&e)
                    ))
                }));
            }
        }
    }
    host.shutdown().await;
    Ok(())
}

/// Re-reads `path` and reloads; logs the outcome, and returns it.
async fn reload_from(host: &mut Host, path: &Path) -> Result<Reloaded, HostError> {
    let outcome = match Config::from_file(path) {
        Ok(c) => host.reload(c).await,
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(r) => {
            info!(added = ?r.added, removed = ?r.removed, restarted = ?r.restarted, unchanged = ?r.unchanged, "reloaded");
            Ok(r)
        }
        Err(e) => {
            error!(error = %error_chain(&e), "the new config was refused; the running one stays");
            Err(e)
        }
    }
}

/// A channel that gets `()` at each `SIGHUP` (never, off Unix).
fn hangups() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                // A reload already pending covers this one too.
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        let dir = std::env::temp_dir().join(format!("pw-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.wasm"), b"x").unwrap();
        Config::parse(text, &dir).unwrap()
    }

    const T: &str = "[[tenant]]\nname = \"a\"\nnamespace = \"a\"\n[[tenant.task_queue]]\nname = \"q\"\nmodules = [\"m.wasm\"]\n";

    #[test]
    fn only_tenants_change_while_running() {
        let old = parse(T);
        assert!(check_reloadable(&old, &parse(&format!("{T}[[tenant]]\nname = \"b\"\nnamespace = \"b\"\n[[tenant.task_queue]]\nname = \"qb\"\nmodules = [\"m.wasm\"]\n"))).is_ok());
        for (text, key) in [
            (
                format!("[engine]\nworkflow_deadline_ms = 10\n{T}"),
                "`engine`",
            ),
            (
                format!("[server]\naddress = \"http://elsewhere:7233\"\n{T}"),
                "`server`",
            ),
            (
                format!("[capacity]\nguest_memory_mib = 10\n{T}"),
                "`capacity`",
            ),
            (
                "[[task_queue]]\nname = \"q\"\nmodules = [\"m.wasm\"]\n".to_string(),
                "`tenant`",
            ),
        ] {
            let e = check_reloadable(&old, &parse(&text)).unwrap_err();
            assert!(e.to_string().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn a_versioned_host_reloads_its_tenants_but_not_its_deployment() {
        let deployment = |name: &str| {
            format!("[deployment]\nname = \"{name}\"\nstore = \"s\"\nadmin_token_env = \"T\"\n{T}")
        };
        let old = parse(&deployment("d"));
        let more = format!(
            "{}[[tenant]]\nname = \"b\"\nnamespace = \"b\"\n[[tenant.task_queue]]\nname = \"qb\"\nmodules = [\"m.wasm\"]\n",
            deployment("d")
        );
        assert!(check_reloadable(&old, &parse(&more)).is_ok());
        let e = check_reloadable(&old, &parse(&deployment("other"))).unwrap_err();
        assert!(e.to_string().contains("`deployment`"), "{e}");
        let e = check_reloadable(&old, &parse(T)).unwrap_err();
        assert!(e.to_string().contains("`deployment`"), "{e}");
    }

    #[test]
    fn queues_past_the_reserved_pool_are_refused_unless_allocated_on_demand() {
        let one = parse(T);
        let reserved = capacity(&one);
        let two = parse(&format!(
            "{T}[[tenant]]\nname = \"b\"\nnamespace = \"b\"\n[[tenant.task_queue]]\nname = \"qb\"\nmodules = [\"m.wasm\"]\n"
        ));
        assert!(check_pool(reserved, true, &one).is_ok());
        let e = check_pool(reserved, true, &two).unwrap_err();
        assert!(e.to_string().contains("restart the host"), "{e}");
        assert!(check_pool(reserved, false, &two).is_ok());
    }
}
