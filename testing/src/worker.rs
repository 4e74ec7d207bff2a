//! The core activity worker that serves the mocks on the test's task queue.

use std::sync::Arc;
use std::time::Duration;

use polyworker_host::temporal::attempt::failed;
use temporalio_client::grpc::TestService;
use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::{Start, activity_task};
use temporalio_common::protos::coresdk::{ActivityHeartbeat, ActivityTaskCompletion};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::protos::temporal::api::testservice::v1::SleepRequest;
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::{
    CoreRuntime, PollError, Worker, WorkerConfig, WorkerVersioningStrategy, init_worker,
};

use crate::TestError;
use crate::mock::{Answer, Call, Mocks};

/// A payload's value: JSON when it is, else its text.
pub(crate) fn decode(p: &Payload) -> serde_json::Value {
    serde_json::from_slice(&p.data)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&p.data).into()))
}

/// A JSON payload, as Temporal's SDKs encode one.
pub(crate) fn encode(v: &serde_json::Value) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(v).unwrap_or_default(),
        ..Default::default()
    }
}

/// Starts core's activity worker on `task_queue`, answering from `mocks`.
pub(crate) async fn start(
    runtime: &CoreRuntime,
    connection: temporalio_client::Connection,
    task_queue: &str,
    mocks: Arc<Mocks>,
) -> Result<(Arc<Worker>, tokio::task::JoinHandle<()>), TestError> {
    let config = WorkerConfig::builder()
        .namespace("default".to_string())
        .task_queue(task_queue.to_string())
        .client_identity_override("polyworker-testing-mocks".to_string())
        .versioning_strategy(WorkerVersioningStrategy::None {
            build_id: String::new(),
        })
        .task_types(WorkerTaskTypes {
            enable_workflows: false,
            enable_local_activities: false,
            enable_remote_activities: true,
            enable_nexus: false,
        })
        .max_cached_workflows(0_usize)
        .build()
        .map_err(|e| TestError::Worker(e.to_string()))?;
    let connection_for_sleep = connection.clone();
    let worker = Arc::new(
        init_worker(runtime, config, connection).map_err(|e| TestError::Worker(e.to_string()))?,
    );
    let serving = tokio::spawn(serve(worker.clone(), mocks, connection_for_sleep));
    Ok((worker, serving))
}

/// The soonest the server times an attempt out: its start-to-close or
/// heartbeat timeout, or what is left of its schedule-to-close.
fn soonest_timeout(start: &Start) -> Option<Duration> {
    let std = |d: &prost_wkt_types::Duration| {
        Duration::new(
            u64::try_from(d.seconds).unwrap_or(0),
            u32::try_from(d.nanos).unwrap_or(0),
        )
    };
    [
        start.start_to_close_timeout.as_ref(),
        start.heartbeat_timeout.as_ref(),
        start.schedule_to_close_timeout.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(std)
    .filter(|d| !d.is_zero())
    .min()
}

/// A hanging attempt: the server keeps time from skipping while an
/// activity is in flight, so it is let skip (in virtual time) past the
/// attempt's timeout, which then fires as it would.
/// Once past it, the attempt is answered anyway (the server, which timed it
/// out, refuses the answer) so that core does not hold it until its own
/// timeout in real time.
async fn hang(
    worker: Arc<Worker>,
    connection: temporalio_client::Connection,
    token: Vec<u8>,
    start: Start,
) {
    let Some(timeout) = soonest_timeout(&start) else {
        // No timeout at all: it hangs until the environment stops.
        return;
    };
    let _ = virtual_sleep(&connection, timeout + Duration::from_millis(1)).await;
    let done = ActivityTaskCompletion {
        task_token: token,
        result: Some(failed("the mock hung".into(), "PolyworkerTestHung", true)),
    };
    let _ = worker.complete_activity_task(done).await;
}

async fn serve(worker: Arc<Worker>, mocks: Arc<Mocks>, connection: temporalio_client::Connection) {
    loop {
        let task = match worker.poll_activity_task().await {
            Ok(t) => t,
            Err(PollError::ShutDown) => return,
            Err(_) => continue,
        };
        let Some(activity_task::Variant::Start(start)) = task.variant else {
            // A cancel of a hanging attempt: it ends as cancelled.
            let done = ActivityTaskCompletion {
                task_token: task.task_token,
                result: Some(ActivityExecutionResult::cancel_from_details(None)),
            };
            let _ = worker.complete_activity_task(done).await;
            continue;
        };
        // Each attempt on its own: a mock answered by another process, or
        // one that waits, holds up no other attempt.
        let (worker, mocks, connection) = (worker.clone(), mocks.clone(), connection.clone());
        tokio::spawn(async move {
            let call = Call {
                activity_type: start.activity_type.clone(),
                input: start.input.iter().map(decode).collect(),
                attempt: start.attempt,
                activity_id: start.activity_id.clone(),
                heartbeat_details: start.heartbeat_details.iter().map(decode).collect(),
            };
            let answer = mocks.answer(call).await;
            attempt(worker, connection, task.task_token, start, answer).await;
        });
    }
}

/// Completes one attempt as `answer` says.
async fn attempt(
    worker: Arc<Worker>,
    connection: temporalio_client::Connection,
    token: Vec<u8>,
    start: Start,
    mut answer: Answer,
) {
    let answer = loop {
        answer = match answer {
            Answer::After { delay, then } => {
                let _ = virtual_sleep(&connection, delay).await;
                *then
            }
            Answer::Heartbeats { details, then } => {
                worker.record_activity_heartbeat(ActivityHeartbeat {
                    task_token: token.clone(),
                    details: details.iter().map(encode).collect(),
                });
                *then
            }
            done => break done,
        };
    };
    let result = match answer {
        Answer::Returns(v) => ActivityExecutionResult::ok(encode(&v)),
        Answer::Fails {
            message,
            error_type,
            non_retryable,
        } => failed(message, &error_type, non_retryable),
        // No completion: the server times the attempt out.
        Answer::Hangs => return hang(worker, connection, token, start).await,
        Answer::After { .. } | Answer::Heartbeats { .. } => return,
    };
    let done = ActivityTaskCompletion {
        task_token: token,
        result: Some(result),
    };
    let _ = worker.complete_activity_task(done).await;
}

/// Lets `d` of the server's virtual time pass (an in-flight attempt holds
/// time still otherwise).
pub(crate) async fn virtual_sleep(
    connection: &temporalio_client::Connection,
    d: Duration,
) -> Result<(), tonic::Status> {
    let req = SleepRequest {
        duration: Some(prost_wkt_types::Duration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }),
    };
    let mut c = connection.clone();
    TestService::unlock_time_skipping_with_sleep(&mut c, tonic::Request::new(req))
        .await
        .map(drop)
}
