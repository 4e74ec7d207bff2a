//! What every worker of the host shares on the Temporal side: core's
//! runtime, one connection to the frontend, the host's identity and
//! namespace, and the runtime activity attempts run on.

use std::time::Duration;

use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::telemetry::TelemetryOptions;
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

/// Connects to the frontend at `address` (one connection, shared by every
/// worker).
pub async fn connect(address: &str, identity: &str) -> Result<Connection, TemporalError> {
    let connect_err = |source: Box<dyn std::error::Error + Send + Sync>| TemporalError::Connect {
        address: address.to_string(),
        source,
    };
    let url = url::Url::parse(address).map_err(|e| connect_err(Box::new(e)))?;
    Connection::connect(
        ConnectionOptions::new(url)
            .identity(identity.to_string())
            .connect_timeout(Duration::from_secs(10))
            .build(),
    )
    .await
    .map_err(|e| connect_err(e.into()))
}

/// The runtime activity attempts run on. Dropping a runtime inside async
/// code would block (and panics), so it is let go in the background.
struct ActivityRuntime(Option<tokio::runtime::Runtime>);

impl Drop for ActivityRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Core's runtime and the server connection, shared by every worker.
pub struct Core {
    runtime: CoreRuntime,
    connection: Connection,
    identity: String,
    namespace: String,
    activity_runtime: ActivityRuntime,
}

impl Core {
    /// Starts the activity runtime and connects to `address`, on core's
    /// `runtime` (from [`Core::new_runtime`]).
    pub async fn connect(
        runtime: CoreRuntime,
        address: &str,
        namespace: &str,
        identity: String,
    ) -> Result<Core, TemporalError> {
        let activity_runtime = ActivityRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("polyworker-activity")
                .enable_all()
                .build()
                .map_err(TemporalError::ActivityRuntime)?,
        ));
        let connection = connect(address, &identity).await?;
        Ok(Core {
            runtime,
            connection,
            identity,
            namespace: namespace.to_string(),
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

    /// The connection to the frontend.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The host's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The namespace every queue is served in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Where activity attempts run: a runtime of their own, so guests busy
    /// with CPU share the machine's cores with the pollers instead of
    /// queueing in front of them.
    pub fn activity_executor(&self) -> tokio::runtime::Handle {
        match &self.activity_runtime.0 {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }

    /// Lets the activity runtime go; call once every worker has shut down.
    pub fn stop(&mut self) {
        if let Some(rt) = self.activity_runtime.0.take() {
            rt.shutdown_background();
        }
    }
}
