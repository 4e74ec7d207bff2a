//! A tenant as the Temporal side sees it: its link to the server (namespace
//! and connection), the scope its workflows' commands must stay within,
//! the share of the host's memory budget its guests are charged to, and
//! its quotas: slot pools shared by its queues, rates, cached runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::connection::{ActivityRuntime, Link};
use super::convert::Scope;
use super::resident::Resident;
use crate::runtime::Account;
use crate::runtime::rate::Rate;

/// What a tenant's guests may use of the host, all of its queues together
/// (`None`: bounded by the host's totals and each queue's own keys only);
/// the config's `quotas = { … }`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Its share of the host's guest memory budget, MiB; unset, the whole
    /// budget (its growths are then bounded by the host's budget alone).
    pub memory_mib: Option<u64>,
    /// Workflow tasks at once (each of its workflow workers is owed two).
    pub workflow_tasks: Option<usize>,
    /// Activity attempts at once (each of its activity workers is owed one).
    pub activities: Option<usize>,
    /// Local-activity attempts at once (likewise).
    pub local_activities: Option<usize>,
    /// Workflow runs kept cached; past it, its least recently used idle
    /// run is evicted (and replayed when it next has work).
    pub cached_workflows: Option<usize>,
    /// Activity attempts started per second.
    pub activities_per_second: Option<f64>,
    /// Guest log lines per second; the excess is dropped and counted.
    pub log_lines_per_second: Option<f64>,
}

impl Quotas {
    /// The memory share in bytes (`None`: the whole budget).
    pub fn memory_bytes(&self) -> Option<usize> {
        self.memory_mib
            .map(|m| usize::try_from(m << 20).unwrap_or(usize::MAX))
    }
}

/// A tenant's slot pools, one per kind, shared by its queues.
#[derive(Default)]
pub struct SlotQuotas {
    /// Workflow-task slots.
    pub workflow: Option<Arc<tokio::sync::Semaphore>>,
    /// Activity slots.
    pub activity: Option<Arc<tokio::sync::Semaphore>>,
    /// Local-activity slots.
    pub local_activity: Option<Arc<tokio::sync::Semaphore>>,
}

/// One tenant's Temporal-side context, shared by its queues.
pub struct Tenant {
    /// Its name (`default` for the implicit tenant of a config without tenants).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its connection to the server (`None` for replay, which needs none).
    pub link: Option<Link>,
    /// Where its workflows' commands may point.
    pub scope: Scope,
    /// Its share of the host's guest memory budget (`None`: not charged,
    /// as for the replay gate's own runs).
    pub memory: Option<Arc<Account>>,
    /// The host's cached runs, where its runs are registered for the
    /// budget's evictions.
    pub resident: Arc<Resident>,
    /// Commands refused for aiming outside the tenant.
    pub scope_refusals: AtomicU64,
    /// Its slot pools.
    pub slots: SlotQuotas,
    /// Its activity rate.
    pub activity_rate: Option<Arc<Rate>>,
    /// Its guest log rate.
    pub log_rate: Option<Arc<Rate>>,
    /// Its cached runs, at most.
    pub max_cached: Option<usize>,
    /// The quotas it was made with.
    pub quotas: Quotas,
    /// Its own activity runtime (explicit tenants): the OS then shares the
    /// CPU between tenants' activity threads, so a tenant's CPU-bound
    /// attempts queue behind each other, not in front of another tenant's.
    pub activity_runtime: Option<ActivityRuntime>,
}

impl Tenant {
    /// The tenant's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Guest log lines dropped by its rate so far.
    pub fn log_lines_dropped(&self) -> u64 {
        self.log_rate.as_ref().map_or(0, |r| r.refused())
    }

    /// Commands refused for aiming outside the tenant so far.
    pub fn scope_refusals(&self) -> u64 {
        self.scope_refusals.load(Ordering::Relaxed)
    }

    /// A tenant of its own for replaying histories of `namespace`: no
    /// connection, open scope, not charged to the budget.
    pub fn for_replay(namespace: &str) -> Tenant {
        Tenant {
            name: "replay".into(),
            namespace: namespace.to_string(),
            link: None,
            scope: Scope::open(namespace),
            memory: None,
            resident: Arc::new(Resident::new(None)),
            scope_refusals: AtomicU64::new(0),
            slots: SlotQuotas::default(),
            activity_rate: None,
            log_rate: None,
            max_cached: None,
            quotas: Quotas::default(),
            activity_runtime: None,
        }
    }
}
