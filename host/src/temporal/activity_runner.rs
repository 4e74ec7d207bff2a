//! The activity poll loop: each task runs in its own store
//! ([`super::attempt`]), concurrently, up to the queue's slot limit (core
//! hands out no more tasks than slots).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::{ActivityCancelReason, activity_task};
use temporalio_common::protos::coresdk::{ActivityHeartbeat, ActivityTaskCompletion};
use temporalio_sdk_core::{PollError, Worker};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info_span};

use super::attempt::{attempt, failed};
use super::convert::payload_to_core;
use super::queue::Queue;
use super::trace;
use crate::runtime::activity::{AttemptControl, HeartbeatFn};
use crate::runtime::bindings::polyworker::worker::activity_types::CancelReason;
use opentelemetry::trace::TraceContextExt as _;

/// The attempts in flight, by task token, for delivering cancellations.
type Attempts = Arc<Mutex<HashMap<Vec<u8>, Arc<AttemptControl>>>>;

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

/// An attempt's outcome for its span, and the failure's message.
fn outcome_of(result: &ActivityExecutionResult) -> (&'static str, Option<String>) {
    use temporalio_common::protos::coresdk::activity_result::activity_execution_result::Status;
    match &result.status {
        Some(Status::Completed(_)) => ("completed", None),
        Some(Status::Failed(f)) => (
            "failed",
            Some(
                f.failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .unwrap_or_default(),
            ),
        ),
        Some(Status::Cancelled(_)) => ("cancelled", None),
        Some(Status::WillCompleteAsync(_)) => ("pending", None),
        None => ("unknown", None),
    }
}

/// Records the guest's heartbeats with core, within the queue's payload limits.
fn heartbeat(worker: Arc<Worker>, task_token: Vec<u8>, queue: &Queue) -> HeartbeatFn {
    let limits = queue.bounds.payloads;
    Box::new(move |details| {
        let details = details
            .into_iter()
            .map(|p| payload_to_core(p, &limits))
            .collect::<Result<Vec<_>, _>>()?;
        worker.record_activity_heartbeat(ActivityHeartbeat {
            task_token: task_token.clone(),
            details,
        });
        Ok(())
    })
}

/// Polls activity tasks until core reports shutdown. Attempts run on
/// `executor`: a runtime of their own, so guests busy with CPU share the
/// machine's cores with the pollers instead of queueing in front of them.
pub async fn run_activities(
    worker: Arc<Worker>,
    queue: Arc<Queue>,
    executor: tokio::runtime::Handle,
) {
    let running: Attempts = Arc::default();
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
                    trace_id = tracing::field::Empty,
                    span_id = tracing::field::Empty,
                );
                let otel = queue.tracer.as_ref().map(|tracer| {
                    trace::activity_attempt(
                        tracer,
                        &queue,
                        &start.header_fields,
                        &start.activity_type,
                        &start.activity_id,
                        start.attempt,
                    )
                });
                if let Some(s) = &otel {
                    let sc = opentelemetry::trace::Span::span_context(s);
                    span.record("trace_id", sc.trace_id().to_string().as_str());
                    span.record("span_id", sc.span_id().to_string().as_str());
                }
                let control = AttemptControl::new(heartbeat(worker.clone(), token.clone(), &queue));
                // The guest's view of the trace: its span, or what scheduled it.
                let cx = match &otel {
                    Some(s) => opentelemetry::Context::new().with_remote_span_context(
                        opentelemetry::trace::Span::span_context(s).clone(),
                    ),
                    None => trace::extract(&start.header_fields).unwrap_or_default(),
                };
                if let Some(tp) = trace::traceparent(&cx) {
                    control.set_trace_parent(tp);
                }
                running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(token.clone(), control.clone());
                let (worker, queue, running) = (worker.clone(), queue.clone(), running.clone());
                let executor = executor.clone();
                // The guest's log lines, on the executor, carry the span's ids too.
                let in_attempt = span.clone();
                tasks.spawn(
                    async move {
                        let q = queue.clone();
                        let t = token.clone();
                        let result = match executor
                            .spawn(
                                async move { attempt(&q, t, start, control).await }
                                    .instrument(in_attempt),
                            )
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
                        if let Some(otel) = otel {
                            let (outcome, error) = outcome_of(&result);
                            trace::end_attempt(otel, outcome, error.as_deref());
                        }
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
