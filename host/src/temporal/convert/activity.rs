//! Activity tasks → WIT `activity-info`; the guest's outcome → core's result.

use temporalio_common::protos::coresdk::activity_result::{
    ActivityExecutionResult, Cancellation, Failure as ResultFailure, Success, WillCompleteAsync,
    activity_execution_result::Status,
};
use temporalio_common::protos::coresdk::activity_task::Start;
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, CanceledFailureInfo, Failure as CoreFailure, failure::FailureInfo,
};

use super::Limits;
use super::commands::optional_payloads;
use super::failure::host_failure;
use super::payload::{
    duration_from_core, duration_to_core, payload_to_core, payloads_from_core, timestamp_from_core,
};
use crate::runtime::bindings::polyworker::worker::activity_types::{
    ActivityError, ActivityInfo, ActivityOutcome,
};
use crate::runtime::bindings::polyworker::worker::types::{Payload, RetryPolicy};

/// The attempt's facts, and its input payloads.
pub fn activity_info(
    task_token: Vec<u8>,
    s: Start,
    task_queue: &str,
) -> (ActivityInfo, Vec<Payload>) {
    let exec = s.workflow_execution.unwrap_or_default();
    let info = ActivityInfo {
        task_token,
        activity_id: s.activity_id,
        activity_type: s.activity_type,
        task_queue: task_queue.to_string(),
        workflow_namespace: s.workflow_namespace,
        workflow_type: s.workflow_type,
        workflow_id: exec.workflow_id,
        workflow_run_id: exec.run_id,
        attempt: s.attempt,
        scheduled_time: s.scheduled_time.as_ref().map(timestamp_from_core),
        current_attempt_scheduled_time: s
            .current_attempt_scheduled_time
            .as_ref()
            .map(timestamp_from_core),
        started_time: s.started_time.as_ref().map(timestamp_from_core),
        schedule_to_close_timeout: s.schedule_to_close_timeout.as_ref().map(duration_from_core),
        start_to_close_timeout: s.start_to_close_timeout.as_ref().map(duration_from_core),
        heartbeat_timeout: s.heartbeat_timeout.as_ref().map(duration_from_core),
        retry_policy: s.retry_policy.map(|r| RetryPolicy {
            initial_interval: r.initial_interval.as_ref().map(duration_from_core),
            backoff_coefficient: Some(r.backoff_coefficient),
            maximum_interval: r.maximum_interval.as_ref().map(duration_from_core),
            maximum_attempts: u32::try_from(r.maximum_attempts).unwrap_or(0),
            non_retryable_error_types: r.non_retryable_error_types,
        }),
        heartbeat_details: payloads_from_core(s.heartbeat_details),
        is_local: s.is_local,
    };
    (info, payloads_from_core(s.input))
}

fn failed(failure: CoreFailure) -> ActivityExecutionResult {
    ActivityExecutionResult {
        status: Some(Status::Failed(ResultFailure {
            failure: Some(failure),
            ..Default::default()
        })),
    }
}

/// The guest's answer as core's result. Anything invalid (an oversized
/// result, bad details) becomes a non-retryable failure that says why:
/// retrying the same code would produce the same garbage.
pub fn activity_result(
    r: Result<ActivityOutcome, ActivityError>,
    limits: &Limits,
) -> ActivityExecutionResult {
    let status = match r {
        Ok(ActivityOutcome::Completed(p)) => {
            match p.map(|p| payload_to_core(p, limits)).transpose() {
                Ok(result) => Status::Completed(Success { result }),
                Err(e) => {
                    return failed(host_failure(
                        format!("activity result rejected: {e}"),
                        "InvalidActivityResult",
                        true,
                    ));
                }
            }
        }
        Ok(ActivityOutcome::Pending) => Status::WillCompleteAsync(WillCompleteAsync {}),
        Err(ActivityError::Failed(d)) => {
            let details = match optional_payloads(d.info.details, limits) {
                Ok(d) => d,
                Err(e) => {
                    return failed(host_failure(
                        format!(
                            "activity error details rejected: {e} (error was: {})",
                            d.message
                        ),
                        "InvalidActivityResult",
                        true,
                    ));
                }
            };
            return failed(CoreFailure {
                message: d.message,
                source: "polyworker".into(),
                failure_info: Some(FailureInfo::ApplicationFailureInfo(
                    ApplicationFailureInfo {
                        r#type: d.info.type_,
                        non_retryable: d.info.non_retryable,
                        details,
                        next_retry_delay: d.info.next_retry_delay.map(duration_to_core),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            });
        }
        Err(ActivityError::Cancelled(details)) => Status::Cancelled(Cancellation {
            failure: Some(CoreFailure {
                message: "activity cancelled".into(),
                source: "polyworker".into(),
                failure_info: Some(FailureInfo::CanceledFailureInfo(CanceledFailureInfo {
                    details: optional_payloads(details, limits).unwrap_or(None),
                    ..Default::default()
                })),
                ..Default::default()
            }),
        }),
    };
    ActivityExecutionResult {
        status: Some(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::polyworker::worker::activity_types::ActivityErrorDetail;
    use crate::runtime::bindings::polyworker::worker::types::ApplicationFailure;
    use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;

    #[test]
    fn start_converts_to_info() {
        let (info, input) = activity_info(
            vec![1, 2],
            Start {
                activity_type: "GetRouteActivity".into(),
                activity_id: "3".into(),
                attempt: 2,
                workflow_type: "DataRoutingWorkflow".into(),
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: "wf".into(),
                    run_id: "r".into(),
                }),
                input: vec![Default::default()],
                ..Default::default()
            },
            "q",
        );
        assert_eq!(info.task_token, vec![1, 2]);
        assert_eq!(info.attempt, 2);
        assert_eq!(
            (info.workflow_id.as_str(), info.task_queue.as_str()),
            ("wf", "q")
        );
        assert_eq!(input.len(), 1);
    }

    #[test]
    fn outcomes_map_to_core_results() {
        let limits = Limits::default();
        assert!(matches!(
            activity_result(Ok(ActivityOutcome::Pending), &limits).status,
            Some(Status::WillCompleteAsync(_))
        ));
        let err = ActivityError::Failed(ActivityErrorDetail {
            message: "down".into(),
            info: ApplicationFailure {
                type_: "NetworkError".into(),
                non_retryable: false,
                details: vec![],
                next_retry_delay: None,
            },
        });
        match activity_result(Err(err), &limits).status {
            Some(Status::Failed(f)) => {
                let f = f.failure.unwrap();
                assert_eq!(f.message, "down");
                assert!(matches!(
                    f.failure_info,
                    Some(FailureInfo::ApplicationFailureInfo(a)) if a.r#type == "NetworkError" && !a.non_retryable
                ));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            activity_result(Err(ActivityError::Cancelled(vec![])), &limits).status,
            Some(Status::Cancelled(_))
        ));
    }

    #[test]
    fn oversized_results_fail_without_retry() {
        let limits = Limits {
            max_payload_bytes: 4,
            ..Limits::default()
        };
        let big = Payload {
            metadata: vec![],
            data: vec![0; 5],
        };
        match activity_result(Ok(ActivityOutcome::Completed(Some(big))), &limits).status {
            Some(Status::Failed(f)) => {
                let f = f.failure.unwrap();
                assert!(
                    f.message.contains("more than the 4-byte limit"),
                    "{}",
                    f.message
                );
                assert!(matches!(
                    f.failure_info,
                    Some(FailureInfo::ApplicationFailureInfo(a)) if a.non_retryable
                ));
            }
            other => panic!("{other:?}"),
        }
    }
}
