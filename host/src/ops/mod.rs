//! Operating the host: its metrics (beside core's, on one Prometheus
//! endpoint), `/healthz` and `/readyz`, logging, and a local dev server.
//!
//! - [`metrics`]: the host's own instruments, and their tenant labels.
//! - [`export`]: where metrics go: Prometheus, OTLP, or both ([`fanout`]).
//! - [`health`]: the health endpoints and the server probe behind `/readyz`.
//! - [`telemetry`]: logging setup (text or JSON).
//! - [`traces`]: spans over OTLP.
//! - [`tenants`]: per-tenant memory, cache, eviction and refusal metrics.
//! - [`registry`]: a fleet host's view of its registry.
//! - [`devserver`]: `temporal server start-dev` for `polyworker dev` and tests.

pub mod devserver;
pub mod export;
pub mod fanout;
pub mod health;
pub mod metrics;
pub mod registry;
pub mod telemetry;
pub mod tenants;
pub mod traces;

use std::net::SocketAddr;

/// Why an operations endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The Prometheus endpoint.
    #[error("cannot serve Prometheus metrics on {addr}")]
    Prometheus {
        /// The address configured.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An OTLP exporter.
    #[error("cannot export over OTLP to {endpoint}")]
    Otlp {
        /// The endpoint configured.
        endpoint: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The health endpoint.
    #[error("cannot serve health checks on {addr}")]
    Health {
        /// The address configured.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
