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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use temporalio_common::telemetry::metrics::{
    Counter, Gauge, Histogram, MetricAttributes, MetricKeyValue, MetricParameters, NewAttributes,
    TemporalMeter,
};
use wasmtime::{ResourceLimiter, StoreLimits};

/// Bucket boundaries (µs) for the host's latency histograms, from a
/// cached activation (a few µs) to a cold Python instantiation (ms).
pub const LATENCY_BUCKETS_US: &[f64] = &[
    5., 10., 25., 50., 100., 250., 500., 1_000., 2_500., 10_000., 100_000., 1_000_000.,
];

/// Names of the host's metrics (Prometheus adds no prefix).
pub const INSTANTIATIONS: &str = "polyworker_instantiations";
pub const INSTANTIATION_LATENCY: &str = "polyworker_instantiation_latency_us";
pub const ACTIVATION_LATENCY: &str = "polyworker_activation_latency_us";
pub const EPOCH_INTERRUPTIONS: &str = "polyworker_epoch_interruptions";
pub const MEMORY_LIMIT_HITS: &str = "polyworker_memory_limit_hits";
pub const LINEAR_MEMORY: &str = "polyworker_linear_memory_bytes";
pub const INSTANCES: &str = "polyworker_instances";
pub const COMPONENTS_LOADED: &str = "polyworker_components_loaded";

/// Which role of a component a store runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Workflow,
    Activity,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Workflow => "workflow",
            Kind::Activity => "activity",
        }
    }
}

/// The instruments, created once per host.
pub struct HostMetrics {
    meter: TemporalMeter,
    instantiations: Counter,
    instantiation_latency: Histogram,
    activation_latency: Histogram,
    epoch_interruptions: Counter,
    memory_limit_hits: Counter,
    linear_memory: Gauge,
    instances: Gauge,
    components: Gauge,
}

fn params(name: &'static str, description: &'static str, unit: &'static str) -> MetricParameters {
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
            memory_limit_hits: meter.counter(params(
                MEMORY_LIMIT_HITS,
                "Guest memory or table growth refused by the store's limits",
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

    /// Records that a component is loaded.
    pub fn component_loaded(&self, digest: &str, file: &str) {
        let attrs = self.meter.new_attributes(NewAttributes::from(vec![
            MetricKeyValue::new("module_digest", digest.to_string()),
            MetricKeyValue::new("module", file.to_string()),
        ]));
        self.components.record(1, &attrs);
    }

    /// The meters of one role of one module on one queue.
    pub fn module(self: &Arc<Self>, task_queue: &str, kind: Kind, digest: &str) -> ModuleMeter {
        let attrs = self.meter.new_attributes(NewAttributes::from(vec![
            MetricKeyValue::new("task_queue", task_queue.to_string()),
            MetricKeyValue::new("kind", kind.as_str()),
            MetricKeyValue::new("module_digest", digest.to_string()),
        ]));
        ModuleMeter(Arc::new(ModuleState {
            metrics: self.clone(),
            attrs,
            memory: AtomicU64::new(0),
            live: AtomicU64::new(0),
        }))
    }
}

struct ModuleState {
    metrics: Arc<HostMetrics>,
    attrs: MetricAttributes,
    memory: AtomicU64,
    live: AtomicU64,
}

/// The meters of one role of one module on one queue.
#[derive(Clone)]
pub struct ModuleMeter(Arc<ModuleState>);

impl ModuleMeter {
    /// A meter that records nothing (inspection stores, benchmarks).
    pub fn disabled(kind: Kind) -> ModuleMeter {
        HostMetrics::new(None).module("", kind, "")
    }

    pub fn instantiated(&self, took: Duration) {
        let s = &self.0;
        s.metrics.instantiations.add(1, &s.attrs);
        s.metrics
            .instantiation_latency
            .record(took.as_micros() as u64, &s.attrs);
    }

    pub fn activated(&self, took: Duration) {
        let s = &self.0;
        s.metrics
            .activation_latency
            .record(took.as_micros() as u64, &s.attrs);
    }

    pub fn epoch_interrupted(&self) {
        self.0.metrics.epoch_interruptions.add(1, &self.0.attrs);
    }

    /// The limiter of a new store, counted as a live instance until dropped.
    pub fn limits(&self, limits: StoreLimits) -> MeteredLimits {
        let s = &self.0;
        let live = s.live.fetch_add(1, Ordering::Relaxed) + 1;
        s.metrics.instances.record(live, &s.attrs);
        MeteredLimits {
            limits,
            meter: self.clone(),
            bytes: 0,
        }
    }

    fn memory_changed(&self, delta: i64) {
        let s = &self.0;
        let now = if delta >= 0 {
            s.memory.fetch_add(delta as u64, Ordering::Relaxed) + delta as u64
        } else {
            let d = delta.unsigned_abs();
            s.memory.fetch_sub(d, Ordering::Relaxed).saturating_sub(d)
        };
        s.metrics.linear_memory.record(now, &s.attrs);
    }
}

/// A store's limits, reporting its linear memory and refused growth.
pub struct MeteredLimits {
    limits: StoreLimits,
    meter: ModuleMeter,
    bytes: usize,
}

impl MeteredLimits {
    /// Linear memory this store holds now.
    pub fn memory_bytes(&self) -> usize {
        self.bytes
    }
}

impl ResourceLimiter for MeteredLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The store's limit counts each memory alone; so does the gauge,
        // summed over the store's memories.
        let answer = self.limits.memory_growing(current, desired, maximum);
        if matches!(answer, Ok(true)) {
            let grown = desired.saturating_sub(current);
            self.bytes += grown;
            self.meter.memory_changed(grown as i64);
        } else {
            let s = &self.meter.0;
            s.metrics.memory_limit_hits.add(1, &s.attrs);
        }
        answer
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let answer = self.limits.table_growing(current, desired, maximum);
        if !matches!(answer, Ok(true)) {
            let s = &self.meter.0;
            s.metrics.memory_limit_hits.add(1, &s.attrs);
        }
        answer
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }
    fn tables(&self) -> usize {
        self.limits.tables()
    }
    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl Drop for MeteredLimits {
    fn drop(&mut self) {
        self.meter.memory_changed(-(self.bytes as i64));
        let s = &self.meter.0;
        let live = s.live.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        s.metrics.instances.record(live, &s.attrs);
    }
}

/// The meters of every module role on a queue, by kind and digest.
#[derive(Clone, Default)]
pub struct QueueMeters(HashMap<(Kind, String), ModuleMeter>);

impl QueueMeters {
    pub fn insert(&mut self, kind: Kind, digest: &str, meter: ModuleMeter) {
        self.0.insert((kind, digest.to_string()), meter);
    }

    /// The meter of a module's role; a no-op one for a module the queue
    /// did not register (cannot happen in a running host).
    pub fn get(&self, kind: Kind, digest: &str) -> ModuleMeter {
        self.0
            .get(&(kind, digest.to_string()))
            .cloned()
            .unwrap_or_else(|| ModuleMeter::disabled(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::StoreLimitsBuilder;

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
    fn the_dashboard_uses_only_metrics_that_exist() {
        let text = include_str!("../../deploy/grafana/polyworker.json");
        let dashboard: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        let ours = [
            INSTANTIATIONS,
            INSTANTIATION_LATENCY,
            ACTIVATION_LATENCY,
            EPOCH_INTERRUPTIONS,
            MEMORY_LIMIT_HITS,
            LINEAR_MEMORY,
            INSTANCES,
            COMPONENTS_LOADED,
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

    #[test]
    fn limits_track_memory_and_refusals_and_release_on_drop() {
        let meter = HostMetrics::new(None).module("q", Kind::Workflow, "abc");
        let mut l = meter.limits(
            StoreLimitsBuilder::new()
                .memory_size(1 << 20)
                .trap_on_grow_failure(false)
                .build(),
        );
        assert!(l.memory_growing(0, 64 << 10, None).unwrap());
        assert!(l.memory_growing(64 << 10, 512 << 10, None).unwrap());
        assert_eq!(l.memory_bytes(), 512 << 10);
        assert_eq!(meter.0.memory.load(Ordering::Relaxed), 512 << 10);
        assert!(!l.memory_growing(512 << 10, 2 << 20, None).unwrap());
        assert_eq!(l.memory_bytes(), 512 << 10, "a refused growth adds nothing");
        assert_eq!(meter.0.live.load(Ordering::Relaxed), 1);
        drop(l);
        assert_eq!(meter.0.memory.load(Ordering::Relaxed), 0);
        assert_eq!(meter.0.live.load(Ordering::Relaxed), 0);
    }
}
