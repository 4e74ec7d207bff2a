//! The host's own metrics, recorded through Temporal core's meter so they
//! are served beside core's worker metrics on the same endpoint.
//!
//! Every instrument is labelled by `task_queue`, `kind` (`workflow` or
//! `activity`) and `module_digest` (the component's sha256), so a bad
//! deployment shows up as one digest's numbers moving. Latencies are in
//! microseconds: a guest call takes a few of them, below the millisecond
//! resolution of core's duration histograms.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, Gauge, GaugeF64, Histogram, HistogramDuration, HistogramF64,
    MetricAttributes, MetricKeyValue, MetricParameters, MetricValue, NewAttributes, TemporalMeter,
    UpDownCounter,
};

use crate::runtime::meter::GuestMetrics;
use crate::runtime::{Meters, ModuleMeter, Role};

/// Bucket boundaries (µs) for the host's latency histograms, from a
/// cached activation (a few µs) to a cold Python instantiation (ms).
pub const LATENCY_BUCKETS_US: &[f64] = &[
    5., 10., 25., 50., 100., 250., 500., 1_000., 2_500., 10_000., 100_000., 1_000_000.,
];

/// Guest instances created.
pub const INSTANTIATIONS: &str = "polyworker_instantiations";
/// Time to instantiate a component, µs.
pub const INSTANTIATION_LATENCY: &str = "polyworker_instantiation_latency_us";
/// Time an activation spends in the guest, µs.
pub const ACTIVATION_LATENCY: &str = "polyworker_activation_latency_us";
/// Activations interrupted at their deadline.
pub const EPOCH_INTERRUPTIONS: &str = "polyworker_epoch_interruptions";
/// Guests refused by a store's bounds, by `limit`.
pub const LIMIT_HITS: &str = "polyworker_limit_hits";
/// Linear memory of live instances.
pub const LINEAR_MEMORY: &str = "polyworker_linear_memory_bytes";
/// Live guest instances.
pub const INSTANCES: &str = "polyworker_instances";
/// Components loaded, by digest.
pub const COMPONENTS_LOADED: &str = "polyworker_components_loaded";

/// The instruments, created once per host.
pub struct HostMetrics {
    meter: TemporalMeter,
    instantiations: Counter,
    instantiation_latency: Histogram,
    activation_latency: Histogram,
    epoch_interruptions: Counter,
    limit_hits: Counter,
    linear_memory: Gauge,
    instances: Gauge,
    components: Gauge,
}

/// An instrument's name, description and unit.
pub(crate) fn params(
    name: &'static str,
    description: &'static str,
    unit: &'static str,
) -> MetricParameters {
    MetricParameters {
        name: name.into(),
        description: description.into(),
        unit: unit.into(),
    }
}

impl HostMetrics {
    /// Instruments on `meter`; `None` (no exporter configured) records nothing.
    pub fn new(meter: Option<TemporalMeter>) -> Arc<Self> {
        let meter = meter.unwrap_or_else(TemporalMeter::no_op);
        Arc::new(HostMetrics {
            instantiations: meter.counter(params(
                INSTANTIATIONS,
                "Guest instances created (one per cached workflow run, one per activity attempt)",
                "",
            )),
            instantiation_latency: meter.histogram(params(
                INSTANTIATION_LATENCY,
                "Time to instantiate a component from its InstancePre",
                "us",
            )),
            activation_latency: meter.histogram(params(
                ACTIVATION_LATENCY,
                "Time a workflow activation spends in the guest",
                "us",
            )),
            epoch_interruptions: meter.counter(params(
                EPOCH_INTERRUPTIONS,
                "Workflow activations interrupted at their deadline",
                "",
            )),
            limit_hits: meter.counter(params(
                LIMIT_HITS,
                "Guests refused by a store's bounds: limit=memory, table or resources, or \
                 wait (a workflow wait that could never end)",
                "",
            )),
            linear_memory: meter.gauge(params(
                LINEAR_MEMORY,
                "Linear memory held by live guest instances",
                "bytes",
            )),
            instances: meter.gauge(params(
                INSTANCES,
                "Live guest instances: cached workflow runs, running activity attempts",
                "",
            )),
            components: meter.gauge(params(
                COMPONENTS_LOADED,
                "Components loaded, by digest (1 while loaded)",
                "",
            )),
            meter,
        })
    }

    /// The meter the instruments record through.
    pub fn meter(&self) -> &TemporalMeter {
        &self.meter
    }

    /// Records that a component is loaded.
    pub fn component_loaded(&self, digest: &str, file: &str) {
        let attrs = self.meter.new_attributes(NewAttributes::from(vec![
            MetricKeyValue::new("module_digest", digest.to_string()),
            MetricKeyValue::new("module", file.to_string()),
        ]));
        self.components.record(1, &attrs);
    }
}

/// The host's metrics behind an `Arc`, as the runtime's [`Meters`].
#[derive(Clone)]
pub struct SharedMetrics(pub Arc<HostMetrics>);

impl Meters for SharedMetrics {
    fn module(&self, task_queue: &str, role: Role, digest: &str) -> ModuleMeter {
        let attrs = self.0.meter.new_attributes(NewAttributes::from(vec![
            MetricKeyValue::new("task_queue", task_queue.to_string()),
            MetricKeyValue::new("kind", role.as_str()),
            MetricKeyValue::new("module_digest", digest.to_string()),
        ]));
        ModuleMeter::new(Box::new(ModuleInstruments {
            metrics: self.0.clone(),
            attrs,
        }))
    }

    fn component_loaded(&self, digest: &str, file: &str) {
        self.0.component_loaded(digest, file);
    }
}

/// One module role's instruments and labels: the runtime's meters report
/// here.
struct ModuleInstruments {
    metrics: Arc<HostMetrics>,
    attrs: MetricAttributes,
}

impl GuestMetrics for ModuleInstruments {
    fn instantiated(&self, took: Duration) {
        self.metrics.instantiations.add(1, &self.attrs);
        self.metrics
            .instantiation_latency
            .record(took.as_micros() as u64, &self.attrs);
    }

    fn activated(&self, took: Duration) {
        self.metrics
            .activation_latency
            .record(took.as_micros() as u64, &self.attrs);
    }

    fn epoch_interrupted(&self) {
        self.metrics.epoch_interruptions.add(1, &self.attrs);
    }

    fn limit_hit(&self, limit: &'static str) {
        let attrs = self.metrics.meter.extend_attributes(
            self.attrs.clone(),
            NewAttributes::from(vec![MetricKeyValue::new("limit", limit)]),
        );
        self.metrics.limit_hits.add(1, &attrs);
    }

    fn linear_memory(&self, bytes: u64) {
        self.metrics.linear_memory.record(bytes, &self.attrs);
    }

    fn instances(&self, live: u64) {
        self.metrics.instances.record(live, &self.attrs);
    }
}

/// Adds a `tenant` label to every metric core or the host records with a
/// `namespace` or `task_queue` label of a tenant's (each tenant has its own
/// namespace, and a queue belongs to one tenant), so one label selects a
/// tenant's numbers on the whole endpoint.
#[derive(Debug)]
pub struct TenantLabels {
    inner: Arc<dyn CoreMeter>,
    /// `namespace` and `task_queue` values to their tenant; a reload
    /// replaces them.
    names: std::sync::RwLock<TenantNames>,
}

#[derive(Debug, Default)]
struct TenantNames {
    by_namespace: HashMap<String, String>,
    by_queue: HashMap<String, String>,
}

/// Each tenant as (name, namespace, task queues).
pub type TenantList = [(String, String, Vec<String>)];

impl TenantNames {
    fn new(tenants: &TenantList) -> TenantNames {
        let mut n = TenantNames::default();
        for (name, namespace, queues) in tenants {
            n.by_namespace.insert(namespace.clone(), name.clone());
            for q in queues {
                n.by_queue.insert(q.clone(), name.clone());
            }
        }
        n
    }
}

impl TenantLabels {
    /// Labels over `inner`, for `tenants`.
    pub fn new(inner: Arc<dyn CoreMeter>, tenants: &TenantList) -> Self {
        TenantLabels {
            inner,
            names: std::sync::RwLock::new(TenantNames::new(tenants)),
        }
    }

    /// Labels for `tenants` from now on (attribute sets made before keep theirs).
    pub fn set(&self, tenants: &TenantList) {
        *self.names.write().unwrap_or_else(|e| e.into_inner()) = TenantNames::new(tenants);
    }

    fn tag(&self, mut attribs: NewAttributes) -> NewAttributes {
        let kv = &attribs.attributes;
        if kv.iter().any(|k| k.key == "tenant") {
            return attribs;
        }
        let value = |key: &str| {
            kv.iter()
                .find(|k| k.key == key)
                .and_then(|k| match &k.value {
                    MetricValue::String(s) => Some(s.as_str()),
                    _ => None,
                })
        };
        let names = self.names.read().unwrap_or_else(|e| e.into_inner());
        let tenant = value("namespace")
            .and_then(|n| names.by_namespace.get(n))
            .or_else(|| value("task_queue").and_then(|q| names.by_queue.get(q)))
            .cloned();
        drop(names);
        if let Some(t) = tenant {
            attribs.attributes.push(MetricKeyValue::new("tenant", t));
        }
        attribs
    }
}

impl CoreMeter for TenantLabels {
    fn new_attributes(&self, attribs: NewAttributes) -> MetricAttributes {
        self.inner.new_attributes(self.tag(attribs))
    }
    fn extend_attributes(
        &self,
        existing: MetricAttributes,
        attribs: NewAttributes,
    ) -> MetricAttributes {
        self.inner.extend_attributes(existing, self.tag(attribs))
    }
    fn counter(&self, params: MetricParameters) -> Counter {
        self.inner.counter(params)
    }
    fn histogram(&self, params: MetricParameters) -> Histogram {
        self.inner.histogram(params)
    }
    fn histogram_f64(&self, params: MetricParameters) -> HistogramF64 {
        self.inner.histogram_f64(params)
    }
    fn histogram_duration(&self, params: MetricParameters) -> HistogramDuration {
        self.inner.histogram_duration(params)
    }
    fn gauge(&self, params: MetricParameters) -> Gauge {
        self.inner.gauge(params)
    }
    fn gauge_f64(&self, params: MetricParameters) -> GaugeF64 {
        self.inner.gauge_f64(params)
    }
    fn up_down_counter(&self, params: MetricParameters) -> UpDownCounter {
        self.inner.up_down_counter(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Core's worker metrics the dashboard may use (Prometheus names).
    const CORE: &[&str] = &[
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_activity_schedule_to_start_latency",
        "temporal_worker_task_slots_available",
        "temporal_worker_task_slots_used",
        "temporal_workflow_task_queue_poll_succeed",
        "temporal_workflow_task_queue_poll_empty",
        "temporal_activity_task_received",
        "temporal_activity_poll_no_task",
        "temporal_num_pollers",
        "temporal_sticky_cache_size",
        "temporal_sticky_cache_hit",
        "temporal_sticky_cache_miss",
        "temporal_workflow_failed",
        "temporal_workflow_task_execution_failed",
        "temporal_activity_execution_failed",
    ];

    #[test]
    fn tenant_labels_follow_the_namespace_or_the_task_queue() {
        let inner: Arc<dyn CoreMeter> =
            Arc::new(temporalio_common::telemetry::metrics::NoOpCoreMeter);
        let l = TenantLabels::new(inner, &[("a".into(), "ns-a".into(), vec!["qa".into()])]);
        let keys = |kv: Vec<MetricKeyValue>| {
            l.tag(NewAttributes::from(kv))
                .attributes
                .iter()
                .map(|k| format!("{}={:?}", k.key, k.value))
                .collect::<Vec<_>>()
        };
        assert!(
            keys(vec![MetricKeyValue::new("namespace", "ns-a")])
                .contains(&"tenant=String(\"a\")".into())
        );
        assert!(
            keys(vec![MetricKeyValue::new("task_queue", "qa")])
                .contains(&"tenant=String(\"a\")".into())
        );
        assert_eq!(
            keys(vec![MetricKeyValue::new("task_queue", "other")]).len(),
            1
        );
        let already = keys(vec![
            MetricKeyValue::new("tenant", "x"),
            MetricKeyValue::new("namespace", "ns-a"),
        ]);
        assert_eq!(already.len(), 2, "an existing tenant label stays alone");
    }

    #[test]
    fn the_dashboard_uses_only_metrics_that_exist() {
        let text = include_str!("../../../deploy/grafana/polyworker.json");
        let dashboard: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        let ours = [
            INSTANTIATIONS,
            INSTANTIATION_LATENCY,
            ACTIVATION_LATENCY,
            EPOCH_INTERRUPTIONS,
            LIMIT_HITS,
            LINEAR_MEMORY,
            INSTANCES,
            COMPONENTS_LOADED,
            crate::ops::tenants::TENANT_MEMORY,
            crate::ops::tenants::TENANT_MEMORY_SHARE,
            crate::ops::tenants::TENANT_CACHED_RUNS,
            crate::ops::tenants::TENANT_EVICTIONS,
            crate::ops::tenants::TENANT_BUDGET_REFUSALS,
            crate::ops::tenants::TENANT_SCOPE_REFUSALS,
            crate::ops::tenants::TENANT_LOG_LINES_DROPPED,
            crate::ops::tenants::TENANT_SLOTS_USED,
            crate::ops::tenants::TENANT_SLOTS_QUOTA,
            crate::ops::tenants::HOST_GUEST_MEMORY,
            crate::ops::tenants::HOST_GUEST_MEMORY_BUDGET,
        ];
        let mut exprs = Vec::new();
        for panel in dashboard["panels"].as_array().expect("panels") {
            for t in panel["targets"].as_array().into_iter().flatten() {
                exprs.push(t["expr"].as_str().expect("expr").to_string());
            }
        }
        assert!(exprs.len() > 10, "{exprs:?}");
        let mut used = std::collections::BTreeSet::new();
        for e in &exprs {
            for word in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("temporal_") || word.starts_with("polyworker_") {
                    let name = ["_bucket", "_count", "_sum"]
                        .iter()
                        .find_map(|s| word.strip_suffix(s))
                        .unwrap_or(word);
                    used.insert(name.to_string());
                }
            }
        }
        for name in &used {
            assert!(
                CORE.contains(&name.as_str()) || ours.contains(&name.as_str()),
                "the dashboard uses {name}, which neither core nor the host records"
            );
        }
        for name in ours {
            assert!(used.contains(name), "the dashboard does not show {name}");
        }
    }
}
