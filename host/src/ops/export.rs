//! Where metrics go: a Prometheus endpoint, an OpenTelemetry collector over
//! OTLP, or both (one [`FanOut`] meter feeding the two). Either way every
//! metric carries its tenant label ([`TenantLabels`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    HistogramBucketOverrides, OtelCollectorOptions, OtlpProtocol as CoreProtocol,
    PrometheusExporterOptions, TelemetryOptions, build_otlp_metric_exporter,
    start_prometheus_metric_exporter,
};
use tokio::task::AbortHandle;

use super::OpsError;
use super::fanout::FanOut;
use super::metrics::{ACTIVATION_LATENCY, INSTANTIATION_LATENCY, LATENCY_BUCKETS_US};
use super::metrics::{TenantLabels, TenantList};
use crate::config::{MetricsConfig, OtlpConfig, OtlpProtocol};

/// What the configured exporters give the host.
pub struct Exporters {
    /// What core's runtime is built with.
    pub telemetry: TelemetryOptions,
    /// The Prometheus endpoint: where it listens, and the handle that stops it.
    pub prometheus: Option<(SocketAddr, AbortHandle)>,
    /// The tenant labels over every exporter (a reload replaces the tenants).
    pub labels: Option<Arc<TenantLabels>>,
}

/// The host's latency histograms are in µs, not core's ms.
fn bucket_overrides() -> HistogramBucketOverrides {
    HistogramBucketOverrides {
        overrides: [INSTANTIATION_LATENCY, ACTIVATION_LATENCY]
            .map(|n| (n.to_string(), LATENCY_BUCKETS_US.to_vec()))
            .into(),
    }
}

/// Starts what `config` asks for; `identity` is the host's worker identity
/// (OTLP's `service.instance.id` unless the config says otherwise).
pub fn exporters(
    config: &MetricsConfig,
    identity: &str,
    tenants: &TenantList,
) -> Result<Exporters, OpsError> {
    let mut meters: Vec<Arc<dyn CoreMeter>> = Vec::new();
    let mut prometheus = None;
    if let Some(addr) = config.prometheus {
        let (meter, bound, handle) = prometheus_meter(addr)?;
        meters.push(meter);
        prometheus = Some((bound, handle));
    }
    if let Some(otlp) = &config.otlp {
        meters.push(otlp_meter(otlp, identity)?);
    }
    let inner: Arc<dyn CoreMeter> = match meters.len() {
        0 => {
            return Ok(Exporters {
                telemetry: TelemetryOptions::builder().build(),
                prometheus,
                labels: None,
            });
        }
        1 => meters.remove(0),
        _ => Arc::new(FanOut::new(meters)),
    };
    let labels = Arc::new(TenantLabels::new(inner, tenants));
    let meter: Arc<dyn CoreMeter> = labels.clone();
    Ok(Exporters {
        telemetry: TelemetryOptions::builder().metrics(meter).build(),
        prometheus,
        labels: Some(labels),
    })
}

/// Core's Prometheus exporter on `addr`.
fn prometheus_meter(
    addr: SocketAddr,
) -> Result<(Arc<dyn CoreMeter>, SocketAddr, AbortHandle), OpsError> {
    let opts = PrometheusExporterOptions::builder()
        .socket_addr(addr)
        .histogram_bucket_overrides(bucket_overrides())
        .build();
    let server = start_prometheus_metric_exporter(opts).map_err(|e| OpsError::Prometheus {
        addr,
        source: e.into(),
    })?;
    Ok((server.meter, server.bound_addr, server.abort_handle))
}

/// Core's OTLP exporter towards `config.endpoint`.
fn otlp_meter(config: &OtlpConfig, identity: &str) -> Result<Arc<dyn CoreMeter>, OpsError> {
    let url = config.metrics_url().map_err(|e| OpsError::Otlp {
        endpoint: config.endpoint.clone(),
        source: e.into(),
    })?;
    let mut resource = HashMap::from([
        ("service.name".to_string(), "polyworker".to_string()),
        ("service.instance.id".to_string(), identity.to_string()),
    ]);
    resource.extend(config.resource.clone());
    let opts = OtelCollectorOptions::builder()
        .url(url)
        .headers(config.headers.clone().into_iter().collect())
        .metric_periodicity(Duration::from_millis(config.interval_ms))
        .global_tags(resource)
        .histogram_bucket_overrides(bucket_overrides())
        .protocol(match config.protocol {
            OtlpProtocol::Grpc => CoreProtocol::Grpc,
            OtlpProtocol::Http => CoreProtocol::Http,
        })
        .build();
    let meter = build_otlp_metric_exporter(opts).map_err(|e| OpsError::Otlp {
        endpoint: config.endpoint.clone(),
        source: e.into(),
    })?;
    Ok(Arc::new(meter))
}
