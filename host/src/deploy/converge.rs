//! Fleet convergence: a host whose `[deployment.registry]` names a registry
//! runs, on its own, what the registry holds and the server routes to. Each
//! pass, per queue: every artifact of the queue's repository that the host
//! does not run is pulled by digest (or read from the local store, which is
//! a cache), checked, and started as a version; the server's routing
//! (`DescribeWorkerDeployment`) says which version is current; a version
//! that was current and no longer gets new workflows stops once the server
//! counts no open workflows on it, and its file leaves the store. Drained
//! versions but the newest are deleted from the server, so a long-lived
//! queue stays under the server's version limit; an artifact pushed before
//! that newest drained one, which the server no longer knows, is one of the
//! deleted and is not started again. No host talks to another: the registry
//! and the server are the only shared state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, error, info, warn};

use super::registry::{Artifact, Registry};
use super::routing;
use super::store::VersionState;
use super::{DeployError, Fleet};
use crate::ops::registry::RegistryStatus;
use crate::ops::telemetry::error_chain;

/// What one host's passes remember between them.
#[derive(Default)]
pub struct Converging {
    /// (queue, digest) refused once (a tampered or oversized blob, a
    /// component that does not load): reported once, not pulled again. A
    /// registry or server failing on the way is retried instead.
    refused: HashSet<(String, String)>,
    /// Whether the last pass could read the registry.
    unreachable: bool,
    /// Where the registry's state is reported besides the log.
    status: Option<RegistryStatus>,
    /// When this host last asked the server to delete each (queue, build
    /// id): the server refuses while any host still polls a version, and
    /// rate-limits a deployment's changes, so each is asked rarely.
    deleting: HashMap<(String, String), Instant>,
    /// How long between two deletions of one version.
    delete_every: Duration,
}

/// Passes between two attempts to delete one drained version.
const DELETE_EVERY_PASSES: u32 = 10;

impl Converging {
    /// Passes every `every` that report to `status` (metrics and
    /// `/readyz`).
    pub fn reporting(status: RegistryStatus, every: Duration) -> Converging {
        Converging {
            status: Some(status),
            delete_every: every * DELETE_EVERY_PASSES,
            ..Default::default()
        }
    }
}

/// Whether `e` says the version itself is bad (so pulling it again would
/// not help), as opposed to a registry or server that failed on the way.
fn refusal(e: &DeployError) -> bool {
    use super::registry::RegistryError;
    matches!(
        e,
        DeployError::Load(_)
            | DeployError::DuplicateType(_)
            | DeployError::Registry(RegistryError::Tampered { .. } | RegistryError::TooBig { .. })
    )
}

impl Fleet {
    /// Converges every `every` until aborted (the first pass after one
    /// period: the host's start made one).
    pub async fn converge_forever(
        self: Arc<Self>,
        registry: Registry,
        mut state: Converging,
        every: Duration,
    ) {
        loop {
            tokio::time::sleep(every).await;
            self.converge(&registry, &mut state).await;
        }
    }

    /// One pass over every queue. The registry's reachability is logged when
    /// it changes; while it is down, the host serves what it has.
    pub async fn converge(&self, registry: &Registry, state: &mut Converging) {
        let mut unreachable = None;
        for q in self.queue_names() {
            let routing = match self.routing(&q).await {
                Ok(r) => r,
                Err(e) => {
                    warn!(task_queue = %q, error = %error_chain(&e), "cannot read the server's routing; keeping the versions as they are");
                    continue;
                }
            };
            match registry.artifacts(&q).await {
                Ok(artifacts) => {
                    self.start_missing(registry, &q, artifacts, &routing, state)
                        .await
                }
                Err(e) => unreachable = Some(error_chain(&e)),
            }
            if let Err(e) = self.follow_routing(&q, &routing).await {
                warn!(task_queue = %q, error = %error_chain(&e), "cannot apply the server's routing; keeping the versions as they are");
            }
            self.delete_obsolete(&q, &routing, state).await;
        }
        if let Some(s) = &state.status {
            s.reachable(unreachable.is_none());
        }
        match (unreachable, state.unreachable) {
            (Some(e), false) => {
                warn!(error = %e, "the registry cannot be read; serving the versions this host has");
                state.unreachable = true;
            }
            (None, true) => {
                info!("the registry can be read again");
                state.unreachable = false;
            }
            _ => {}
        }
    }

    async fn routing(&self, task_queue: &str) -> Result<routing::Routing, DeployError> {
        let link = self.link(task_queue)?;
        routing::describe(&link, &self.config.deployment_name(task_queue)).await
    }

    /// Starts the queue's artifacts that this host does not run yet, except
    /// those the server has seen drain: nothing will ever run on them.
    async fn start_missing(
        &self,
        registry: &Registry,
        task_queue: &str,
        artifacts: Vec<Artifact>,
        routing: &routing::Routing,
        state: &mut Converging,
    ) {
        let running = self.running(task_queue).await;
        let records = self.store.versions(task_queue);
        for a in artifacts {
            let key = (task_queue.to_string(), a.digest.clone());
            let retired = records
                .iter()
                .any(|r| r.digest == a.digest && r.state == VersionState::Retired);
            let over = routing.drained(&a.digest) || routing.deleted(&a.digest, a.created);
            if running.contains(&a.digest) || retired || over || state.refused.contains(&key) {
                continue;
            }
            match self.start_pulled(registry, task_queue, &a).await {
                Ok(()) => {
                    info!(task_queue, digest = %a.digest, tag = %a.tag, "started a version from the registry")
                }
                Err(e) if refusal(&e) => {
                    error!(task_queue, digest = %a.digest, error = %error_chain(&e), "refused a version from the registry; the others go on");
                    state.refused.insert(key);
                    if let Some(s) = &state.status {
                        s.refused();
                    }
                }
                // The registry or the server failed on the way: the next
                // pass tries again.
                Err(e) => {
                    warn!(task_queue, digest = %a.digest, error = %error_chain(&e), "cannot start a version from the registry yet; trying again");
                }
            }
        }
    }

    /// Starts `artifact`'s version from the local store if it holds it (the
    /// store checks its hash), else from the registry.
    async fn start_pulled(
        &self,
        registry: &Registry,
        task_queue: &str,
        artifact: &Artifact,
    ) -> Result<(), DeployError> {
        let bytes = match self.store.read(&artifact.digest) {
            Ok(b) => b,
            Err(_) => registry.pull(task_queue, artifact).await?,
        };
        self.store.put(&bytes)?;
        self.start_version(task_queue, &artifact.digest, Some(bytes))
            .await?;
        let known = self
            .store
            .versions(task_queue)
            .iter()
            .any(|r| r.digest == artifact.digest);
        if !known {
            self.store
                .set(task_queue, &artifact.digest, VersionState::Deployed)?;
        }
        Ok(())
    }

    /// Takes the server's current version as the queue's, marks the ones
    /// it no longer routes to as draining, and stops those with no open run.
    async fn follow_routing(
        &self,
        task_queue: &str,
        routing: &routing::Routing,
    ) -> Result<(), DeployError> {
        let link = self.link(task_queue)?;
        let name = self.config.deployment_name(task_queue);
        let records = self.store.versions(task_queue);
        if let Some(current) = &routing.current
            && records
                .iter()
                .any(|r| r.digest == *current && r.state != VersionState::Current)
        {
            for r in records.iter().filter(|r| r.state == VersionState::Current) {
                self.store
                    .set(task_queue, &r.digest, VersionState::Draining)?;
            }
            self.store.set(task_queue, current, VersionState::Current)?;
            info!(task_queue, digest = %current, "the server made a version current");
        }
        // A host that joined after a version was current learns it from the
        // server, not from its own history.
        for r in self.store.versions(task_queue) {
            let retiring = routing.retiring.iter().any(|(b, _)| *b == r.digest);
            if retiring && matches!(r.state, VersionState::Deployed | VersionState::Current) {
                self.store
                    .set(task_queue, &r.digest, VersionState::Draining)?;
            }
        }
        for r in self.store.versions(task_queue) {
            if r.state != VersionState::Draining || routing.routes_to(&r.digest) {
                continue;
            }
            // The server's word, else its count (which comes sooner: the
            // server re-checks drainage every few minutes).
            let done = routing.drained(&r.digest)
                || routing::open_workflows(&link, task_queue, &name, &r.digest).await == Some(0);
            if done {
                self.stop_version(task_queue, &r.digest).await?;
                info!(task_queue, digest = %r.digest, "stopped a drained version");
                // The registry keeps the bytes; the store is only a cache.
                self.gc()?;
            }
        }
        Ok(())
    }

    /// Asks the server to delete the queue's obsolete drained versions that
    /// this host no longer runs, each at most once per `delete_every`. A
    /// refusal is expected while another host still polls one (or polled it
    /// a few minutes ago), so it is not a warning.
    async fn delete_obsolete(
        &self,
        task_queue: &str,
        routing: &routing::Routing,
        state: &mut Converging,
    ) {
        let Ok(link) = self.link(task_queue) else {
            return;
        };
        let name = self.config.deployment_name(task_queue);
        let running = self.running(task_queue).await;
        let now = Instant::now();
        state
            .deleting
            .retain(|(q, b), _| q != task_queue || routing.known.contains(b));
        for build_id in routing.obsolete.iter().filter(|b| !running.contains(*b)) {
            let key = (task_queue.to_string(), build_id.clone());
            if state
                .deleting
                .get(&key)
                .is_some_and(|t| now < *t + state.delete_every)
            {
                continue;
            }
            state.deleting.insert(key, now);
            match routing::delete_version(&link, &name, build_id).await {
                Ok(()) => {
                    info!(task_queue, digest = %build_id, "deleted a drained version from the server")
                }
                Err(e) => {
                    debug!(task_queue, digest = %build_id, error = %error_chain(&e), "the server keeps a drained version for now")
                }
            }
        }
    }

    /// The digests of the queue's versions this host runs.
    async fn running(&self, task_queue: &str) -> HashSet<String> {
        self.versions
            .lock()
            .await
            .get(task_queue)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Stops a version's worker and marks it retired.
    pub(super) async fn stop_version(
        &self,
        task_queue: &str,
        digest: &str,
    ) -> Result<(), DeployError> {
        let running = self
            .versions
            .lock()
            .await
            .get_mut(task_queue)
            .and_then(|v| v.remove(digest))
            .and_then(|v| v.running);
        if let Some(r) = running {
            r.finish().await;
        }
        self.store.set(task_queue, digest, VersionState::Retired)?;
        Ok(())
    }
}
