//! A test environment: one built component served by a real polyworker
//! host (the same loader, sandbox and workflow runner as production, its
//! activities left out), its activities mocked, on its own task queue of
//! the process's time-skipping test server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use polyworker_host::config::{ServerConfig, TaskQueueConfig};
use polyworker_host::runtime::EngineConfig;
use polyworker_host::{Config, Host};
use temporalio_client::{Connection, ConnectionOptions};
use temporalio_sdk_core::{CoreRuntime, RuntimeOptions, Worker};

use crate::TestError;
use crate::mock::{Mocks, OnActivity};
use crate::server::TestServer;

/// A component under test, with its activities mocked.
pub struct TestEnv {
    pub(crate) component: PathBuf,
    pub(crate) task_queue: String,
    pub(crate) connection: Connection,
    pub(crate) mocks: Arc<Mocks>,
    pub(crate) engine: EngineConfig,
    host: Option<Host>,
    activities: Arc<Worker>,
    serving: tokio::task::JoinHandle<()>,
    // Core's runtime of the mock worker; it must outlive the worker.
    _runtime: CoreRuntime,
    // The environment's own server and clock; stopped last.
    _server: TestServer,
}

/// A task queue of its own for each environment of the process.
fn task_queue() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "polyworker-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestEnv {
    /// Serves the workflows of the component at `path` (a built `.wasm`,
    /// the artifact that will be deployed); its activities are not run:
    /// each is answered by the mock set with [`TestEnv::on_activity`].
    pub async fn start(path: impl AsRef<Path>) -> Result<TestEnv, TestError> {
        let component = path.as_ref().to_path_buf();
        if !component.is_file() {
            return Err(TestError::Component(component));
        }
        let server = TestServer::start()?;
        let task_queue = task_queue();
        let engine = EngineConfig {
            // Many environments come and go in one test process.
            pooling: false,
            ..EngineConfig::default()
        };
        let mut queue = TaskQueueConfig::new(task_queue.clone(), vec![component.clone()]);
        queue.no_remote_activities = true;
        queue.graceful_shutdown_ms = 0;
        let config = Config {
            server: ServerConfig {
                address: server.address(),
                namespace: "default".into(),
                identity: Some("polyworker-testing".into()),
                ..Default::default()
            },
            engine: engine.clone(),
            task_queues: vec![queue],
            tenants: Vec::new(),
            capacity: Default::default(),
            metrics: Default::default(),
            traces: Default::default(),
            deployment: None,
        };
        let host = Host::start(config)
            .await
            .map_err(|e| TestError::Host(Box::new(e)))?;
        let url: temporalio_client::Url = server
            .address()
            .parse()
            .map_err(|e| TestError::Server(format!("{e}")))?;
        let connection = Connection::connect(
            ConnectionOptions::new(url)
                .identity("polyworker-testing".to_string())
                .build(),
        )
        .await
        .map_err(|e| TestError::Server(format!("cannot connect to the test server: {e}")))?;
        let runtime = RuntimeOptions::builder()
            .build()
            .map_err(|e| TestError::Worker(e.to_string()))
            .and_then(|o| {
                CoreRuntime::new_assume_tokio(o).map_err(|e| TestError::Worker(e.to_string()))
            })?;
        let mocks = Arc::new(Mocks::default());
        let (activities, serving) =
            crate::worker::start(&runtime, connection.clone(), &task_queue, mocks.clone()).await?;
        Ok(TestEnv {
            component,
            task_queue,
            connection,
            mocks,
            engine,
            host: Some(host),
            activities,
            serving,
            _runtime: runtime,
            _server: server,
        })
    }

    /// Mocks the activity type `activity_type` (as the Go SDK's
    /// `env.OnActivity(...).Return(...)`).
    pub fn on_activity(&self, activity_type: &str) -> OnActivity {
        OnActivity {
            mocks: self.mocks.clone(),
            activity_type: activity_type.to_string(),
        }
    }

    /// Answers every activity type that has no mock of its own with
    /// `handler` (a mock in another language, over `polyworker-test`).
    pub fn on_every_activity(&self, handler: crate::mock::Handler) {
        self.mocks.handle_all(handler);
    }

    /// The task queue the environment's workflows run on.
    pub fn task_queue(&self) -> &str {
        &self.task_queue
    }

    /// Stops the host and the mock worker (a hanging mock's attempt is
    /// cancelled).
    pub async fn shutdown(self) {
        let TestEnv {
            host,
            activities,
            serving,
            ..
        } = self;
        if let Some(h) = host {
            h.shutdown().await;
        }
        activities.initiate_shutdown();
        let _ = serving.await;
        if let Ok(w) = Arc::try_unwrap(activities) {
            w.finalize_shutdown().await;
        }
    }
}
