//! The versions of every versioned task queue, as running core workers:
//! deploy a component as a new version, make a version current (behind the
//! replay gate), retire a drained one. States live in the module store, so
//! a restarted host starts the same versions again. A config reload adds and
//! removes whole queues ([`Fleet::add_queues`], [`Fleet::remove_queues`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Mutex;
use tracing::{info, warn};

use super::DeployError;
use super::routing;
use super::store::{ModuleStore, VersionState};
use crate::config::{DeploymentConfig, TaskQueueConfig};
use crate::runtime::{Module, digest};
use crate::temporal::replay::ReplayReport;
use crate::temporal::{DeploymentVersion, Link, QueueWorker, Tenant, Workers};

/// What `list` reports about one version.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    /// The queue.
    pub task_queue: String,
    /// The version's digest (its build id).
    pub digest: String,
    /// Where it is in its life.
    pub state: VersionState,
    /// When it was deployed, ms since the epoch.
    pub deployed_at_ms: u64,
    /// Its workflow types.
    pub workflow_types: Vec<String>,
    /// Its activity types.
    pub activity_types: Vec<String>,
    /// Running workflows on this version, as the server counts them
    /// (`None` when it cannot tell).
    pub open_workflows: Option<u64>,
}

/// A queue's tenant and its settings.
type Served = (Arc<Tenant>, TaskQueueConfig);

pub(super) struct Version {
    pub(super) module: Arc<Module>,
    pub(super) running: Option<QueueWorker>,
}

/// Every versioned queue's versions and their workers.
pub struct Fleet {
    workers: Arc<Workers>,
    pub(super) config: DeploymentConfig,
    /// Each versioned queue's tenant and settings; a reload changes them.
    queues: std::sync::RwLock<BTreeMap<String, Served>>,
    pub(super) store: ModuleStore,
    /// By task queue, then digest. One lock: operations are rare, and each
    /// must see the states the one before left.
    pub(super) versions: Mutex<BTreeMap<String, BTreeMap<String, Version>>>,
    /// (queue, digest) of the deploys under way: a second deploy of the same
    /// bytes is refused rather than starting a second worker.
    deploying: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
}

/// Holds a (queue, digest) in [`Fleet::deploying`] while a deploy runs.
struct Deploying<'a> {
    fleet: &'a Fleet,
    key: (String, String),
}

impl Drop for Deploying<'_> {
    fn drop(&mut self) {
        self.fleet
            .deploying
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl Fleet {
    /// Opens the store and starts every version that is not retired;
    /// a queue with no versions yet gets the module its config lists, as its
    /// first current version.
    pub async fn start(
        workers: Arc<Workers>,
        config: DeploymentConfig,
        queues: &[Served],
    ) -> Result<Arc<Fleet>, DeployError> {
        let store = ModuleStore::open(&config.store)?;
        let fleet = Arc::new(Fleet {
            workers,
            queues: Default::default(),
            store,
            config,
            versions: Mutex::new(BTreeMap::new()),
            deploying: Default::default(),
        });
        fleet.add_queues(queues).await?;
        Ok(fleet)
    }

    /// Serves `queues` too: starts the versions the store holds for each
    /// (or deploys its first module as the current version).
    pub async fn add_queues(&self, queues: &[Served]) -> Result<(), DeployError> {
        {
            let mut served = self.queues.write().unwrap_or_else(|e| e.into_inner());
            for (t, q) in queues {
                served.insert(q.name.clone(), (t.clone(), q.clone()));
            }
        }
        for (_, q) in queues {
            let records = self.store.versions(&q.name);
            // With a registry, a queue's versions come from it (converge.rs).
            if records.is_empty() && self.config.registry.is_none() {
                if let Some(path) = q.modules.first() {
                    let bytes = std::fs::read(path).map_err(|source| DeployError::Read {
                        path: path.clone(),
                        source,
                    })?;
                    let digest = self.deploy(&q.name, bytes).await?;
                    self.make_current(&q.name, &digest).await?;
                }
                continue;
            }
            for r in records.iter().filter(|r| r.state != VersionState::Retired) {
                // One stored version that cannot start (its file changed or
                // went missing) is reported; the queue's others still serve.
                if let Err(e) = self.start_version(&q.name, &r.digest, None).await {
                    tracing::error!(task_queue = %q.name, digest = %r.digest, error = %crate::ops::telemetry::error_chain(&e), "cannot start a stored version; the others go on");
                }
            }
            // The server remembers the current version; telling it again is
            // harmless and repairs a state the host saved but never sent.
            if let Some(current) = records.iter().find(|r| r.state == VersionState::Current) {
                self.route(&q.name, &current.digest).await?;
            }
        }
        Ok(())
    }

    /// Stops serving `names`: every version's worker shuts down gracefully
    /// (in parallel); the store keeps their states for a later start.
    pub async fn remove_queues(&self, names: &[String]) {
        {
            let mut served = self.queues.write().unwrap_or_else(|e| e.into_inner());
            for n in names {
                served.remove(n);
            }
        }
        let running: Vec<QueueWorker> = {
            let mut versions = self.versions.lock().await;
            names
                .iter()
                .filter_map(|n| versions.remove(n))
                .flat_map(|vs| vs.into_values())
                .filter_map(|v| v.running)
                .collect()
        };
        stop_all(running).await;
    }

    /// The names of the queues served now.
    pub(super) fn queue_names(&self) -> Vec<String> {
        self.queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn served(&self, task_queue: &str) -> Result<Served, DeployError> {
        let served = self.queues.read().unwrap_or_else(|e| e.into_inner());
        served
            .get(task_queue)
            .cloned()
            .ok_or_else(|| DeployError::UnknownQueue {
                task_queue: task_queue.to_string(),
                known: served.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    fn queue_config(&self, task_queue: &str) -> Result<TaskQueueConfig, DeployError> {
        self.served(task_queue).map(|(_, q)| q)
    }

    /// The queue's tenant's link to the server.
    pub(super) fn link(&self, task_queue: &str) -> Result<Link, DeployError> {
        let (tenant, _) = self.served(task_queue)?;
        tenant
            .link
            .clone()
            .ok_or_else(|| DeployError::UnknownQueue {
                task_queue: task_queue.to_string(),
                known: String::new(),
            })
    }

    /// The tenant a queue belongs to, if the fleet serves it.
    pub fn tenant_of(&self, task_queue: &str) -> Option<String> {
        self.queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(task_queue)
            .map(|(t, _)| t.name.clone())
    }

    /// Loads a version (from `bytes`, or from the store) and starts its worker.
    pub(super) async fn start_version(
        &self,
        task_queue: &str,
        digest: &str,
        bytes: Option<Vec<u8>>,
    ) -> Result<(), DeployError> {
        let (tenant, cfg) = self.served(task_queue)?;
        let path = self.store.path(digest);
        let bytes = match bytes {
            Some(b) => b,
            None => self.store.read(digest)?,
        };
        let module = self.workers.load(&path, Some(bytes)).await?;
        let mut queue = self.workers.queue(
            &cfg.name,
            tenant,
            cfg.grants(),
            cfg.cancel_grace(),
            std::slice::from_ref(&module),
        )?;
        queue.versioned = true;
        if cfg.no_remote_activities {
            queue.activities.clear();
        }
        let version = DeploymentVersion {
            deployment_name: self.config.deployment_name(task_queue),
            build_id: digest.to_string(),
            default_behavior: self.config.default_versioning.behavior(),
        };
        let running = self
            .workers
            .start(&cfg.worker_options(), Arc::new(queue), Some(&version))
            .await?;
        self.versions
            .lock()
            .await
            .entry(task_queue.to_string())
            .or_default()
            .insert(
                digest.to_string(),
                Version {
                    module,
                    running: Some(running),
                },
            );
        Ok(())
    }

    /// Validates `bytes` (a component of the right world that instantiates
    /// and lists its types), keeps it in the store and starts its worker.
    /// The version receives no new workflows until it is made current.
    pub async fn deploy(&self, task_queue: &str, bytes: Vec<u8>) -> Result<String, DeployError> {
        self.queue_config(task_queue)?;
        let digest = digest(&bytes);
        // Claimed before the store is read: a deploy of the same bytes that
        // finishes in between is then seen in the store.
        let key = (task_queue.to_string(), digest.clone());
        if !self
            .deploying
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone())
        {
            return Err(DeployError::AlreadyDeployed {
                task_queue: task_queue.to_string(),
                digest,
                state: "being deployed",
            });
        }
        let _deploying = Deploying { fleet: self, key };
        if let Some(v) = self
            .store
            .versions(task_queue)
            .iter()
            .find(|v| v.digest == digest)
            && v.state != VersionState::Retired
        {
            return Err(DeployError::AlreadyDeployed {
                task_queue: task_queue.to_string(),
                digest,
                state: v.state.as_str(),
            });
        }
        // Validation is the load itself; only a valid component is stored.
        let started = Instant::now();
        self.start_version(task_queue, &digest, Some(bytes.clone()))
            .await?;
        self.store.put(&bytes)?;
        self.store
            .set(task_queue, &digest, VersionState::Deployed)?;
        info!(task_queue, digest = %digest, elapsed_ms = started.elapsed().as_millis() as u64, "deployed a version");
        Ok(digest)
    }

    /// Resolves a digest or a unique prefix of one (at least 8 characters).
    pub async fn resolve(&self, task_queue: &str, prefix: &str) -> Result<String, DeployError> {
        self.queue_config(task_queue)?;
        let matches: Vec<String> = self
            .store
            .versions(task_queue)
            .into_iter()
            .map(|v| v.digest)
            .filter(|d| prefix.len() >= 8 && d.starts_with(prefix))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(DeployError::UnknownVersion {
                task_queue: task_queue.to_string(),
                digest: prefix.to_string(),
            }),
            _ => Err(DeployError::Ambiguous {
                prefix: prefix.to_string(),
                count: matches.len(),
            }),
        }
    }

    /// Tells the server to route the queue's new workflows to `digest`.
    async fn route(&self, task_queue: &str, digest: &str) -> Result<(), DeployError> {
        routing::set_current(
            &self.link(task_queue)?,
            &self.config.deployment_name(task_queue),
            digest,
        )
        .await
    }

    /// Makes `digest` the queue's current version: the replay gate first
    /// (unless `force`), then the server's routing; the previous current
    /// version drains.
    pub async fn set_current(
        &self,
        task_queue: &str,
        digest: &str,
        force: bool,
    ) -> Result<Vec<ReplayReport>, DeployError> {
        let digest = self.resolve(task_queue, digest).await?;
        let already = self
            .store
            .versions(task_queue)
            .iter()
            .any(|v| v.digest == digest && v.state == VersionState::Current);
        if already {
            return Ok(Vec::new());
        }
        let reports = if force {
            Vec::new()
        } else {
            self.replay_gate(task_queue, &digest).await?
        };
        self.make_current(task_queue, &digest).await?;
        Ok(reports)
    }

    async fn make_current(&self, task_queue: &str, digest: &str) -> Result<(), DeployError> {
        let record = self
            .store
            .versions(task_queue)
            .into_iter()
            .find(|v| v.digest == digest);
        match record.map(|r| r.state) {
            None => {
                return Err(DeployError::UnknownVersion {
                    task_queue: task_queue.to_string(),
                    digest: digest.to_string(),
                });
            }
            Some(VersionState::Retired) => {
                return Err(DeployError::Retired {
                    digest: digest.to_string(),
                });
            }
            Some(VersionState::Current) => return Ok(()),
            Some(_) => {}
        }
        let started = Instant::now();
        self.route(task_queue, digest).await?;
        for v in self.store.versions(task_queue) {
            if v.state == VersionState::Current && v.digest != digest {
                self.store
                    .set(task_queue, &v.digest, VersionState::Draining)?;
            }
        }
        self.store.set(task_queue, digest, VersionState::Current)?;
        info!(
            task_queue,
            digest,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "made a version current"
        );
        Ok(())
    }

    /// Replays recent runs of the version's auto-upgrading workflow types
    /// against it. Pinned runs never move to another version, so their
    /// types are not replayed.
    async fn replay_gate(
        &self,
        task_queue: &str,
        digest: &str,
    ) -> Result<Vec<ReplayReport>, DeployError> {
        let module = self.module(task_queue, digest).await?;
        let types = super::moving_types(&module, self.config.default_versioning);
        let inputs = routing::recent_histories(
            &self.link(task_queue)?,
            task_queue,
            &types,
            self.config.replay_sample,
        )
        .await?;
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let reports = self.workers.replay(module, inputs).await?;
        let failed: Vec<_> = reports.iter().filter(|r| r.failure.is_some()).collect();
        if !failed.is_empty() {
            return Err(DeployError::ReplayGate {
                digest: digest[..12].to_string(),
                failed: failed.len(),
                total: reports.len(),
                report: failed
                    .iter()
                    .map(|r| format!("{}: {}", r.source, r.failure.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        Ok(reports)
    }

    async fn module(&self, task_queue: &str, digest: &str) -> Result<Arc<Module>, DeployError> {
        self.versions
            .lock()
            .await
            .get(task_queue)
            .and_then(|v| v.get(digest))
            .map(|v| v.module.clone())
            .ok_or_else(|| DeployError::UnknownVersion {
                task_queue: task_queue.to_string(),
                digest: digest.to_string(),
            })
    }

    /// Shuts a version's worker down gracefully; its file stays in the store.
    /// The current version cannot be retired, nor (unless `force`) one the
    /// server still counts open workflows on: pinned runs would stall.
    pub async fn retire(
        &self,
        task_queue: &str,
        digest: &str,
        force: bool,
    ) -> Result<String, DeployError> {
        let digest = self.resolve(task_queue, digest).await?;
        let state = self
            .store
            .versions(task_queue)
            .into_iter()
            .find(|v| v.digest == digest)
            .map(|v| v.state);
        if state == Some(VersionState::Current) {
            return Err(DeployError::IsCurrent { digest });
        }
        if !force {
            let open = routing::open_workflows(
                &self.link(task_queue)?,
                task_queue,
                &self.config.deployment_name(task_queue),
                &digest,
            )
            .await;
            if let Some(count @ 1..) = open {
                return Err(DeployError::OpenWorkflows { digest, count });
            }
        }
        self.stop_version(task_queue, &digest).await?;
        info!(task_queue, digest = %digest, "retired a version");
        Ok(digest)
    }

    /// Removes the stored files of versions retired on every queue.
    pub fn gc(&self) -> Result<Vec<String>, DeployError> {
        let removed = self.store.gc()?;
        if !removed.is_empty() {
            info!(
                removed = removed.len(),
                "removed retired modules from the store"
            );
        }
        Ok(removed)
    }

    /// Every version of every versioned queue.
    pub async fn list(&self) -> Vec<VersionInfo> {
        let mut out = Vec::new();
        // The modules, then the lock is let go: the counts below ask the
        // server, and a deploy must not wait for them.
        let modules: BTreeMap<(String, String), Arc<Module>> = self
            .versions
            .lock()
            .await
            .iter()
            .flat_map(|(q, vs)| {
                vs.iter()
                    .map(move |(d, v)| ((q.clone(), d.clone()), v.module.clone()))
            })
            .collect();
        for q in &self.queue_names() {
            let link = self.link(q).ok();
            for r in self.store.versions(q) {
                let module = modules.get(&(q.clone(), r.digest.clone()));
                let open = match &link {
                    Some(link) if r.state != VersionState::Retired => {
                        routing::open_workflows(link, q, &self.config.deployment_name(q), &r.digest)
                            .await
                    }
                    _ => None,
                };
                out.push(VersionInfo {
                    task_queue: q.clone(),
                    digest: r.digest.clone(),
                    state: r.state,
                    deployed_at_ms: r.deployed_at_ms,
                    workflow_types: module
                        .and_then(|m| m.workflow.as_ref())
                        .map(|w| w.types.clone())
                        .unwrap_or_default(),
                    activity_types: module
                        .and_then(|m| m.activity.as_ref())
                        .map(|a| a.types.clone())
                        .unwrap_or_default(),
                    open_workflows: open,
                });
            }
        }
        out
    }

    /// Stops every version's worker (in parallel).
    pub async fn shutdown(&self) {
        let running: Vec<QueueWorker> = {
            let mut versions = self.versions.lock().await;
            versions
                .values_mut()
                .flat_map(|v| v.values_mut())
                .filter_map(|v| v.running.take())
                .collect()
        };
        stop_all(running).await;
    }

    /// Deploys every `.wasm` file that appears under `dir/<task queue>/`
    /// (or is rewritten there) and makes it current (after the replay
    /// gate): for deployments that sync files, such as a mounted volume.
    /// What counts as a file is [`super::watch`]'s. Runs until aborted.
    pub async fn watch(self: Arc<Self>, dir: PathBuf, every: std::time::Duration) {
        let mut scanner = super::watch::Scanner::default();
        loop {
            for q in &self.queue_names() {
                for found in scanner.scan(&dir.join(q), super::MAX_COMPONENT_BYTES) {
                    let (path, bytes) = match found {
                        super::watch::Found::Ready { path, bytes } => (path, bytes),
                        super::watch::Found::Refused { path, why } => {
                            warn!(task_queue = %q, file = %path.display(), why, "refused a file in the watched directory");
                            continue;
                        }
                    };
                    // A file whose bytes the store has seen is not deployed
                    // again: at a restart the directory still holds them.
                    let digest = digest(&bytes);
                    if self.store.versions(q).iter().any(|v| v.digest == digest) {
                        continue;
                    }
                    let outcome = match self.deploy(q, bytes).await {
                        Ok(d) => self.set_current(q, &d, false).await.map(|_| d),
                        Err(e) => Err(e),
                    };
                    match outcome {
                        Ok(d) => {
                            info!(task_queue = %q, file = %path.display(), digest = %d, "deployed from the watched directory")
                        }
                        Err(e) => {
                            warn!(task_queue = %q, file = %path.display(), error = %crate::ops::telemetry::error_chain(&e), "refused a file in the watched directory")
                        }
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// Shuts workers down together: each stops polling at once, then all
/// finish their in-flight work in parallel.
pub(super) async fn stop_all(running: Vec<QueueWorker>) {
    for r in &running {
        r.initiate_shutdown();
    }
    futures::future::join_all(running.into_iter().map(QueueWorker::finish)).await;
}
