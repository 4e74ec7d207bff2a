//! One meter recording into several: core takes a single meter, and the
//! host may export to Prometheus and over OTLP at once.
//!
//! Attribute sets are made once in every inner meter and carried together
//! (core's `Dynamic` attributes), so recording a value costs one record per
//! inner meter and no conversion.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use temporalio_common::telemetry::metrics::core::CustomMetricAttributes;
use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, CounterBase, Gauge, GaugeBase, GaugeF64, GaugeF64Base, Histogram,
    HistogramBase, HistogramDuration, HistogramDurationBase, HistogramF64, HistogramF64Base,
    MetricAttributable, MetricAttributes, MetricParameters, NewAttributes, UpDownCounter,
    UpDownCounterBase,
};

/// Records into every inner meter.
#[derive(Debug)]
pub struct FanOut {
    meters: Vec<Arc<dyn CoreMeter>>,
}

/// One attribute set, as each inner meter made it (in the meters' order).
#[derive(Debug)]
struct FanAttributes(Vec<MetricAttributes>);

impl CustomMetricAttributes for FanAttributes {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl FanOut {
    /// A meter over `meters`.
    pub fn new(meters: Vec<Arc<dyn CoreMeter>>) -> FanOut {
        FanOut { meters }
    }
}

/// The inner meters' attribute sets inside `attributes` (made by a
/// [`FanOut`]); anything else leaves each meter its empty set.
fn parts(attributes: &MetricAttributes, n: usize) -> Vec<MetricAttributes> {
    if let MetricAttributes::Dynamic(d) = attributes
        && let Ok(fan) = d.clone().as_any().downcast::<FanAttributes>()
    {
        return fan.0.clone();
    }
    vec![MetricAttributes::Empty; n]
}

impl CoreMeter for FanOut {
    fn new_attributes(&self, attribs: NewAttributes) -> MetricAttributes {
        let each = self
            .meters
            .iter()
            .map(|m| m.new_attributes(attribs.clone()))
            .collect();
        MetricAttributes::Dynamic(Arc::new(FanAttributes(each)))
    }

    fn extend_attributes(
        &self,
        existing: MetricAttributes,
        attribs: NewAttributes,
    ) -> MetricAttributes {
        let each = parts(&existing, self.meters.len())
            .into_iter()
            .zip(&self.meters)
            .map(|(a, m)| m.extend_attributes(a, attribs.clone()))
            .collect();
        MetricAttributes::Dynamic(Arc::new(FanAttributes(each)))
    }

    fn counter(&self, params: MetricParameters) -> Counter {
        let each = self
            .meters
            .iter()
            .map(|m| m.counter(params.clone()))
            .collect();
        Counter::new(Arc::new(Fan(each)))
    }
    fn histogram(&self, params: MetricParameters) -> Histogram {
        let each = self
            .meters
            .iter()
            .map(|m| m.histogram(params.clone()))
            .collect();
        Histogram::new(Arc::new(Fan(each)))
    }
    fn histogram_f64(&self, params: MetricParameters) -> HistogramF64 {
        let each = (self.meters.iter())
            .map(|m| m.histogram_f64(params.clone()))
            .collect();
        HistogramF64::new(Arc::new(Fan(each)))
    }
    fn histogram_duration(&self, params: MetricParameters) -> HistogramDuration {
        let each = (self.meters.iter())
            .map(|m| m.histogram_duration(params.clone()))
            .collect();
        HistogramDuration::new(Arc::new(Fan(each)))
    }
    fn gauge(&self, params: MetricParameters) -> Gauge {
        let each = self
            .meters
            .iter()
            .map(|m| m.gauge(params.clone()))
            .collect();
        Gauge::new(Arc::new(Fan(each)))
    }
    fn gauge_f64(&self, params: MetricParameters) -> GaugeF64 {
        let each = self
            .meters
            .iter()
            .map(|m| m.gauge_f64(params.clone()))
            .collect();
        GaugeF64::new(Arc::new(Fan(each)))
    }
    fn up_down_counter(&self, params: MetricParameters) -> UpDownCounter {
        let each = (self.meters.iter())
            .map(|m| m.up_down_counter(params.clone()))
            .collect();
        UpDownCounter::new(Arc::new(Fan(each)))
    }
}

/// One instrument per inner meter.
struct Fan<I>(Vec<I>);

/// The instruments bound to their own attribute sets.
struct Bound<I>(Vec<(I, MetricAttributes)>);

/// Binding and recording, the same for every kind of instrument: `$value`
/// is what its `$record` method takes.
macro_rules! fan_instrument {
    ($instrument:ty, $base:ident, $base_fn:ident, $record:ident, $value:ty) => {
        impl MetricAttributable<Box<dyn $base>> for Fan<$instrument> {
            fn with_attributes(
                &self,
                attributes: &MetricAttributes,
            ) -> Result<Box<dyn $base>, Box<dyn std::error::Error>> {
                let each = parts(attributes, self.0.len());
                Ok(Box::new(Bound(self.0.iter().cloned().zip(each).collect())))
            }
        }

        impl $base for Bound<$instrument> {
            fn $base_fn(&self, value: $value) {
                for (instrument, attributes) in &self.0 {
                    instrument.$record(value, attributes);
                }
            }
        }
    };
}

fan_instrument!(Counter, CounterBase, adds, add, u64);
fan_instrument!(Histogram, HistogramBase, records, record, u64);
fan_instrument!(HistogramF64, HistogramF64Base, records, record, f64);
fan_instrument!(
    HistogramDuration,
    HistogramDurationBase,
    records,
    record,
    Duration
);
fan_instrument!(Gauge, GaugeBase, records, record, u64);
fan_instrument!(GaugeF64, GaugeF64Base, records, record, f64);
fan_instrument!(UpDownCounter, UpDownCounterBase, adds, add, i64);
