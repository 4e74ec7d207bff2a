//! Temporal failures: core's nested `Failure` ⇄ the WIT record with its cause
//! chain flattened.

use temporalio_common::protos::temporal::api::common::v1::{
    ActivityType, Payloads, WorkflowExecution, WorkflowType,
};
use temporalio_common::protos::temporal::api::failure::v1::{
    ActivityFailureInfo, ApplicationFailureInfo, CanceledFailureInfo,
    ChildWorkflowExecutionFailureInfo, Failure as CoreFailure, ServerFailureInfo,
    TerminatedFailureInfo, TimeoutFailureInfo, failure::FailureInfo,
};

use super::payload::{duration_from_core, duration_to_core, payloads_from_core, payloads_to_core};
use super::{ConvertError, Limits};
use crate::runtime::bindings::polyworker::worker::types::{
    ActivityFailure, ApplicationFailure, ChildWorkflowFailure, Failure, FailureCause, FailureKind,
    RetryState, TimeoutType,
};

/// Cause chains deeper than this are cut (a guest could build one of any length).
const MAX_CAUSES: usize = 32;

fn payloads(
    p: Option<Payloads>,
) -> Vec<crate::runtime::bindings::polyworker::worker::types::Payload> {
    payloads_from_core(p.map(|p| p.payloads).unwrap_or_default())
}

fn retry_state(v: i32) -> RetryState {
    match v {
        1 => RetryState::InProgress,
        2 => RetryState::NonRetryableFailure,
        3 => RetryState::Timeout,
        4 => RetryState::MaximumAttemptsReached,
        5 => RetryState::RetryPolicyNotSet,
        6 => RetryState::InternalServerError,
        7 => RetryState::CancelRequested,
        _ => RetryState::Unspecified,
    }
}

fn retry_state_to_core(r: RetryState) -> i32 {
    match r {
        RetryState::Unspecified => 0,
        RetryState::InProgress => 1,
        RetryState::NonRetryableFailure => 2,
        RetryState::Timeout => 3,
        RetryState::MaximumAttemptsReached => 4,
        RetryState::RetryPolicyNotSet => 5,
        RetryState::InternalServerError => 6,
        RetryState::CancelRequested => 7,
    }
}

fn timeout_type(v: i32) -> TimeoutType {
    match v {
        2 => TimeoutType::ScheduleToStart,
        3 => TimeoutType::ScheduleToClose,
        4 => TimeoutType::Heartbeat,
        _ => TimeoutType::StartToClose,
    }
}

fn timeout_type_to_core(t: TimeoutType) -> i32 {
    match t {
        TimeoutType::StartToClose => 1,
        TimeoutType::ScheduleToStart => 2,
        TimeoutType::ScheduleToClose => 3,
        TimeoutType::Heartbeat => 4,
    }
}

fn kind_from_core(info: Option<FailureInfo>) -> FailureKind {
    match info {
        Some(FailureInfo::ApplicationFailureInfo(a)) => {
            FailureKind::Application(ApplicationFailure {
                type_: a.r#type,
                non_retryable: a.non_retryable,
                details: payloads(a.details),
                next_retry_delay: a.next_retry_delay.as_ref().map(duration_from_core),
            })
        }
        Some(FailureInfo::CanceledFailureInfo(c)) => FailureKind::Cancelled(payloads(c.details)),
        Some(FailureInfo::TimeoutFailureInfo(t)) => FailureKind::Timeout((
            timeout_type(t.timeout_type),
            payloads(t.last_heartbeat_details),
        )),
        Some(FailureInfo::TerminatedFailureInfo(_)) => FailureKind::Terminated,
        Some(FailureInfo::ServerFailureInfo(s)) => FailureKind::Server(s.non_retryable),
        Some(FailureInfo::ActivityFailureInfo(a)) => FailureKind::Activity(ActivityFailure {
            activity_type: a.activity_type.map(|t| t.name).unwrap_or_default(),
            activity_id: a.activity_id,
            retry_state: retry_state(a.retry_state),
        }),
        Some(FailureInfo::ChildWorkflowExecutionFailureInfo(c)) => {
            let exec = c.workflow_execution.unwrap_or_default();
            FailureKind::ChildWorkflow(ChildWorkflowFailure {
                namespace: c.namespace,
                workflow_id: exec.workflow_id,
                run_id: exec.run_id,
                workflow_type: c.workflow_type.map(|t| t.name).unwrap_or_default(),
                retry_state: retry_state(c.retry_state),
            })
        }
        _ => FailureKind::Other,
    }
}

/// Core → WIT, flattening the cause chain.
pub fn failure_from_core(f: CoreFailure) -> Failure {
    let mut causes = Vec::new();
    let mut next = f.cause;
    while let Some(c) = next {
        if causes.len() == MAX_CAUSES {
            break;
        }
        let c = *c;
        causes.push(FailureCause {
            message: c.message,
            kind: kind_from_core(c.failure_info),
            stack_trace: c.stack_trace,
        });
        next = c.cause;
    }
    Failure {
        message: f.message,
        kind: kind_from_core(f.failure_info),
        stack_trace: f.stack_trace,
        causes,
    }
}

fn kind_to_core(kind: FailureKind, limits: &Limits) -> Result<Option<FailureInfo>, ConvertError> {
    let some_payloads = |p: Vec<_>| -> Result<Option<Payloads>, ConvertError> {
        if p.is_empty() {
            Ok(None)
        } else {
            Ok(Some(Payloads {
                payloads: payloads_to_core(p, limits)?,
            }))
        }
    };
    Ok(Some(match kind {
        FailureKind::Application(a) => {
            FailureInfo::ApplicationFailureInfo(ApplicationFailureInfo {
                r#type: a.type_,
                non_retryable: a.non_retryable,
                details: some_payloads(a.details)?,
                next_retry_delay: a.next_retry_delay.map(duration_to_core),
                ..Default::default()
            })
        }
        FailureKind::Cancelled(d) => FailureInfo::CanceledFailureInfo(CanceledFailureInfo {
            details: some_payloads(d)?,
            ..Default::default()
        }),
        FailureKind::Timeout((t, d)) => FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
            timeout_type: timeout_type_to_core(t),
            last_heartbeat_details: some_payloads(d)?,
        }),
        FailureKind::Terminated => {
            FailureInfo::TerminatedFailureInfo(TerminatedFailureInfo::default())
        }
        FailureKind::Server(non_retryable) => {
            FailureInfo::ServerFailureInfo(ServerFailureInfo { non_retryable })
        }
        FailureKind::Activity(a) => FailureInfo::ActivityFailureInfo(ActivityFailureInfo {
            activity_type: Some(ActivityType {
                name: a.activity_type,
            }),
            activity_id: a.activity_id,
            retry_state: retry_state_to_core(a.retry_state),
            ..Default::default()
        }),
        FailureKind::ChildWorkflow(c) => {
            FailureInfo::ChildWorkflowExecutionFailureInfo(ChildWorkflowExecutionFailureInfo {
                namespace: c.namespace,
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: c.workflow_id,
                    run_id: c.run_id,
                }),
                workflow_type: Some(WorkflowType {
                    name: c.workflow_type,
                }),
                retry_state: retry_state_to_core(c.retry_state),
                ..Default::default()
            })
        }
        FailureKind::Other => return Ok(None),
    }))
}

fn text(s: String, what: &'static str, limits: &Limits) -> Result<String, ConvertError> {
    if s.len() > limits.max_failure_text {
        return Err(ConvertError::TooLarge {
            what,
            len: s.len(),
            limit: limits.max_failure_text,
        });
    }
    Ok(s)
}

/// WIT → core, rebuilding the nested cause chain and checking sizes.
pub fn failure_to_core(f: Failure, limits: &Limits) -> Result<CoreFailure, ConvertError> {
    if f.causes.len() > MAX_CAUSES {
        return Err(ConvertError::TooMany {
            what: "failure cause chain",
            count: f.causes.len(),
            limit: MAX_CAUSES,
        });
    }
    let mut cause: Option<Box<CoreFailure>> = None;
    for c in f.causes.into_iter().rev() {
        cause = Some(Box::new(CoreFailure {
            message: text(c.message, "failure message", limits)?,
            stack_trace: text(c.stack_trace, "failure stack trace", limits)?,
            failure_info: kind_to_core(c.kind, limits)?,
            cause,
            source: "polyworker".into(),
            ..Default::default()
        }));
    }
    Ok(CoreFailure {
        message: text(f.message, "failure message", limits)?,
        stack_trace: text(f.stack_trace, "failure stack trace", limits)?,
        failure_info: kind_to_core(f.kind, limits)?,
        cause,
        source: "polyworker".into(),
        ..Default::default()
    })
}

/// A failure raised by the host itself (a trap, garbage from the guest).
pub fn host_failure(
    message: impl Into<String>,
    error_type: &str,
    non_retryable: bool,
) -> CoreFailure {
    CoreFailure {
        message: message.into(),
        source: "polyworker".into(),
        failure_info: Some(FailureInfo::ApplicationFailureInfo(
            ApplicationFailureInfo {
                r#type: error_type.to_string(),
                non_retryable,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity_failure() -> CoreFailure {
        CoreFailure {
            message: "activity error".into(),
            failure_info: Some(FailureInfo::ActivityFailureInfo(ActivityFailureInfo {
                activity_type: Some(ActivityType {
                    name: "GetRoute".into(),
                }),
                activity_id: "1".into(),
                retry_state: 4,
                ..Default::default()
            })),
            cause: Some(Box::new(CoreFailure {
                message: "network down".into(),
                failure_info: Some(FailureInfo::ApplicationFailureInfo(
                    ApplicationFailureInfo {
                        r#type: "NetworkError".into(),
                        non_retryable: true,
                        ..Default::default()
                    },
                )),
                cause: Some(Box::new(CoreFailure {
                    message: "timeout".into(),
                    failure_info: Some(FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
                        timeout_type: 4,
                        last_heartbeat_details: None,
                    })),
                    ..Default::default()
                })),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    #[test]
    fn cause_chain_is_flattened_in_order() {
        let f = failure_from_core(activity_failure());
        assert_eq!(f.message, "activity error");
        assert!(matches!(
            &f.kind,
            FailureKind::Activity(a) if a.activity_type == "GetRoute"
                && a.retry_state == RetryState::MaximumAttemptsReached
        ));
        assert_eq!(f.causes.len(), 2);
        assert_eq!(f.causes[0].message, "network down");
        assert!(matches!(
            &f.causes[0].kind,
            FailureKind::Application(a) if a.type_ == "NetworkError" && a.non_retryable
        ));
        assert!(matches!(
            f.causes[1].kind,
            FailureKind::Timeout((TimeoutType::Heartbeat, _))
        ));
    }

    #[test]
    fn failure_round_trips_through_wit() {
        let limits = Limits::default();
        let wit = failure_from_core(activity_failure());
        let back = failure_to_core(wit.clone(), &limits).unwrap();
        assert_eq!(failure_from_core(back), wit);
    }

    #[test]
    fn absurd_failures_are_rejected() {
        let limits = Limits::default();
        let mut f = failure_from_core(activity_failure());
        f.message = "x".repeat(limits.max_failure_text + 1);
        assert!(matches!(
            failure_to_core(f, &limits),
            Err(ConvertError::TooLarge {
                what: "failure message",
                ..
            })
        ));
        let mut f = failure_from_core(activity_failure());
        let c = f.causes[0].clone();
        f.causes = vec![c; MAX_CAUSES + 1];
        assert!(matches!(
            failure_to_core(f, &limits),
            Err(ConvertError::TooMany { .. })
        ));
    }

    #[test]
    fn overlong_core_chains_are_cut() {
        let mut f = CoreFailure::default();
        for i in 0..100 {
            f = CoreFailure {
                message: format!("{i}"),
                cause: Some(Box::new(f)),
                ..Default::default()
            };
        }
        assert_eq!(failure_from_core(f).causes.len(), MAX_CAUSES);
    }
}
