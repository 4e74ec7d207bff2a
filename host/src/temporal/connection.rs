//! What every worker of the host shares on the Temporal side: core's
//! runtime, the host's identity and the runtime activity attempts run on;
//! and, per tenant, a [`Link`]: its namespace over a connection made with
//! its own credentials (plain, TLS, mTLS or an API key).

use std::collections::HashMap;
use std::time::Duration;

use temporalio_client::{ClientTlsOptions, Connection, ConnectionOptions, TlsOptions};
use temporalio_common::telemetry::TelemetryOptions;
use temporalio_common::telemetry::metrics::TemporalMeter;
use temporalio_sdk_core::{CoreRuntime, RuntimeOptions};

use super::TemporalError;

/// The identity shown in workflow histories: `configured`, or
/// `polyworker@<hostname>-<pid>`.
pub fn identity(configured: Option<&str>) -> String {
    if let Some(id) = configured {
        return id.to_string();
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("polyworker@{host}-{}", std::process::id())
}

/// TLS towards the frontend: the server's CA and name, and for mTLS the
/// client's certificate and key (PEM bytes, read by the layer above).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// The CA that signed the server's certificate; the system's roots when unset.
    pub server_ca: Option<Vec<u8>>,
    /// The name to verify the server's certificate against; the address's host when unset.
    pub server_name: Option<String>,
    /// The client certificate and private key, for mTLS.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

/// How to reach one frontend with one set of credentials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConnectionSettings {
    /// `http://host:port` or `https://host:port`.
    pub address: String,
    /// TLS, when the address is `https://` or TLS settings were given.
    pub tls: Option<TlsSettings>,
    /// Sent as `authorization: Bearer <key>` on every call.
    pub api_key: Option<String>,
}

impl ConnectionSettings {
    /// A plaintext connection to `address`.
    pub fn plain(address: impl Into<String>) -> ConnectionSettings {
        ConnectionSettings {
            address: address.into(),
            tls: None,
            api_key: None,
        }
    }
}

/// Keys and certificates are secrets: debug output names what is set only.
impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("address", &self.address)
            .field(
                "tls",
                &self
                    .tls
                    .as_ref()
                    .map(|t| (t.server_ca.is_some(), &t.server_name, t.client.is_some())),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn tls_options(t: &TlsSettings) -> TlsOptions {
    TlsOptions::builder()
        .maybe_server_root_ca_cert(t.server_ca.clone())
        .maybe_domain(t.server_name.clone())
        .maybe_client_tls_options(t.client.as_ref().map(|(cert, key)| {
            ClientTlsOptions::builder()
                .client_cert(cert.clone())
                .client_private_key(key.clone())
                .build()
        }))
        .build()
}

/// Connects to the frontend `settings` name, as `identity`; with `meter`,
/// the connection records core's request metrics (`temporal_request`,
/// `temporal_long_request`, their latencies and failures).
pub async fn connect_with(
    settings: &ConnectionSettings,
    identity: &str,
    meter: Option<TemporalMeter>,
) -> Result<Connection, TemporalError> {
    let address = &settings.address;
    let connect_err = |source: Box<dyn std::error::Error + Send + Sync>| TemporalError::Connect {
        address: address.to_string(),
        source,
    };
    let url = url::Url::parse(address).map_err(|e| connect_err(Box::new(e)))?;
    Connection::connect(
        ConnectionOptions::new(url)
            .identity(identity.to_string())
            .connect_timeout(Duration::from_secs(10))
            .maybe_tls_options(settings.tls.as_ref().map(tls_options))
            .maybe_api_key(settings.api_key.clone())
            .maybe_metrics_meter(meter)
            .build(),
    )
    .await
    .map_err(|e| connect_err(e.into()))
}

/// Connects to the frontend at `address` in plaintext.
pub async fn connect(address: &str, identity: &str) -> Result<Connection, TemporalError> {
    connect_with(&ConnectionSettings::plain(address), identity, None).await
}

/// One tenant's side of the server: its namespace, over its connection.
#[derive(Clone)]
pub struct Link {
    /// The namespace.
    pub namespace: String,
    /// Its connection (shared with tenants that have the same settings).
    pub connection: Connection,
    /// The host's identity.
    pub identity: String,
}

/// The connections made so far, by settings: tenants on one cluster with
/// the same credentials share one channel.
#[derive(Default)]
pub struct Connections {
    made: HashMap<ConnectionSettings, Connection>,
    meter: Option<TemporalMeter>,
}

impl Connections {
    /// No connections yet; those made record their requests on `meter`.
    pub fn new(meter: Option<TemporalMeter>) -> Connections {
        Connections {
            made: HashMap::new(),
            meter,
        }
    }

    /// The connection for `settings`, made on first use.
    pub async fn get(
        &mut self,
        settings: &ConnectionSettings,
        identity: &str,
    ) -> Result<Connection, TemporalError> {
        if let Some(c) = self.made.get(settings) {
            return Ok(c.clone());
        }
        let c = connect_with(settings, identity, self.meter.clone()).await?;
        self.made.insert(settings.clone(), c.clone());
        Ok(c)
    }
}

/// A runtime activity attempts run on (the host's, or a tenant's own).
/// Dropping a runtime inside async code would block (and panics), so it is
/// let go in the background.
pub struct ActivityRuntime(Option<tokio::runtime::Runtime>);

impl ActivityRuntime {
    /// A multi-threaded runtime whose threads are named `name`.
    pub fn new(name: &str) -> Result<ActivityRuntime, TemporalError> {
        Ok(ActivityRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .thread_name(name)
                .enable_all()
                .build()
                .map_err(TemporalError::ActivityRuntime)?,
        )))
    }

    /// Where attempts are spawned; the current runtime once stopped.
    pub fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }
}

impl Drop for ActivityRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Core's runtime, the host's identity and the activity runtime, shared by
/// every worker of every tenant.
pub struct Core {
    runtime: CoreRuntime,
    identity: String,
    activity_runtime: ActivityRuntime,
}

impl Core {
    /// Starts the activity runtime beside core's `runtime` (from
    /// [`Core::new_runtime`]).
    pub fn new(runtime: CoreRuntime, identity: String) -> Result<Core, TemporalError> {
        let activity_runtime = ActivityRuntime::new("polyworker-activity")?;
        Ok(Core {
            runtime,
            identity,
            activity_runtime,
        })
    }

    /// Core's runtime, on the current tokio runtime; its meter is the one
    /// the host's own metrics are recorded through.
    pub fn new_runtime(telemetry: TelemetryOptions) -> Result<CoreRuntime, TemporalError> {
        let options = RuntimeOptions::builder()
            .telemetry_options(telemetry)
            .build()
            .map_err(|e| TemporalError::Core(e.into()))?;
        CoreRuntime::new_assume_tokio(options).map_err(|e| TemporalError::Core(e.into()))
    }

    /// Core's runtime.
    pub fn core_runtime(&self) -> &CoreRuntime {
        &self.runtime
    }

    /// The host's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Where activity attempts run: a runtime of their own, so guests busy
    /// with CPU share the machine's cores with the pollers instead of
    /// queueing in front of them.
    pub fn activity_executor(&self) -> tokio::runtime::Handle {
        self.activity_runtime.handle()
    }

    /// Lets the activity runtime go; call once every worker has shut down.
    pub fn stop(&mut self) {
        if let Some(rt) = self.activity_runtime.0.take() {
            rt.shutdown_background();
        }
    }
}
