//! How a fleet host sees its registry, for operators: a gauge that is 1
//! while the registry can be read, a counter of versions refused from it
//! (a blob that does not hash to its digest, a component that does not
//! load), and a detail on `/readyz`. The host stays ready while the
//! registry is down: it serves the versions it has.

use temporalio_common::telemetry::metrics::{
    Counter, Gauge, MetricAttributes, NewAttributes, TemporalMeter,
};

use super::health::Readiness;
use super::metrics::params;

/// 1 while the registry can be read, 0 while it cannot.
pub const REGISTRY_REACHABLE: &str = "polyworker_registry_reachable";
/// Versions refused from the registry.
pub const REGISTRY_REFUSALS: &str = "polyworker_registry_refusals";

/// Where convergence reports the registry's state.
#[derive(Clone)]
pub struct RegistryStatus {
    reachable: Gauge,
    refusals: Counter,
    none: MetricAttributes,
    readiness: Readiness,
}

impl RegistryStatus {
    /// Instruments on `meter`; the detail goes to `readiness`.
    pub fn new(meter: &TemporalMeter, readiness: Readiness) -> RegistryStatus {
        RegistryStatus {
            reachable: meter.gauge(params(
                REGISTRY_REACHABLE,
                "1 while the fleet's OCI registry can be read",
                "",
            )),
            refusals: meter.counter(params(
                REGISTRY_REFUSALS,
                "Versions refused from the registry (bad digest, invalid component)",
                "",
            )),
            none: meter.new_attributes(NewAttributes::from(Vec::new())),
            readiness,
        }
    }

    /// Records whether the last pass could read the registry.
    pub fn reachable(&self, yes: bool) {
        self.reachable.record(u64::from(yes), &self.none);
        self.readiness.set_registry_reachable(yes);
    }

    /// Counts a version refused.
    pub fn refused(&self) {
        self.refusals.add(1, &self.none);
    }
}
