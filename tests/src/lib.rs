//! Harness for polyworker's end-to-end tests.
//!
//! - [`server`]: one real Temporal dev server per test binary, on a free
//!   port, stopped when the test process exits (a watchdog shell kills it).
//! - [`guest`]: guest components, built once per run (`scripts/build-guests.sh`).
//! - [`TestHost`]: a polyworker host running in-process on its own task queue.
//! - [`Temporal`]: a thin gRPC client: start workflows, read histories.

pub mod fleet;
pub mod gateway;
pub mod noisy;
pub mod otlp;
pub mod process;
pub mod registry;
pub mod wait;
pub mod wasip1;

pub use process::{
    HostProcess, OwnServer, admin_cli, free_address, http_get, modules_cli, peak_rss_kib,
    polyworker_bin, polyworker_cli, polyworker_cli_with,
};
pub use wait::{eventually, eventually_blocking, holds_until, poll_until};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use polyworker_host::config::{Config, EngineConfig, ServerConfig, TaskQueueConfig};
use process::free_port;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::protos::temporal::api::common::v1::{
    Payload, Payloads, WorkflowExecution, WorkflowType,
};
use temporalio_common::protos::temporal::api::enums::v1::HistoryEventFilterType;
use temporalio_common::protos::temporal::api::history::v1::{HistoryEvent, history_event};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    GetWorkflowExecutionHistoryRequest, StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A unique name for a task queue or workflow id.
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    format!("{prefix}-{}-{t}-{n}", std::process::id())
}

/// The component built from guest crate `name` (e.g. `data_routing`).
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/build-guests.sh"))
            .status()
            .expect("run scripts/build-guests.sh");
        assert!(status.success(), "building the guest components failed");
    });
    let p = repo_root().join(format!("target/guests/wasm32-wasip2/release/{name}.wasm"));
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// The JavaScript component built from `examples/<name>` or `tests/fixtures-js/<name>`.
pub fn js_guest(name: &str) -> PathBuf {
    guest("data_routing"); // builds every fixture, JavaScript ones included
    let p = repo_root().join(format!("target/guests/js/{name}.wasm"));
    assert!(
        p.is_file(),
        "{} was not built (is npm installed?)",
        p.display()
    );
    p
}

/// The Python component built from `examples/<name>` or `tests/fixtures-py/<name>`.
pub fn py_guest(name: &str) -> PathBuf {
    guest("data_routing"); // builds every component, Python ones included
    let p = repo_root().join(format!("target/guests/py/{name}.wasm"));
    assert!(
        p.is_file(),
        "{} was not built (is componentize-py in .venv?)",
        p.display()
    );
    p
}

/// The C component built from `examples/<name>` or `tests/fixtures-c/<name>`.
pub fn c_guest(name: &str) -> PathBuf {
    guest("data_routing"); // builds every component, C ones included
    let p = repo_root().join(format!("target/guests/c/{name}.wasm"));
    assert!(
        p.is_file(),
        "{} was not built (is zig in .venv?)",
        p.display()
    );
    p
}

/// The Go component built from `examples/<name>` or `tests/fixtures-go/<name>`.
pub fn go_guest(name: &str) -> PathBuf {
    guest("data_routing"); // builds every component, Go ones included
    let p = repo_root().join(format!("target/guests/go/{name}.wasm"));
    assert!(
        p.is_file(),
        "{} was not built (is go in .venv?)",
        p.display()
    );
    p
}

pub fn temporal_cli() -> PathBuf {
    polyworker_host::ops::devserver::find_temporal()
        .or_else(|| Some(repo_root().join(".venv/bin/temporal")).filter(|p| p.is_file()))
        .expect("the temporal CLI is missing: run scripts/setup.sh")
}

/// Namespaces the shared dev server creates beside `default`, for tenants.
pub const TENANT_NAMESPACES: [&str; 2] = ["tenant-a", "tenant-b"];

/// The dev server shared by the tests of one binary.
pub struct Server {
    pub port: u16,
    /// Whether it runs with [`QUICK_DRAINAGE`].
    quick: bool,
    /// The watchdog shell; it ends with the test process, so it is never waited on.
    _watchdog: std::process::Child,
}

impl Server {
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Server settings that let a test see versions drain and be deleted in
/// seconds: the server re-checks drainage every 3 minutes by default, and
/// remembers a poller for 5 (refusing to delete its version meanwhile). A
/// poller is remembered from the start of each poll, so polls end sooner
/// than the memory lasts (an idle version would look unpolled, and the
/// server refuses to route to one).
const QUICK_DRAINAGE: [&str; 4] = [
    "matching.wv.VersionDrainageStatusRefreshInterval=\"1s\"",
    "matching.wv.VersionDrainageStatusVisibilityGracePeriod=\"1s\"",
    "matching.PollerHistoryTTL=\"10s\"",
    "matching.longPollExpirationInterval=\"4s\"",
];

static QUICK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes this test process's dev server one whose versions drain and can be
/// deleted within seconds ([`QUICK_DRAINAGE`]). Call it before anything
/// uses [`server`].
pub fn quick_drainage() {
    QUICK.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        server().quick,
        "the dev server was started before quick_drainage() was called"
    );
}

/// Starts (once per process) a dev server and waits until it serves.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let port = free_port().expect("free port");
        let cli = temporal_cli();
        let quick = QUICK.load(std::sync::atomic::Ordering::SeqCst);
        let mut settings = vec![polyworker_host::ops::devserver::POLLS_COMPLETE_ON_SHUTDOWN];
        if quick {
            settings.extend(QUICK_DRAINAGE);
        }
        // The shell outlives nothing: it stops the server as soon as the test
        // process ($PPID) is gone, so no run leaves a server behind.
        let script = r#"
            p=$1 h=$2 m=$3 a=$4 b=$5; shift 5
            "$0" server start-dev --headless --log-level error --ip 127.0.0.1 \
                --port "$p" --http-port "$h" --metrics-port "$m" \
                --namespace "$a" --namespace "$b" "$@" >/dev/null 2>&1 &
            child=$!
            while kill -0 "$PPID" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
            kill "$child" 2>/dev/null
            wait "$child"
        "#;
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&cli)
            .arg(port.to_string())
            .arg(free_port().expect("free port").to_string())
            .arg(free_port().expect("free port").to_string())
            .args(TENANT_NAMESPACES)
            .args(settings.iter().flat_map(|s| ["--dynamic-config-value", s]))
            .stdin(Stdio::null())
            .spawn()
            .expect("start the dev server");
        wait_until_serving(port);
        Server {
            port,
            quick,
            _watchdog: watchdog,
        }
    })
}

/// Whether the dev server on `port` serves the default namespace yet.
pub fn serving(port: u16) -> bool {
    Command::new(temporal_cli())
        .args([
            "operator",
            "namespace",
            "describe",
            "--namespace",
            "default",
        ])
        .arg("--address")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Blocks until the dev server on `port` serves (60 s at most).
fn wait_until_serving(port: u16) {
    eventually_blocking(
        Duration::from_secs(60),
        &format!("the dev server comes up on port {port}"),
        || {
            if serving(port) {
                Ok(())
            } else {
                Err("not serving")
            }
        },
    );
}

/// A task queue config with the harness's defaults.
pub fn queue(name: &str, modules: Vec<PathBuf>) -> TaskQueueConfig {
    TaskQueueConfig {
        max_cached_workflows: 100,
        max_concurrent_workflow_tasks: 10,
        max_concurrent_activities: 10,
        max_concurrent_local_activities: 10,
        graceful_shutdown_ms: 2_000,
        ..TaskQueueConfig::new(name, modules)
    }
}

/// The tests' engine settings: one compile cache under `target/` for every
/// test binary, and no pooling (many hosts come and go in one process).
pub fn engine() -> EngineConfig {
    EngineConfig {
        cache_dir: Some(
            repo_root()
                .join("target/polyworker-cache")
                .display()
                .to_string(),
        ),
        pooling: false,
        ..EngineConfig::default()
    }
}

/// A thin SDK whose fixtures the suites build (`tests/fixtures-<lang>/`).
#[derive(Debug, Clone, Copy)]
pub enum Sdk {
    /// JavaScript on QuickJS.
    Js,
    /// The same JavaScript on SpiderMonkey.
    JsSpiderMonkey,
    /// Python.
    Python,
    /// Go.
    Go,
    /// C.
    C,
}

impl Sdk {
    /// The fixture `name` built with this SDK.
    pub fn fixture(self, name: &str) -> PathBuf {
        match self {
            Sdk::Js => js_guest(name),
            Sdk::JsSpiderMonkey => js_guest(&format!("{name}-spidermonkey")),
            Sdk::Python => py_guest(name),
            Sdk::Go => go_guest(name),
            Sdk::C => c_guest(name),
        }
    }
}

/// A host config pointed at the shared server.
pub fn config(queues: Vec<TaskQueueConfig>) -> Config {
    Config {
        server: ServerConfig {
            address: server().address(),
            namespace: "default".into(),
            identity: Some("polyworker-tests".into()),
            ..Default::default()
        },
        engine: engine(),
        task_queues: queues,
        tenants: Vec::new(),
        capacity: Default::default(),
        metrics: Default::default(),
        traces: Default::default(),
        deployment: None,
    }
}

/// A polyworker host running in this process.
pub struct TestHost {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), polyworker_host::HostError>>,
}

impl TestHost {
    pub async fn start(config: Config) -> TestHost {
        init_logging();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(polyworker_host::run(config, async {
            let _ = rx.await;
        }));
        TestHost {
            stop: Some(tx),
            task,
        }
    }

    /// Shuts down gracefully and returns what `run` returned.
    pub async fn stop(mut self) -> Result<(), polyworker_host::HostError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(Duration::from_secs(60), &mut self.task).await {
            Ok(r) => r.expect("host task panicked"),
            Err(_) => panic!("host did not shut down within 60 s"),
        }
    }
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,polyworker_host=info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A host serving `modules` on a fresh task queue named after `prefix`, and
/// a client: the setup most tests start with.
pub async fn serve(prefix: &str, modules: Vec<PathBuf>) -> (String, TestHost, Temporal) {
    let task_queue = unique(prefix);
    let host = TestHost::start(config(vec![queue(&task_queue, modules)])).await;
    (task_queue, host, Temporal::connect().await)
}

/// Starts the example's transmit service on a free port; returns its URL.
pub async fn transmit_service(
    max_delay_ms: u64,
    silent_chance: f64,
    silent_routes: &[&str],
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = transmit_service::Listener::bind("127.0.0.1:0")
        .await
        .expect("bind transmit service");
    let addr = listener.local_addr().expect("local addr");
    let args = transmit_service::Args {
        listen: addr,
        temporal_address: server().address(),
        namespace: "default".into(),
        max_delay_ms,
        silent_chance,
        silent_routes: silent_routes.iter().map(|s| s.to_string()).collect(),
    };
    let task = tokio::spawn(async move {
        if let Err(e) = transmit_service::serve(args, listener).await {
            panic!("transmit service failed: {e:#}");
        }
    });
    (format!("http://{addr}"), task)
}

pub fn json_payload(v: &serde_json::Value) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(v).expect("json"),
        ..Default::default()
    }
}

/// A gRPC client for starting workflows and reading histories.
#[derive(Clone)]
pub struct Temporal {
    conn: Connection,
    namespace: String,
}

/// How a workflow ended.
#[derive(Debug)]
pub enum Outcome {
    Completed(serde_json::Value),
    Failed(String),
    Cancelled,
    Other(String),
}

impl Temporal {
    pub async fn connect() -> Temporal {
        Temporal::connect_to(&server().address()).await
    }

    /// A client of another server than the shared one.
    pub async fn connect_to(address: &str) -> Temporal {
        let url = url_of(address);
        let conn = Connection::connect(
            ConnectionOptions::new(url)
                .identity("polyworker-tests-client".to_string())
                .build(),
        )
        .await
        .expect("connect to the dev server");
        Temporal {
            conn,
            namespace: "default".into(),
        }
    }

    /// The same client, in `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Temporal {
        Temporal {
            conn: self.conn.clone(),
            namespace: namespace.to_string(),
        }
    }

    pub async fn start(
        &self,
        task_queue: &str,
        workflow_type: &str,
        workflow_id: &str,
        args: &[serde_json::Value],
    ) -> String {
        let req = StartWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_id: workflow_id.into(),
            workflow_type: Some(WorkflowType {
                name: workflow_type.into(),
            }),
            task_queue: Some(TaskQueue {
                name: task_queue.into(),
                ..Default::default()
            }),
            input: Some(Payloads {
                payloads: args.iter().map(json_payload).collect(),
            }),
            workflow_execution_timeout: Some(prost_wkt_types::Duration {
                seconds: 120,
                nanos: 0,
            }),
            request_id: unique("req"),
            identity: "polyworker-tests-client".into(),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        WorkflowService::start_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .expect("start workflow")
            .into_inner()
            .run_id
    }

    /// The whole history of the latest run of `workflow_id`.
    pub async fn history(&self, workflow_id: &str) -> Vec<HistoryEvent> {
        let mut events = Vec::new();
        let mut token = Vec::new();
        loop {
            let req = GetWorkflowExecutionHistoryRequest {
                namespace: self.namespace.clone(),
                execution: Some(WorkflowExecution {
                    workflow_id: workflow_id.into(),
                    run_id: String::new(),
                }),
                next_page_token: token,
                ..Default::default()
            };
            let mut c = self.conn.clone();
            let resp =
                WorkflowService::get_workflow_execution_history(&mut c, tonic::Request::new(req))
                    .await
                    .expect("get history")
                    .into_inner();
            events.extend(resp.history.map(|h| h.events).unwrap_or_default());
            if resp.next_page_token.is_empty() {
                return events;
            }
            token = resp.next_page_token;
        }
    }

    /// Waits (long-polling the close event) until the workflow ends.
    pub async fn outcome(&self, workflow_id: &str, within: Duration) -> Outcome {
        let what = format!("workflow {workflow_id} finishes");
        eventually(within, &what, || self.close_event(workflow_id)).await
    }

    /// The workflow's close event as an outcome, long-polling for up to
    /// 10 s; `Err` while it runs (or has continued as new).
    async fn close_event(&self, workflow_id: &str) -> Result<Outcome, &'static str> {
        let req = GetWorkflowExecutionHistoryRequest {
            namespace: self.namespace.clone(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            wait_new_event: true,
            history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
            ..Default::default()
        };
        let mut c = self.conn.clone();
        let resp = tokio::time::timeout(
            Duration::from_secs(10),
            WorkflowService::get_workflow_execution_history(&mut c, tonic::Request::new(req)),
        )
        .await;
        let Ok(Ok(resp)) = resp else {
            return Err("no close event yet");
        };
        let events = resp
            .into_inner()
            .history
            .map(|h| h.events)
            .unwrap_or_default();
        let e = events.into_iter().next().ok_or("no close event yet")?;
        Ok(match e.attributes {
            Some(history_event::Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                let p = a.result.and_then(|p| p.payloads.into_iter().next());
                Outcome::Completed(
                    p.map(|p| serde_json::from_slice(&p.data).expect("json result"))
                        .unwrap_or(serde_json::Value::Null),
                )
            }
            Some(history_event::Attributes::WorkflowExecutionFailedEventAttributes(a)) => {
                Outcome::Failed(a.failure.map(|f| f.message).unwrap_or_default())
            }
            Some(history_event::Attributes::WorkflowExecutionCanceledEventAttributes(_)) => {
                Outcome::Cancelled
            }
            // A new run continues the workflow: wait for the latest.
            Some(history_event::Attributes::WorkflowExecutionContinuedAsNewEventAttributes(_)) => {
                return Err("continued as new; waiting for the latest run");
            }
            other => Outcome::Other(format!("{other:?}")),
        })
    }

    /// Polls the history until an event matches (no sleeps to wait for state:
    /// each poll is a request; the deadline bounds it).
    pub async fn wait_for_event(
        &self,
        workflow_id: &str,
        within: Duration,
        pred: impl Fn(&HistoryEvent) -> bool,
    ) -> HistoryEvent {
        let what = format!("a matching event in {workflow_id}");
        eventually(within, &what, || async {
            let history = self.history(workflow_id).await;
            let len = history.len();
            history
                .into_iter()
                .find(|e| pred(e))
                .ok_or(format!("{len} events, none matching"))
        })
        .await
    }

    /// Waits for the first failed workflow task of `workflow_id`: its
    /// message, and how long the task ran by the server's clock (from its
    /// started event to its failed event).
    pub async fn task_failure(&self, workflow_id: &str, within: Duration) -> (String, Duration) {
        use history_event::Attributes;
        let failed = self
            .wait_for_event(workflow_id, within, |e| {
                matches!(
                    e.attributes,
                    Some(Attributes::WorkflowTaskFailedEventAttributes(_))
                )
            })
            .await;
        let Some(Attributes::WorkflowTaskFailedEventAttributes(a)) = &failed.attributes else {
            unreachable!()
        };
        let started = self
            .history(workflow_id)
            .await
            .into_iter()
            .find(|e| e.event_id == a.started_event_id)
            .expect("the failed task's started event");
        let at = |e: &HistoryEvent| {
            let t = e.event_time.expect("event time");
            Duration::new(t.seconds as u64, t.nanos as u32)
        };
        let message = a
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        (message, at(&failed).saturating_sub(at(&started)))
    }

    /// Waits until the workflow has a pending activity a worker has started
    /// (history records the start only when the activity closes).
    pub async fn wait_for_started_activity(&self, workflow_id: &str, within: Duration) {
        use temporalio_common::protos::temporal::api::enums::v1::PendingActivityState;
        use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;
        let what = format!("a started activity in {workflow_id}");
        eventually(within, &what, || async {
            let req = DescribeWorkflowExecutionRequest {
                namespace: self.namespace.clone(),
                execution: Some(WorkflowExecution {
                    workflow_id: workflow_id.into(),
                    run_id: String::new(),
                }),
            };
            let mut c = self.conn.clone();
            let resp =
                WorkflowService::describe_workflow_execution(&mut c, tonic::Request::new(req))
                    .await
                    .map_err(|e| e.message().to_string())?;
            let started = resp
                .into_inner()
                .pending_activities
                .iter()
                .any(|a| a.state == PendingActivityState::Started as i32);
            if started {
                Ok(())
            } else {
                Err("none started yet".to_string())
            }
        })
        .await
    }

    /// Sends a signal with one JSON argument.
    pub async fn signal(&self, workflow_id: &str, name: &str, arg: serde_json::Value) {
        use temporalio_common::protos::temporal::api::workflowservice::v1::SignalWorkflowExecutionRequest;
        let req = SignalWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            signal_name: name.into(),
            input: Some(Payloads {
                payloads: vec![json_payload(&arg)],
            }),
            identity: "polyworker-tests-client".into(),
            request_id: unique("signal"),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        WorkflowService::signal_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .expect("signal");
    }

    /// Runs a query and decodes its JSON answer.
    pub async fn query(&self, workflow_id: &str, query_type: &str) -> serde_json::Value {
        use temporalio_common::protos::temporal::api::query::v1::WorkflowQuery;
        use temporalio_common::protos::temporal::api::workflowservice::v1::QueryWorkflowRequest;
        let req = QueryWorkflowRequest {
            namespace: self.namespace.clone(),
            execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            query: Some(WorkflowQuery {
                query_type: query_type.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        let resp = WorkflowService::query_workflow(&mut c, tonic::Request::new(req))
            .await
            .expect("query")
            .into_inner();
        let p = resp
            .query_result
            .and_then(|p| p.payloads.into_iter().next())
            .expect("a query answer");
        serde_json::from_slice(&p.data).expect("JSON answer")
    }

    /// Runs an update with one JSON argument and waits for its outcome:
    /// `Ok(value)` or `Err(failure message)` (rejected or failed).
    pub async fn update(
        &self,
        workflow_id: &str,
        name: &str,
        arg: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        use temporalio_common::protos::temporal::api::enums::v1::UpdateWorkflowExecutionLifecycleStage;
        use temporalio_common::protos::temporal::api::update::v1::{
            Input, Meta, Request, WaitPolicy, outcome,
        };
        use temporalio_common::protos::temporal::api::workflowservice::v1::UpdateWorkflowExecutionRequest;
        let req = UpdateWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            wait_policy: Some(WaitPolicy {
                lifecycle_stage: UpdateWorkflowExecutionLifecycleStage::Completed as i32,
            }),
            request: Some(Request {
                meta: Some(Meta {
                    update_id: unique("update"),
                    identity: "polyworker-tests-client".into(),
                }),
                input: Some(Input {
                    name: name.into(),
                    args: Some(Payloads {
                        payloads: vec![json_payload(&arg)],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        let resp = WorkflowService::update_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .map_err(|e| e.message().to_string())?
            .into_inner();
        match resp.outcome.and_then(|o| o.value) {
            Some(outcome::Value::Success(p)) => Ok(p
                .payloads
                .first()
                .map(|p| serde_json::from_slice(&p.data).expect("JSON"))
                .unwrap_or(serde_json::Value::Null)),
            Some(outcome::Value::Failure(f)) => Err(f.message),
            None => Err("no outcome".into()),
        }
    }

    /// Requests cancellation of the workflow.
    pub async fn cancel(&self, workflow_id: &str) {
        use temporalio_common::protos::temporal::api::workflowservice::v1::RequestCancelWorkflowExecutionRequest;
        let req = RequestCancelWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            identity: "polyworker-tests-client".into(),
            request_id: unique("cancel"),
            reason: "test".into(),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        WorkflowService::request_cancel_workflow_execution(&mut c, tonic::Request::new(req))
            .await
            .expect("cancel");
    }

    pub async fn terminate(&self, workflow_id: &str) {
        let req = TerminateWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: workflow_id.into(),
                run_id: String::new(),
            }),
            reason: "test cleanup".into(),
            ..Default::default()
        };
        let mut c = self.conn.clone();
        let _ =
            WorkflowService::terminate_workflow_execution(&mut c, tonic::Request::new(req)).await;
    }
}

fn url_of(s: &str) -> temporalio_client::Url {
    temporalio_client::Url::parse(s).expect("url")
}
