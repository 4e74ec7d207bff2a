//! The activity poll loop: each task runs in its own store, concurrently,
//! up to the queue's slot limit (core hands out no more tasks than slots).

use crate::metrics::Kind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::{
    ActivityCancelReason, Start, activity_task,
};
use temporalio_common::protos::coresdk::{ActivityHeartbeat, ActivityTaskCompletion};
use temporalio_sdk_core::{PollError, Worker};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info_span, warn};
use wasmtime::Store;

use super::sandbox::{ActivitySandbox, ActivityState, AttemptControl};
use crate::bindings::polyworker::worker::activity_types::CancelReason;
use crate::convert::{self, activity_result, host_failure};
use crate::guest_log::LogTags;
use crate::queue::Queue;

/// How long a cancelled activity may keep running before it is interrupted.
pub const CANCEL_GRACE: Duration = Duration::from_secs(5);

type Running = Arc<Mutex<HashMap<Vec<u8>, Arc<AttemptControl>>>>;

/// How long an attempt interrupted by its own timeout waits for core to
/// confirm the timeout (core's local timeout buffer is 5 s) before reporting.
const TIMEOUT_REPORT_WAIT: Duration = Duration::from_secs(10);

fn cancel_reason(r: i32) -> CancelReason {
    match ActivityCancelReason::try_from(r) {
        Ok(ActivityCancelReason::Cancelled) => CancelReason::Cancelled,
        Ok(ActivityCancelReason::TimedOut) => CancelReason::TimedOut,
        Ok(ActivityCancelReason::WorkerShutdown) => CancelReason::WorkerShutdown,
        Ok(ActivityCancelReason::Paused) => CancelReason::Paused,
        Ok(ActivityCancelReason::Reset) => CancelReason::Reset,
        _ => CancelReason::NotFound,
    }
}

fn failed(message: String, error_type: &str, non_retryable: bool) -> ActivityExecutionResult {
    ActivityExecutionResult::fail(host_failure(message, error_type, non_retryable))
}

/// Runs one attempt and returns what to report to core.
async fn attempt(
    queue: &Queue,
    task_token: Vec<u8>,
    start: Start,
    control: Arc<AttemptControl>,
) -> ActivityExecutionResult {
    let (info, input) = convert::activity_info(task_token, start, &queue.name);
    let started = Instant::now();
    let start_to_close = info.start_to_close_timeout.map(Duration::from_nanos);
    // Schedule-to-close counts from when the first attempt was scheduled.
    let schedule_to_close = info
        .schedule_to_close_timeout
        .filter(|n| *n > 0)
        .zip(info.scheduled_time)
        .map(|(timeout, scheduled)| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64;
            let left = scheduled.saturating_add(timeout).saturating_sub(now);
            started + Duration::from_nanos(left)
        });
    let heartbeat_timeout = info
        .heartbeat_timeout
        .filter(|n| *n > 0)
        .map(Duration::from_nanos);
    let Some(module) = queue.activities.get(&info.activity_type) else {
        return failed(
            format!(
                "no module on task queue {:?} defines activity type {:?} (types served here: {})",
                queue.name,
                info.activity_type,
                Queue::known(&queue.activities)
            ),
            "PolyworkerUnknownActivityType",
            true,
        );
    };
    let Some(role) = module.activity.as_ref() else {
        return failed(
            "module lost its activity role".into(),
            "PolyworkerBug",
            true,
        );
    };
    let meter = queue.meters.get(Kind::Activity, &module.digest);
    let state = ActivityState::new(ActivitySandbox {
        env: &queue.env,
        preopens: &queue.preopens,
        allowlist: queue.allowlist.clone(),
        memory_bytes: queue.activity_memory_bytes,
        meter: meter.clone(),
        tags: LogTags {
            namespace: queue.namespace.clone(),
            module_digest: module.digest.clone(),
            task_queue: queue.name.clone(),
            workflow_type: info.workflow_type.clone(),
            workflow_id: info.workflow_id.clone(),
            run_id: info.workflow_run_id.clone(),
            activity_type: Some(info.activity_type.clone()),
            attempt: Some(info.attempt),
        },
        control: control.clone(),
        max_payload_bytes: queue.limits.max_payload_bytes,
    });
    let state = match state {
        Ok(s) => s,
        Err(e) => return failed(e, "PolyworkerSandbox", false),
    };
    let mut store = Store::new(role.pre.engine(), state);
    store.limiter(|s| &mut s.limits);
    // Yield to tokio every epoch tick so a CPU-bound activity cannot starve
    // the pollers or other tasks.
    store.epoch_deadline_async_yield_and_update(1);
    let call = async {
        let began = Instant::now();
        let instance = role.pre.instantiate_async(&mut store).await?;
        meter.instantiated(began.elapsed());
        let guest = role.indices.load(&mut store, &instance)?;
        guest.call_execute(&mut store, &info, &input).await
    };
    let interrupted = async {
        control.cancelled.notified().await;
        // A cancelled activity may clean up; one whose time is up (or that
        // the server forgot) has nothing left to report, so stop it at once.
        if matches!(
            control.reason(),
            Some(CancelReason::Cancelled | CancelReason::WorkerShutdown)
        ) {
            tokio::time::sleep(queue.cancel_grace).await;
        }
    };
    // The server times the attempt out; the guest must not run on unseen.
    let watchdog = async {
        loop {
            let mut next = start_to_close.map(|d| (started + d, "start-to-close"));
            if let Some(at) = schedule_to_close
                && next.is_none_or(|(t, _)| at < t)
            {
                next = Some((at, "schedule-to-close"));
            }
            if let Some(hb) = heartbeat_timeout {
                let at = control.last_heartbeat() + hb;
                if next.is_none_or(|(t, _)| at < t) {
                    next = Some((at, "heartbeat"));
                }
            }
            let Some((at, which)) = next else {
                return std::future::pending::<&str>().await;
            };
            tokio::time::sleep_until(at.into()).await;
            if Instant::now() >= at
                && (which != "heartbeat"
                    || control.last_heartbeat() + heartbeat_timeout.unwrap_or_default()
                        <= Instant::now())
            {
                return which;
            }
        }
    };
    tokio::select! {
        which = watchdog => {
            // The guest has stopped: its call is dropped with this branch.
            // Report only once the server has timed the attempt out (core
            // passes that on as a cancel), so the history records a timeout
            // rather than a failure that raced ahead of it.
            warn!(timeout = which, "activity interrupted: its {which} timeout passed");
            if control.reason().is_none() {
                let _ = tokio::time::timeout(TIMEOUT_REPORT_WAIT, control.cancelled.notified()).await;
            }
            failed(
                format!("activity interrupted: its {which} timeout passed"),
                "PolyworkerActivityTimeout",
                false,
            )
        }
        r = call => match r {
            Ok(outcome) => activity_result(outcome, &queue.limits),
            Err(e) => failed(
                format!(
                    "activity code trapped: {}",
                    crate::workflow::instance::classify(
                        e,
                        crate::workflow::RunLimits {
                            deadline: Duration::ZERO,
                            memory_bytes: queue.activity_memory_bytes,
                        },
                    )
                ),
                "PolyworkerGuestTrap",
                false,
            ),
        },
        _ = interrupted => {
            let reason = control.reason();
            warn!(?reason, "activity interrupted");
            match reason {
                Some(CancelReason::Cancelled) => ActivityExecutionResult::cancel_from_details(None),
                _ => failed(
                    format!("activity interrupted ({reason:?})"),
                    "PolyworkerActivityInterrupted",
                    false,
                ),
            }
        }
    }
}

/// Polls activity tasks until core reports shutdown. Attempts run on
/// `executor`: a runtime of their own, so guests busy with CPU share the
/// machine's cores with the pollers instead of queueing in front of them.
pub async fn run_activities(
    worker: Arc<Worker>,
    queue: Arc<Queue>,
    executor: tokio::runtime::Handle,
) {
    let running: Running = Arc::default();
    let mut tasks = JoinSet::new();
    loop {
        let task = match worker.poll_activity_task().await {
            Ok(t) => t,
            Err(PollError::ShutDown) => break,
            Err(e) => {
                error!(task_queue = %queue.name, error = %e, "activity polling failed; stopping this worker");
                worker.initiate_shutdown();
                continue;
            }
        };
        let token = task.task_token;
        match task.variant {
            Some(activity_task::Variant::Start(start)) => {
                let span = info_span!(
                    "activity",
                    namespace = %queue.namespace,
                    task_queue = %queue.name,
                    activity_type = %start.activity_type,
                    attempt = start.attempt,
                    workflow_type = %start.workflow_type,
                    workflow_id = %start.workflow_execution.as_ref().map(|e| e.workflow_id.as_str()).unwrap_or_default(),
                    run_id = %start.workflow_execution.as_ref().map(|e| e.run_id.as_str()).unwrap_or_default(),
                    module_digest = %queue.activities.get(&start.activity_type).map(|m| m.digest.as_str()).unwrap_or_default(),
                );
                let hb_worker = worker.clone();
                let hb_token = token.clone();
                let control = AttemptControl::new(Box::new(move |details| {
                    hb_worker.record_activity_heartbeat(ActivityHeartbeat {
                        task_token: hb_token.clone(),
                        details,
                    })
                }));
                running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(token.clone(), control.clone());
                let (worker, queue, running) = (worker.clone(), queue.clone(), running.clone());
                let executor = executor.clone();
                tasks.spawn(
                    async move {
                        let q = queue.clone();
                        let t = token.clone();
                        let result = match executor
                            .spawn(async move { attempt(&q, t, start, control).await })
                            .await
                        {
                            Ok(r) => r,
                            Err(e) => failed(
                                format!("activity task ended abnormally: {e}"),
                                "PolyworkerBug",
                                false,
                            ),
                        };
                        running
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&token);
                        let completion = ActivityTaskCompletion {
                            task_token: token,
                            result: Some(result),
                        };
                        if let Err(e) = worker.complete_activity_task(completion).await {
                            error!(error = %e, "core rejected the activity completion");
                        }
                    }
                    .instrument(span),
                );
            }
            Some(activity_task::Variant::Cancel(c)) => {
                let control = running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&token)
                    .cloned();
                if let Some(control) = control {
                    control.cancel(cancel_reason(c.reason));
                }
            }
            None => {}
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}
