//! Starting and stopping the host.

use std::future::Future;
use std::sync::Arc;

use tracing::info;

use crate::config::{Config, ConfigError};
use crate::deploy::{DeployError, Fleet};
use crate::engine::EngineError;
use crate::module::{LoadError, Module};
use crate::queue::{DuplicateType, Queue};
use crate::services::Services;
use crate::worker::Running;

/// Why the host could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    DuplicateType(#[from] DuplicateType),
    #[error("cannot connect to the Temporal server at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("cannot start the worker for task queue {queue:?}: {message}")]
    Worker { queue: String, message: String },
    #[error(transparent)]
    Deploy(#[from] Box<DeployError>),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A started host: workers polling every configured task queue.
pub struct Host {
    /// Unversioned queues' workers.
    running: Vec<Running>,
    /// Versioned queues (`[deployment]`), with the admin API.
    pub fleet: Option<Arc<Fleet>>,
    admin_server: Option<tokio::task::AbortHandle>,
    watcher: Option<tokio::task::AbortHandle>,
    /// Loaded modules of the unversioned queues, for introspection.
    pub modules: Vec<Arc<Module>>,
    /// Where the Prometheus endpoint listens, if configured.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// Where `/healthz` and `/readyz` are served, if configured.
    pub health_address: Option<std::net::SocketAddr>,
    /// Where the admin API listens, under `[deployment]`.
    pub admin_address: Option<std::net::SocketAddr>,
    health_server: Option<tokio::task::AbortHandle>,
    probe: Option<tokio::task::AbortHandle>,
    readiness: crate::health::Readiness,
    services: Arc<Services>,
}

impl Host {
    /// Loads every module, connects, and starts polling.
    pub async fn start(config: Config) -> Result<Host, HostError> {
        config.validate()?;
        // Health first: an orchestrator sees the process up (and not ready)
        // while components load and compile and workers connect.
        let readiness = crate::health::Readiness::default();
        let (health_address, health_server) = match config.metrics.health {
            None => (None, None),
            Some(addr) => {
                let (bound, handle) = crate::health::serve(addr, readiness.clone()).await?;
                info!(address = %bound, "serving /healthz and /readyz");
                (Some(bound), Some(handle))
            }
        };
        let (services, loaded) = Services::start(&config).await?;
        let services = Arc::new(services);
        let mut running = Vec::new();
        let (mut fleet, mut admin_address, mut admin_server) = (None, None, None);
        let mut watcher = None;
        if let Some(deployment) = &config.deployment {
            let f = Fleet::start(services.clone(), deployment.clone(), &config.task_queues)
                .await
                .map_err(Box::new)?;
            let (bound, handle) = crate::deploy::admin::serve(f.clone(), deployment).await?;
            info!(address = %bound, "serving the admin API");
            if let Some(dir) = deployment.watch.clone() {
                info!(dir = %dir.display(), "deploying components that appear in the watched directory");
                watcher = Some(
                    tokio::spawn(f.clone().watch(dir, std::time::Duration::from_secs(1)))
                        .abort_handle(),
                );
            }
            (fleet, admin_address, admin_server) = (Some(f), Some(bound), Some(handle));
        } else {
            for q in &config.task_queues {
                let modules: Vec<Arc<Module>> = q
                    .modules
                    .iter()
                    .filter_map(|p| loaded.get(p).cloned())
                    .collect();
                let queue = Arc::new(Queue::new(
                    q,
                    &services.namespace,
                    &services.engine_config,
                    &modules,
                    &services.metrics,
                )?);
                running.push(Running::start(&services, q, queue, None).await?);
            }
        }
        readiness.set(true);
        let probe = health_server.is_some().then(|| {
            tokio::spawn(crate::health::watch_server(
                services.connection.clone(),
                readiness.clone(),
                std::time::Duration::from_secs(2),
            ))
            .abort_handle()
        });
        Ok(Host {
            running,
            fleet,
            admin_server,
            watcher,
            modules: loaded.into_values().collect(),
            metrics_address: services.metrics_address,
            health_address,
            admin_address,
            health_server,
            probe,
            readiness,
            services,
        })
    }

    /// Stops polling, lets in-flight tasks finish, and shuts the workers down.
    pub async fn shutdown(self) {
        self.readiness.set(false);
        for task in [self.admin_server, self.watcher].into_iter().flatten() {
            task.abort();
        }
        for r in &self.running {
            r.initiate_shutdown();
        }
        let fleet = self.fleet.map(|f| async move { f.shutdown().await });
        let workers = futures::future::join_all(self.running.into_iter().map(Running::finish));
        match fleet {
            Some(f) => {
                futures::future::join(workers, f).await;
            }
            None => {
                workers.await;
            }
        }
        match Arc::try_unwrap(self.services) {
            Ok(mut s) => s.stop(),
            Err(_) => tracing::warn!("host services still in use at shutdown"),
        }
        if let Some(server) = self.health_server {
            server.abort();
        }
        if let Some(probe) = self.probe {
            probe.abort();
        }
        info!("shut down");
    }
}

/// Runs the host until `shutdown` resolves, then shuts down gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), HostError> {
    let host = Host::start(config).await?;
    shutdown.await;
    host.shutdown().await;
    Ok(())
}
