//! Tenants, put together from the config: each one's connection (shared
//! among tenants with the same settings), scope, quotas and queues, started
//! apart so that one tenant refused by the server does not stop the others.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Config, ConfigError, TenantConfig};
use crate::error::HostError;
use crate::ops::telemetry::error_chain;
use crate::runtime::Module;
use crate::temporal::convert::Scope;
use crate::temporal::{Connections, Link, QueueWorker, Tenant, Workers};

/// One tenant's unversioned queues as the host serves them.
pub(crate) struct Serving {
    /// What it was started from (compared on reload).
    pub config: TenantConfig,
    /// Its Temporal-side context; `None` while it cannot connect.
    pub tenant: Option<Arc<Tenant>>,
    /// Its queues' workers (empty while it is down).
    pub workers: Vec<QueueWorker>,
}

impl Serving {
    /// Its queues with its tenant, as the fleet serves them under
    /// `[deployment]` (none while it is down).
    pub fn versioned_queues(&self) -> Vec<(Arc<Tenant>, crate::config::TaskQueueConfig)> {
        let Some(t) = &self.tenant else {
            return Vec::new();
        };
        self.config
            .task_queues
            .iter()
            .map(|q| (t.clone(), q.clone()))
            .collect()
    }

    /// Stops its workers, letting in-flight work finish.
    pub async fn stop(self) {
        for w in &self.workers {
            w.initiate_shutdown();
        }
        futures::future::join_all(self.workers.into_iter().map(QueueWorker::finish)).await;
    }
}

/// Each tenant's admin token (name, token), read from the environment.
pub(crate) fn tenant_tokens(config: &Config) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (i, t) in config.tenants.iter().enumerate() {
        let Some(env) = &t.admin_token_env else {
            continue;
        };
        match std::env::var(env) {
            Ok(token) if !token.is_empty() => out.push((t.name.clone(), token)),
            _ => {
                return Err(ConfigError::Invalid {
                    key: format!("tenant[{i}].admin_token_env"),
                    message: format!("the environment variable {env} is not set"),
                });
            }
        }
    }
    Ok(out)
}

/// Tenant `i`'s Temporal-side context, connected with its own settings
/// (through `connections`, so tenants with the same settings share one).
pub(crate) async fn connect_tenant(
    config: &Config,
    i: usize,
    t: &TenantConfig,
    workers: &Workers,
    connections: &mut Connections,
) -> Result<Arc<Tenant>, HostError> {
    let settings = match &t.connection {
        Some(c) => c.settings(&config.server.address, &format!("tenant[{i}].connection"))?,
        None => config
            .server
            .connection()
            .settings(&config.server.address, "server")?,
    };
    let identity = workers.core().identity().to_string();
    let connection = connections.get(&settings, &identity).await?;
    let link = Link {
        namespace: t.namespace.clone(),
        connection,
        identity,
    };
    let scope = if t.implicit {
        Scope::open(&t.namespace)
    } else {
        Scope::tenant(&t.name, &t.namespace, t.scope_queues())
    };
    Ok(workers.tenant(&t.name, link, scope, &t.quotas, !t.implicit)?)
}

/// Connects tenant `i` and starts its unversioned queues. With `[[tenant]]`
/// tables a failure is reported and the tenant left down; the implicit
/// tenant's failure stops the host, as before tenants.
pub(crate) async fn serve_tenant(
    config: &Config,
    i: usize,
    t: TenantConfig,
    workers: &Workers,
    connections: &mut Connections,
    loaded: &HashMap<PathBuf, Arc<Module>>,
    versioned: bool,
) -> Result<Serving, HostError> {
    let started = async {
        let tenant = connect_tenant(config, i, &t, workers, connections).await?;
        let queues = if versioned {
            Vec::new()
        } else {
            start_tenant(workers, &tenant, &t, loaded).await?
        };
        Ok::<_, HostError>((tenant, queues))
    };
    match started.await {
        Ok((tenant, workers)) => Ok(Serving {
            config: t,
            tenant: Some(tenant),
            workers,
        }),
        Err(e) if !t.implicit => {
            tracing::error!(tenant = %t.name, error = %error_chain(&e), "cannot serve this tenant; the others go on");
            Ok(Serving {
                config: t,
                tenant: None,
                workers: Vec::new(),
            })
        }
        Err(e) => Err(e),
    }
}

/// Starts a worker per unversioned queue of one tenant.
pub(crate) async fn start_tenant(
    workers: &Workers,
    tenant: &Arc<Tenant>,
    config: &TenantConfig,
    loaded: &HashMap<PathBuf, Arc<Module>>,
) -> Result<Vec<QueueWorker>, HostError> {
    let mut running = Vec::new();
    for q in &config.task_queues {
        let modules: Vec<Arc<Module>> = q
            .modules
            .iter()
            .filter_map(|p| loaded.get(p).cloned())
            .collect();
        let mut queue = workers.queue(
            &q.name,
            tenant.clone(),
            q.grants(),
            q.cancel_grace(),
            &modules,
        )?;
        if q.no_remote_activities {
            queue.activities.clear();
        }
        match workers
            .start(&q.worker_options(), Arc::new(queue), None)
            .await
        {
            Ok(w) => running.push(w),
            Err(e) => {
                // The tenant's queues start together or not at all.
                for w in running {
                    w.finish().await;
                }
                return Err(e.into());
            }
        }
    }
    Ok(running)
}
