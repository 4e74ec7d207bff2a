//! `[metrics]`: the Prometheus endpoint, OTLP export, and the health
//! endpoints; `[traces]`: spans over OTLP.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Where the host publishes its metrics. Prometheus and OTLP may run
/// together: both get every metric.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve Temporal core's worker metrics for Prometheus at
    /// `http://<address>/metrics` (e.g. `"0.0.0.0:9464"`); unset, no endpoint.
    pub prometheus: Option<std::net::SocketAddr>,
    /// Push core's metrics and the host's to an OpenTelemetry collector.
    pub otlp: Option<OtlpConfig>,
    /// Serve `/healthz` and `/readyz` on this address; unset, no endpoint.
    pub health: Option<std::net::SocketAddr>,
}

/// `[traces]`: where workflow-task and activity-attempt spans go.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConfig {
    /// Push spans to an OpenTelemetry collector; unset, no spans (the
    /// trace context still passes from a workflow's start to its commands).
    pub otlp: Option<OtlpConfig>,
}

/// How OTLP reaches the collector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    /// OTLP/gRPC (the collector's port 4317).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318, path `/v1/metrics`).
    Http,
}

/// `[metrics.otlp]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// The collector, `http://host:port` (or `https://`). For HTTP, a URL
    /// without a path gets the signal's (`/v1/metrics`, `/v1/traces`).
    pub endpoint: String,
    /// `"grpc"` (default) or `"http"`.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// Sent with every export (e.g. an API key header a backend wants).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How often metrics (or batches of spans) are pushed, in milliseconds.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Resource attributes. `service.name` defaults to `polyworker`,
    /// `service.instance.id` to the host's worker identity.
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
}

fn default_interval() -> u64 {
    10_000
}

impl OtlpConfig {
    /// The URL the metrics exporter is given.
    pub fn metrics_url(&self) -> Result<url::Url, ConfigError> {
        self.url("metrics", "/v1/metrics")
    }

    /// The URL the span exporter is given.
    pub fn traces_url(&self) -> Result<url::Url, ConfigError> {
        self.url("traces", "/v1/traces")
    }

    /// The endpoint, with the signal's path for OTLP/HTTP when it has none.
    fn url(&self, table: &str, path: &str) -> Result<url::Url, ConfigError> {
        let key = format!("{table}.otlp.endpoint");
        let mut url = url::Url::parse(&self.endpoint)
            .map_err(|e| invalid(&key, format!("{:?} is not a URL: {e}", self.endpoint)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(key, "must be an http:// or https:// URL"));
        }
        if self.protocol == OtlpProtocol::Http && matches!(url.path(), "" | "/") {
            url.set_path(path);
        }
        Ok(url)
    }

    /// Checks the table at `[<table>.otlp]`.
    pub(super) fn validate(&self, table: &str) -> Result<(), ConfigError> {
        self.url(table, "/")?;
        if !(100..=3_600_000).contains(&self.interval_ms) {
            return Err(invalid(
                format!("{table}.otlp.interval_ms"),
                "must be between 100 and 3600000",
            ));
        }
        for (k, v) in &self.headers {
            let ok = http::HeaderName::from_bytes(k.as_bytes()).is_ok()
                && http::HeaderValue::from_str(v).is_ok();
            if !ok {
                return Err(invalid(
                    format!("{table}.otlp.headers.{k}"),
                    "is not a valid HTTP header",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otlp(text: &str) -> Result<OtlpConfig, String> {
        let c: OtlpConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate("metrics").map_err(|e| e.to_string())?;
        Ok(c)
    }

    #[test]
    fn an_http_endpoint_without_a_path_gets_the_metrics_path() {
        let c = otlp("endpoint = \"http://127.0.0.1:4318\"\nprotocol = \"http\"").unwrap();
        assert_eq!(
            c.metrics_url().unwrap().as_str(),
            "http://127.0.0.1:4318/v1/metrics"
        );
        let c = otlp("endpoint = \"http://c:4317\"").unwrap();
        assert_eq!(c.protocol, OtlpProtocol::Grpc);
        assert_eq!(c.interval_ms, 10_000);
        assert_eq!(c.metrics_url().unwrap().as_str(), "http://c:4317/");
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let e = otlp("endpoint = \"c:4317\"").unwrap_err();
        assert!(e.contains("metrics.otlp.endpoint"), "{e}");
        let e = otlp("endpoint = \"http://c\"\ninterval_ms = 5").unwrap_err();
        assert!(e.contains("metrics.otlp.interval_ms"), "{e}");
        let e = otlp("endpoint = \"http://c\"\nheaders = { \"bad key\" = \"v\" }").unwrap_err();
        assert!(e.contains("metrics.otlp.headers.bad key"), "{e}");
        let e = otlp("endpoint = \"http://c\"\nprotocol = \"udp\"").unwrap_err();
        assert!(e.contains("unknown variant `udp`"), "{e}");
    }
}
