//! Per-tenant gauges and counters on the metrics endpoint: guest memory in
//! use against the tenant's share and the host's budget, cached runs, runs
//! evicted to free memory, growths refused by each budget, and commands
//! refused by scope. Sampled from the accounts once a second, so the hot
//! paths only bump atomics.

use std::sync::Arc;
use std::time::Duration;

use temporalio_common::telemetry::metrics::{
    Counter, Gauge, MetricAttributes, MetricKeyValue, NewAttributes, TemporalMeter,
};
use tokio::task::AbortHandle;

use super::metrics::params;
use crate::runtime::MemoryBudget;
use crate::temporal::Tenant;

/// Guest memory a tenant's stores hold.
pub const TENANT_MEMORY: &str = "polyworker_tenant_memory_bytes";
/// A tenant's share of the host's guest memory budget.
pub const TENANT_MEMORY_SHARE: &str = "polyworker_tenant_memory_share_bytes";
/// Cached workflow runs a tenant holds.
pub const TENANT_CACHED_RUNS: &str = "polyworker_tenant_cached_runs";
/// Idle runs of a tenant evicted to free guest memory.
pub const TENANT_EVICTIONS: &str = "polyworker_tenant_evictions";
/// A tenant's growths refused, by `budget` (`tenant` or `host`).
pub const TENANT_BUDGET_REFUSALS: &str = "polyworker_tenant_budget_refusals";
/// A tenant's workflow commands refused by scope.
pub const TENANT_SCOPE_REFUSALS: &str = "polyworker_tenant_scope_refusals";
/// A tenant's guest log lines dropped by its rate.
pub const TENANT_LOG_LINES_DROPPED: &str = "polyworker_tenant_log_lines_dropped";
/// A tenant's slots in use, by `kind`, where it has a quota for them.
pub const TENANT_SLOTS_USED: &str = "polyworker_tenant_slots_used";
/// A tenant's slot quota, by `kind`.
pub const TENANT_SLOTS_QUOTA: &str = "polyworker_tenant_slots_quota";
/// Guest memory all stores hold, and the host's budget for it.
pub const HOST_GUEST_MEMORY: &str = "polyworker_host_guest_memory_bytes";
/// The host's guest memory budget.
pub const HOST_GUEST_MEMORY_BUDGET: &str = "polyworker_host_guest_memory_budget_bytes";

struct Instruments {
    memory: Gauge,
    share: Gauge,
    cached: Gauge,
    evictions: Counter,
    refusals: Counter,
    scope: Counter,
    logs_dropped: Counter,
    slots_used: Gauge,
    slots_quota: Gauge,
    host_memory: Gauge,
    host_budget: Gauge,
}

impl Instruments {
    fn new(m: &TemporalMeter) -> Instruments {
        Instruments {
            memory: m.gauge(params(
                TENANT_MEMORY,
                "Guest memory a tenant's stores hold",
                "bytes",
            )),
            share: m.gauge(params(
                TENANT_MEMORY_SHARE,
                "A tenant's share of the host's guest memory budget",
                "bytes",
            )),
            cached: m.gauge(params(
                TENANT_CACHED_RUNS,
                "Cached workflow runs a tenant holds",
                "",
            )),
            evictions: m.counter(params(
                TENANT_EVICTIONS,
                "Idle cached runs evicted to free guest memory",
                "",
            )),
            refusals: m.counter(params(
                TENANT_BUDGET_REFUSALS,
                "Guest memory growths refused by a budget (budget=tenant or host)",
                "",
            )),
            scope: m.counter(params(
                TENANT_SCOPE_REFUSALS,
                "Workflow commands refused for aiming outside the tenant",
                "",
            )),
            logs_dropped: m.counter(params(
                TENANT_LOG_LINES_DROPPED,
                "Guest log lines dropped by the tenant's log rate",
                "",
            )),
            slots_used: m.gauge(params(
                TENANT_SLOTS_USED,
                "Slots a tenant's workers hold (kind=workflow, activity, local_activity)",
                "",
            )),
            slots_quota: m.gauge(params(
                TENANT_SLOTS_QUOTA,
                "A tenant's slot quota, by kind",
                "",
            )),
            host_memory: m.gauge(params(
                HOST_GUEST_MEMORY,
                "Guest memory all stores hold",
                "bytes",
            )),
            host_budget: m.gauge(params(
                HOST_GUEST_MEMORY_BUDGET,
                "The host's guest memory budget",
                "bytes",
            )),
        }
    }
}

/// What was last reported of one tenant's counters, to add the difference.
#[derive(Default, Clone, Copy)]
struct Seen {
    evictions: u64,
    share_refusals: u64,
    host_refusals: u64,
    scope: u64,
    logs_dropped: u64,
}

fn attrs(
    m: &TemporalMeter,
    tenant: &str,
    extra: Option<(&'static str, &'static str)>,
) -> MetricAttributes {
    let mut kv = vec![MetricKeyValue::new("tenant", tenant.to_string())];
    if let Some((k, v)) = extra {
        kv.push(MetricKeyValue::new(k, v));
    }
    m.new_attributes(NewAttributes::from(kv))
}

/// Slots in use against each quota the tenant has.
fn record_slots(i: &Instruments, meter: &TemporalMeter, t: &Tenant) {
    let quotas = [
        ("workflow", &t.slots.workflow, t.quotas.workflow_tasks),
        ("activity", &t.slots.activity, t.quotas.activities),
        (
            "local_activity",
            &t.slots.local_activity,
            t.quotas.local_activities,
        ),
    ];
    for (kind, pool, quota) in quotas {
        if let (Some(pool), Some(quota)) = (pool, quota) {
            let a = attrs(meter, &t.name, Some(("kind", kind)));
            let used = quota.saturating_sub(pool.available_permits());
            i.slots_used.record(used as u64, &a);
            i.slots_quota.record(quota as u64, &a);
        }
    }
}

/// The tenants being sampled; a reload replaces them.
#[derive(Clone, Default)]
pub struct Sampled(Arc<std::sync::Mutex<Vec<Arc<Tenant>>>>);

impl Sampled {
    /// Samples `tenants`.
    pub fn new(tenants: Vec<Arc<Tenant>>) -> Sampled {
        Sampled(Arc::new(std::sync::Mutex::new(tenants)))
    }

    /// Samples `tenants` from now on.
    pub fn set(&self, tenants: Vec<Arc<Tenant>>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = tenants;
    }

    fn get(&self) -> Vec<Arc<Tenant>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Samples `tenants` and `budget` into `meter` every `every`, until aborted.
pub fn sample(
    meter: TemporalMeter,
    budget: Arc<MemoryBudget>,
    tenants: Sampled,
    every: Duration,
) -> AbortHandle {
    let task = tokio::spawn(async move {
        let i = Instruments::new(&meter);
        let none = meter.new_attributes(NewAttributes::from(Vec::new()));
        // By tenant object: a tenant restarted by a reload counts afresh.
        let mut seen: std::collections::HashMap<usize, Seen> = Default::default();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            i.host_memory.record(budget.used() as u64, &none);
            i.host_budget.record(budget.total() as u64, &none);
            let tenants = tenants.get();
            seen.retain(|k, _| tenants.iter().any(|t| Arc::as_ptr(t) as usize == *k));
            for t in &tenants {
                let last = seen.entry(Arc::as_ptr(t) as usize).or_default();
                let a = attrs(&meter, &t.name, None);
                let scope = t.scope_refusals();
                i.scope.add(scope - last.scope, &a);
                last.scope = scope;
                let dropped = t.log_lines_dropped();
                i.logs_dropped.add(dropped - last.logs_dropped, &a);
                last.logs_dropped = dropped;
                record_slots(&i, &meter, t);
                let Some(account) = &t.memory else { continue };
                i.memory.record(account.used() as u64, &a);
                i.share.record(account.share() as u64, &a);
                i.cached.record(t.resident.count(account) as u64, &a);
                let (evictions, share, host) = account.counts();
                i.evictions.add(evictions - last.evictions, &a);
                let by = |b| attrs(&meter, &t.name, Some(("budget", b)));
                i.refusals.add(share - last.share_refusals, &by("tenant"));
                i.refusals.add(host - last.host_refusals, &by("host"));
                *last = Seen {
                    evictions,
                    share_refusals: share,
                    host_refusals: host,
                    scope,
                    logs_dropped: dropped,
                };
            }
        }
    });
    task.abort_handle()
}
