//! The guest's WIT commands → core's workflow commands, validated.

use temporalio_common::protos::coresdk::child_workflow::{
    ChildWorkflowCancellationType as CoreChildCancel, ParentClosePolicy as CorePcp,
};
use temporalio_common::protos::coresdk::common::NamespacedWorkflowExecution;
use temporalio_common::protos::coresdk::workflow_commands::{
    ActivityCancellationType as CoreActCancel, CancelChildWorkflowExecution, CancelSignalWorkflow,
    CancelTimer, CancelWorkflowExecution, CompleteWorkflowExecution,
    ContinueAsNewWorkflowExecution, FailWorkflowExecution, QueryResult, QuerySuccess,
    RequestCancelActivity, RequestCancelExternalWorkflowExecution, RequestCancelLocalActivity,
    ScheduleActivity, ScheduleLocalActivity, SetPatchMarker, SignalExternalWorkflowExecution,
    StartChildWorkflowExecution, StartTimer, UpdateResponse, WorkflowCommand, query_result,
    signal_external_workflow_execution, update_response, workflow_command::Variant,
};
use temporalio_common::protos::temporal::api::common::v1::{Payloads, RetryPolicy as CoreRetry};

use super::failure::failure_to_core;
use super::payload::{
    duration_to_core, headers_to_core, payload_to_core, payloads_to_core, timestamp_to_core,
};
use super::{ConvertError, Limits, Scope};
use crate::runtime::bindings::polyworker::worker::types::RetryPolicy;
use crate::runtime::bindings::polyworker::worker::workflow_types::{
    ActivityCancellationType, ChildCancellationType, Command, ParentClosePolicy, QueryAnswer,
    SignalTarget, UpdateOutcome,
};

fn retry_policy(r: Option<RetryPolicy>) -> Result<Option<CoreRetry>, ConvertError> {
    let Some(r) = r else { return Ok(None) };
    if let Some(c) = r.backoff_coefficient
        && (!c.is_finite() || c < 1.0)
    {
        return Err(ConvertError::OutOfRange {
            what: "retry policy backoff coefficient",
            detail: format!("{c} (must be a finite number >= 1)"),
        });
    }
    let maximum_attempts =
        i32::try_from(r.maximum_attempts).map_err(|_| ConvertError::OutOfRange {
            what: "retry policy maximum attempts",
            detail: r.maximum_attempts.to_string(),
        })?;
    Ok(Some(CoreRetry {
        initial_interval: r.initial_interval.map(duration_to_core),
        backoff_coefficient: r.backoff_coefficient.unwrap_or(0.0),
        maximum_interval: r.maximum_interval.map(duration_to_core),
        maximum_attempts,
        non_retryable_error_types: r.non_retryable_error_types,
    }))
}

fn act_cancel(c: ActivityCancellationType) -> i32 {
    (match c {
        ActivityCancellationType::TryCancel => CoreActCancel::TryCancel,
        ActivityCancellationType::WaitCancellationCompleted => {
            CoreActCancel::WaitCancellationCompleted
        }
        ActivityCancellationType::Abandon => CoreActCancel::Abandon,
    }) as i32
}

fn nonempty(s: &str, what: &'static str) -> Result<(), ConvertError> {
    if s.is_empty() {
        Err(ConvertError::Empty { what })
    } else {
        Ok(())
    }
}

fn command_to_core(
    c: Command,
    task_queue: &str,
    scope: &Scope,
    limits: &Limits,
) -> Result<Variant, ConvertError> {
    let queue = |q: String, command: &'static str| {
        let q = if q.is_empty() {
            task_queue.to_string()
        } else {
            q
        };
        scope.check_queue(command, &q).map(|()| q)
    };
    Ok(match c {
        Command::StartTimer(t) => Variant::StartTimer(StartTimer {
            seq: t.seq,
            start_to_fire_timeout: Some(duration_to_core(t.duration)),
        }),
        Command::CancelTimer(seq) => Variant::CancelTimer(CancelTimer { seq }),
        Command::ScheduleActivity(a) => {
            nonempty(&a.activity_type, "activity type")?;
            if a.start_to_close_timeout.is_none() && a.schedule_to_close_timeout.is_none() {
                return Err(ConvertError::OutOfRange {
                    what: "activity options",
                    detail: format!(
                        "activity {:?} needs a start-to-close or schedule-to-close timeout",
                        a.activity_type
                    ),
                });
            }
            Variant::ScheduleActivity(ScheduleActivity {
                seq: a.seq,
                activity_id: a.activity_id,
                activity_type: a.activity_type,
                task_queue: queue(a.task_queue, "schedule-activity")?,
                headers: headers_to_core(a.headers, limits)?,
                arguments: payloads_to_core(a.arguments, limits)?,
                schedule_to_close_timeout: a.schedule_to_close_timeout.map(duration_to_core),
                schedule_to_start_timeout: a.schedule_to_start_timeout.map(duration_to_core),
                start_to_close_timeout: a.start_to_close_timeout.map(duration_to_core),
                heartbeat_timeout: a.heartbeat_timeout.map(duration_to_core),
                retry_policy: retry_policy(a.retry_policy)?,
                cancellation_type: act_cancel(a.cancellation_type),
                ..Default::default()
            })
        }
        Command::RequestCancelActivity(seq) => {
            Variant::RequestCancelActivity(RequestCancelActivity { seq })
        }
        Command::ScheduleLocalActivity(a) => {
            nonempty(&a.activity_type, "local activity type")?;
            Variant::ScheduleLocalActivity(ScheduleLocalActivity {
                seq: a.seq,
                activity_id: a.activity_id,
                activity_type: a.activity_type,
                attempt: a.attempt,
                original_schedule_time: a.original_schedule_time.map(timestamp_to_core),
                headers: headers_to_core(a.headers, limits)?,
                arguments: payloads_to_core(a.arguments, limits)?,
                schedule_to_close_timeout: a.schedule_to_close_timeout.map(duration_to_core),
                schedule_to_start_timeout: a.schedule_to_start_timeout.map(duration_to_core),
                start_to_close_timeout: a.start_to_close_timeout.map(duration_to_core),
                retry_policy: retry_policy(a.retry_policy)?,
                local_retry_threshold: a.local_retry_threshold.map(duration_to_core),
                cancellation_type: act_cancel(a.cancellation_type),
                ..Default::default()
            })
        }
        Command::RequestCancelLocalActivity(seq) => {
            Variant::RequestCancelLocalActivity(RequestCancelLocalActivity { seq })
        }
        Command::RespondToQuery(q) => Variant::RespondToQuery(QueryResult {
            query_id: q.query_id,
            variant: Some(match q.answer {
                QueryAnswer::Succeeded(p) => query_result::Variant::Succeeded(QuerySuccess {
                    response: Some(payload_to_core(p, limits)?),
                }),
                QueryAnswer::Failed(f) => {
                    query_result::Variant::Failed(failure_to_core(f, limits)?)
                }
            }),
        }),
        Command::CompleteWorkflow(p) => {
            Variant::CompleteWorkflowExecution(CompleteWorkflowExecution {
                result: p.map(|p| payload_to_core(p, limits)).transpose()?,
            })
        }
        Command::FailWorkflow(f) => Variant::FailWorkflowExecution(FailWorkflowExecution {
            failure: Some(failure_to_core(f, limits)?),
        }),
        Command::ContinueAsNew(c) => {
            if !c.task_queue.is_empty() {
                scope.check_queue("continue-as-new", &c.task_queue)?;
            }
            Variant::ContinueAsNewWorkflowExecution(ContinueAsNewWorkflowExecution {
                workflow_type: c.workflow_type,
                task_queue: c.task_queue,
                arguments: payloads_to_core(c.arguments, limits)?,
                workflow_run_timeout: c.workflow_run_timeout.map(duration_to_core),
                workflow_task_timeout: c.workflow_task_timeout.map(duration_to_core),
                memo: headers_to_core(c.memo, limits)?,
                headers: headers_to_core(c.headers, limits)?,
                retry_policy: retry_policy(c.retry_policy)?,
                ..Default::default()
            })
        }
        Command::CancelWorkflow => {
            Variant::CancelWorkflowExecution(CancelWorkflowExecution { details: None })
        }
        Command::SetPatchMarker(p) => {
            nonempty(&p.patch_id, "patch id")?;
            Variant::SetPatchMarker(SetPatchMarker {
                patch_id: p.patch_id,
                deprecated: p.deprecated,
            })
        }
        Command::StartChild(c) => {
            nonempty(&c.workflow_type, "child workflow type")?;
            nonempty(&c.workflow_id, "child workflow id")?;
            scope.check_namespace("start-child", &c.namespace)?;
            Variant::StartChildWorkflowExecution(StartChildWorkflowExecution {
                seq: c.seq,
                namespace: c.namespace,
                workflow_id: c.workflow_id,
                workflow_type: c.workflow_type,
                task_queue: queue(c.task_queue, "start-child")?,
                input: payloads_to_core(c.input, limits)?,
                workflow_execution_timeout: c.workflow_execution_timeout.map(duration_to_core),
                workflow_run_timeout: c.workflow_run_timeout.map(duration_to_core),
                workflow_task_timeout: c.workflow_task_timeout.map(duration_to_core),
                parent_close_policy: (match c.parent_close_policy {
                    ParentClosePolicy::Unspecified => CorePcp::Unspecified,
                    ParentClosePolicy::Terminate => CorePcp::Terminate,
                    ParentClosePolicy::Abandon => CorePcp::Abandon,
                    ParentClosePolicy::RequestCancel => CorePcp::RequestCancel,
                }) as i32,
                retry_policy: retry_policy(c.retry_policy)?,
                cron_schedule: c.cron_schedule,
                headers: headers_to_core(c.headers, limits)?,
                memo: headers_to_core(c.memo, limits)?,
                cancellation_type: (match c.cancellation_type {
                    ChildCancellationType::Abandon => CoreChildCancel::Abandon,
                    ChildCancellationType::TryCancel => CoreChildCancel::TryCancel,
                    ChildCancellationType::WaitCancellationCompleted => {
                        CoreChildCancel::WaitCancellationCompleted
                    }
                    ChildCancellationType::WaitCancellationRequested => {
                        CoreChildCancel::WaitCancellationRequested
                    }
                }) as i32,
                ..Default::default()
            })
        }
        Command::CancelChild(c) => {
            Variant::CancelChildWorkflowExecution(CancelChildWorkflowExecution {
                child_workflow_seq: c.seq,
                reason: c.reason,
            })
        }
        Command::SignalExternal(s) => {
            nonempty(&s.signal_name, "signal name")?;
            Variant::SignalExternalWorkflowExecution(SignalExternalWorkflowExecution {
                seq: s.seq,
                target: Some(match s.target {
                    SignalTarget::External(e) => {
                        scope.check_namespace("signal-external", &e.namespace)?;
                        signal_external_workflow_execution::Target::WorkflowExecution(
                            NamespacedWorkflowExecution {
                                namespace: e.namespace,
                                workflow_id: e.workflow_id,
                                run_id: e.run_id,
                            },
                        )
                    }
                    SignalTarget::Child(id) => {
                        signal_external_workflow_execution::Target::ChildWorkflowId(id)
                    }
                }),
                signal_name: s.signal_name,
                args: payloads_to_core(s.args, limits)?,
                headers: headers_to_core(s.headers, limits)?,
            })
        }
        Command::CancelSignalExternal(seq) => {
            Variant::CancelSignalWorkflow(CancelSignalWorkflow { seq })
        }
        Command::CancelExternal(c) => {
            scope.check_namespace("cancel-external", &c.target.namespace)?;
            Variant::RequestCancelExternalWorkflowExecution(
                RequestCancelExternalWorkflowExecution {
                    seq: c.seq,
                    workflow_execution: Some(NamespacedWorkflowExecution {
                        namespace: c.target.namespace,
                        workflow_id: c.target.workflow_id,
                        run_id: c.target.run_id,
                    }),
                    reason: c.reason,
                },
            )
        }
        Command::UpdateResponse(u) => Variant::UpdateResponse(UpdateResponse {
            protocol_instance_id: u.protocol_instance_id,
            response: Some(match u.outcome {
                UpdateOutcome::Accepted => update_response::Response::Accepted(()),
                UpdateOutcome::Rejected(f) => {
                    update_response::Response::Rejected(failure_to_core(f, limits)?)
                }
                UpdateOutcome::Completed(p) => {
                    update_response::Response::Completed(payload_to_core(p, limits)?)
                }
            }),
        }),
    })
}

/// Converts an activation's commands, failing on the first invalid one with
/// its position, so the workflow-task failure points at the culprit. An empty
/// task queue in a command means the workflow's own, `task_queue`; every
/// queue and namespace named must be within `scope`.
pub fn commands_to_core(
    commands: Vec<Command>,
    task_queue: &str,
    scope: &Scope,
    limits: &Limits,
) -> Result<Vec<WorkflowCommand>, (usize, ConvertError)> {
    if commands.len() > limits.max_commands {
        return Err((
            0,
            ConvertError::TooMany {
                what: "commands in one activation",
                count: commands.len(),
                limit: limits.max_commands,
            },
        ));
    }
    commands
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            command_to_core(c, task_queue, scope, limits)
                .map(WorkflowCommand::from)
                .map_err(|e| (i, e))
        })
        .collect()
}

/// Payloads as core's optional `Payloads`, used by the activity runner too.
pub(crate) fn optional_payloads(
    p: Vec<crate::runtime::bindings::polyworker::worker::types::Payload>,
    limits: &Limits,
) -> Result<Option<Payloads>, ConvertError> {
    if p.is_empty() {
        return Ok(None);
    }
    Ok(Some(Payloads {
        payloads: payloads_to_core(p, limits)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::polyworker::worker::types::{Failure, FailureKind, Payload};
    use crate::runtime::bindings::polyworker::worker::workflow_types::{
        ScheduleActivity as WitSchedule, StartTimer as WitTimer,
    };

    fn schedule(activity_type: &str, start_to_close: Option<u64>) -> Command {
        Command::ScheduleActivity(WitSchedule {
            seq: 1,
            activity_id: "1".into(),
            activity_type: activity_type.into(),
            task_queue: String::new(),
            arguments: vec![Payload {
                metadata: vec![("encoding".into(), b"json/plain".to_vec())],
                data: b"{}".to_vec(),
            }],
            headers: vec![],
            schedule_to_close_timeout: None,
            schedule_to_start_timeout: None,
            start_to_close_timeout: start_to_close,
            heartbeat_timeout: None,
            retry_policy: Some(RetryPolicy {
                initial_interval: Some(200_000_000),
                backoff_coefficient: Some(2.0),
                maximum_interval: None,
                maximum_attempts: 3,
                non_retryable_error_types: vec!["X".into()],
            }),
            cancellation_type: ActivityCancellationType::TryCancel,
        })
    }

    #[test]
    fn typical_commands_convert() {
        let limits = Limits::default();
        let cmds = commands_to_core(
            vec![
                Command::StartTimer(WitTimer {
                    seq: 1,
                    duration: 1_500_000_000,
                }),
                schedule("GetRoute", Some(5_000_000_000)),
                Command::CompleteWorkflow(None),
            ],
            "home-queue",
            &Scope::open("default"),
            &limits,
        )
        .unwrap();
        match &cmds[0].variant {
            Some(Variant::StartTimer(t)) => {
                let d = t.start_to_fire_timeout.as_ref().unwrap();
                assert_eq!((d.seconds, d.nanos), (1, 500_000_000));
            }
            other => panic!("{other:?}"),
        }
        match &cmds[1].variant {
            Some(Variant::ScheduleActivity(a)) => {
                assert_eq!(a.activity_type, "GetRoute");
                assert_eq!(a.task_queue, "home-queue");
                let r = a.retry_policy.as_ref().unwrap();
                assert_eq!(r.maximum_attempts, 3);
                assert_eq!(r.backoff_coefficient, 2.0);
                assert_eq!(a.arguments[0].data, b"{}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            cmds[2].variant,
            Some(Variant::CompleteWorkflowExecution(
                CompleteWorkflowExecution { result: None }
            ))
        ));
    }

    #[test]
    fn garbage_commands_name_their_position() {
        let limits = Limits::default();
        let open = Scope::open("default");
        let err = commands_to_core(
            vec![Command::CancelTimer(1), schedule("", Some(1))],
            "q",
            &open,
            &limits,
        )
        .unwrap_err();
        assert_eq!(
            err,
            (
                1,
                ConvertError::Empty {
                    what: "activity type"
                }
            )
        );
        let err = commands_to_core(vec![schedule("A", None)], "q", &open, &limits).unwrap_err();
        assert!(matches!(err, (0, ConvertError::OutOfRange { .. })));
        let mut bad = schedule("A", Some(1));
        if let Command::ScheduleActivity(a) = &mut bad {
            a.retry_policy.as_mut().unwrap().backoff_coefficient = Some(f64::NAN);
        }
        assert!(commands_to_core(vec![bad], "q", &open, &limits).is_err());
        let fail = Command::FailWorkflow(Failure {
            message: "m".into(),
            kind: FailureKind::Other,
            stack_trace: String::new(),
            causes: vec![],
        });
        let too_many = vec![fail; limits.max_commands + 1];
        assert!(matches!(
            commands_to_core(too_many, "q", &open, &limits),
            Err((_, ConvertError::TooMany { .. }))
        ));
    }
}
