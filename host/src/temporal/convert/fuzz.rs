//! Randomised property tests: no input, from a guest or from core, makes the
//! conversion layer panic, and what it accepts stays within the limits.
//!
//! A seeded generator (so failures reproduce) builds every command and
//! failure variant with extreme values; random bytes decoded as core's
//! protobufs exercise the other direction.

use prost::Message;
use temporalio_common::protos::coresdk::activity_task::ActivityTask;
use temporalio_common::protos::coresdk::workflow_activation::WorkflowActivation;
use temporalio_common::protos::coresdk::workflow_commands::{
    signal_external_workflow_execution, workflow_command::Variant,
};

use super::*;
use crate::runtime::bindings::polyworker::worker::activity_types::{
    ActivityError, ActivityErrorDetail, ActivityOutcome,
};
use crate::runtime::bindings::polyworker::worker::types::{
    ActivityFailure, ApplicationFailure, Failure, FailureCause, FailureKind, Payload, RetryPolicy,
    RetryState, TimeoutType,
};
use crate::runtime::bindings::polyworker::worker::workflow_types::*;

/// SplitMix64: tiny, seeded, good enough to spread cases.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn u32(&mut self) -> u32 {
        [0, 1, u32::MAX, i32::MAX as u32 + 1, self.next() as u32][self.below(5) as usize]
    }
    fn u64(&mut self) -> u64 {
        [0, 1, u64::MAX, i64::MAX as u64 + 1, self.next()][self.below(5) as usize]
    }
    fn f64(&mut self) -> f64 {
        [f64::NAN, f64::INFINITY, -1.0, 0.0, 1.0, 2.5, f64::MAX][self.below(7) as usize]
    }
    fn string(&mut self) -> String {
        match self.below(5) {
            0 => String::new(),
            1 => "x".repeat(self.below(200_000) as usize),
            2 => "ünïcødé\u{0}\u{fffd}".into(),
            _ => format!("s{}", self.next()),
        }
    }
    fn bytes(&mut self) -> Vec<u8> {
        let len = match self.below(6) {
            0 => 3 << 20,
            1 => (2 << 20) - 10,
            _ => self.below(64) as usize,
        };
        vec![self.next() as u8; len]
    }
    fn payload(&mut self) -> Payload {
        let mut metadata = vec![("encoding".to_string(), b"json/plain".to_vec())];
        if self.below(4) == 0 {
            metadata.push(("encoding".to_string(), vec![]));
        }
        Payload {
            metadata,
            data: self.bytes(),
        }
    }
    fn payloads(&mut self) -> Vec<Payload> {
        (0..self.below(3)).map(|_| self.payload()).collect()
    }
    fn headers(&mut self) -> Vec<(String, Payload)> {
        (0..self.below(2))
            .map(|_| (self.string(), self.payload()))
            .collect()
    }
    fn opt_u64(&mut self) -> Option<u64> {
        (self.below(2) == 0).then(|| self.u64())
    }
    fn retry(&mut self) -> Option<RetryPolicy> {
        (self.below(2) == 0).then(|| RetryPolicy {
            initial_interval: self.opt_u64(),
            backoff_coefficient: (self.below(2) == 0).then(|| self.f64()),
            maximum_interval: self.opt_u64(),
            maximum_attempts: self.u32(),
            non_retryable_error_types: vec![self.string()],
        })
    }
    fn kind(&mut self) -> FailureKind {
        match self.below(8) {
            0 => FailureKind::Application(ApplicationFailure {
                type_: self.string(),
                non_retryable: self.below(2) == 0,
                details: self.payloads(),
                next_retry_delay: self.opt_u64(),
            }),
            1 => FailureKind::Cancelled(self.payloads()),
            2 => FailureKind::Timeout((TimeoutType::Heartbeat, self.payloads())),
            3 => FailureKind::Terminated,
            4 => FailureKind::Server(true),
            5 => FailureKind::Activity(ActivityFailure {
                activity_type: self.string(),
                activity_id: self.string(),
                retry_state: RetryState::Timeout,
            }),
            _ => FailureKind::Other,
        }
    }
    fn failure(&mut self) -> Failure {
        let n = [0, 1, 40, 1000][self.below(4) as usize];
        Failure {
            message: self.string(),
            kind: self.kind(),
            stack_trace: self.string(),
            causes: (0..n)
                .map(|_| FailureCause {
                    message: format!("c{}", self.next()),
                    kind: FailureKind::Other,
                    stack_trace: String::new(),
                })
                .collect(),
        }
    }
    fn command(&mut self) -> Command {
        match self.below(18) {
            0 => Command::StartTimer(StartTimer {
                seq: self.u32(),
                duration: self.u64(),
            }),
            1 => Command::CancelTimer(self.u32()),
            2 => Command::ScheduleActivity(ScheduleActivity {
                seq: self.u32(),
                activity_id: self.string(),
                activity_type: self.string(),
                task_queue: self.string(),
                arguments: self.payloads(),
                headers: self.headers(),
                schedule_to_close_timeout: self.opt_u64(),
                schedule_to_start_timeout: self.opt_u64(),
                start_to_close_timeout: self.opt_u64(),
                heartbeat_timeout: self.opt_u64(),
                retry_policy: self.retry(),
                cancellation_type: ActivityCancellationType::Abandon,
            }),
            3 => Command::RequestCancelActivity(self.u32()),
            4 => Command::ScheduleLocalActivity(ScheduleLocalActivity {
                seq: self.u32(),
                activity_id: self.string(),
                activity_type: self.string(),
                attempt: self.u32(),
                original_schedule_time: self.opt_u64(),
                arguments: self.payloads(),
                headers: self.headers(),
                schedule_to_close_timeout: self.opt_u64(),
                schedule_to_start_timeout: self.opt_u64(),
                start_to_close_timeout: self.opt_u64(),
                retry_policy: self.retry(),
                local_retry_threshold: self.opt_u64(),
                cancellation_type: ActivityCancellationType::TryCancel,
            }),
            5 => Command::RespondToQuery(RespondToQuery {
                query_id: self.string(),
                answer: if self.below(2) == 0 {
                    QueryAnswer::Succeeded(self.payload())
                } else {
                    QueryAnswer::Failed(self.failure())
                },
            }),
            6 => Command::CompleteWorkflow((self.below(2) == 0).then(|| self.payload())),
            7 => Command::FailWorkflow(self.failure()),
            8 => Command::ContinueAsNew(ContinueAsNew {
                workflow_type: self.string(),
                task_queue: self.string(),
                arguments: self.payloads(),
                workflow_run_timeout: self.opt_u64(),
                workflow_task_timeout: self.opt_u64(),
                memo: self.headers(),
                headers: self.headers(),
                retry_policy: self.retry(),
            }),
            9 => Command::CancelWorkflow,
            10 => Command::SetPatchMarker(SetPatchMarker {
                patch_id: self.string(),
                deprecated: self.below(2) == 0,
            }),
            11 => Command::StartChild(StartChild {
                seq: self.u32(),
                namespace: self.string(),
                workflow_id: self.string(),
                workflow_type: self.string(),
                task_queue: self.string(),
                input: self.payloads(),
                workflow_execution_timeout: self.opt_u64(),
                workflow_run_timeout: self.opt_u64(),
                workflow_task_timeout: self.opt_u64(),
                parent_close_policy: ParentClosePolicy::Terminate,
                retry_policy: self.retry(),
                cron_schedule: self.string(),
                headers: self.headers(),
                memo: self.headers(),
                cancellation_type: ChildCancellationType::WaitCancellationRequested,
            }),
            12 => Command::CancelChild(CancelChild {
                seq: self.u32(),
                reason: self.string(),
            }),
            13 => Command::SignalExternal(SignalExternal {
                seq: self.u32(),
                target: SignalTarget::Child(self.string()),
                signal_name: self.string(),
                args: self.payloads(),
                headers: self.headers(),
            }),
            14 => Command::CancelSignalExternal(self.u32()),
            15 => Command::CancelExternal(CancelExternal {
                seq: self.u32(),
                target: ExternalWorkflow {
                    namespace: self.string(),
                    workflow_id: self.string(),
                    run_id: self.string(),
                },
                reason: self.string(),
            }),
            16 => Command::UpdateResponse(UpdateResponse {
                protocol_instance_id: self.string(),
                outcome: match self.below(3) {
                    0 => UpdateOutcome::Accepted,
                    1 => UpdateOutcome::Rejected(self.failure()),
                    _ => UpdateOutcome::Completed(self.payload()),
                },
            }),
            _ => Command::RequestCancelLocalActivity(self.u32()),
        }
    }
}

#[test]
fn random_guest_commands_never_panic_and_accepted_ones_respect_the_limits() {
    let limits = Limits::default();
    let mut g = Gen(0x5eed);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let commands: Vec<Command> = (0..g.below(4)).map(|_| g.command()).collect();
        match commands_to_core(commands, "q", &Scope::open("ns"), &limits) {
            Ok(core) => {
                accepted += 1;
                for c in core {
                    assert!(c.encoded_len() < 16 * limits.max_payload_bytes);
                }
            }
            Err((_, e)) => {
                rejected += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // The generator reaches both sides of every check.
    assert!(
        accepted > 1000 && rejected > 1000,
        "{accepted} accepted, {rejected} rejected"
    );
}

/// The queue and namespace a core command targets, where it names them.
fn targets(v: &Variant) -> (Option<&str>, Option<&str>) {
    use signal_external_workflow_execution::Target;
    match v {
        Variant::ScheduleActivity(a) => (Some(&a.task_queue), None),
        Variant::StartChildWorkflowExecution(c) => (Some(&c.task_queue), Some(&c.namespace)),
        Variant::ContinueAsNewWorkflowExecution(c) => (Some(&c.task_queue), None),
        Variant::SignalExternalWorkflowExecution(s) => match &s.target {
            Some(Target::WorkflowExecution(e)) => (None, Some(&e.namespace)),
            _ => (None, None),
        },
        Variant::RequestCancelExternalWorkflowExecution(c) => (
            None,
            c.workflow_execution.as_ref().map(|e| e.namespace.as_str()),
        ),
        _ => (None, None),
    }
}

#[test]
fn random_commands_within_a_tenant_scope_target_only_its_queue_and_namespace() {
    let limits = Limits::default();
    let scope = Scope::tenant("t", "ns", ["q".to_string()].into());
    let mut g = Gen(0x7e4a47);
    let mut out_of_scope = 0;
    for _ in 0..20_000 {
        let commands: Vec<Command> = (0..g.below(4)).map(|_| g.command()).collect();
        match commands_to_core(commands, "q", &scope, &limits) {
            Ok(core) => {
                for c in core.iter().filter_map(|c| c.variant.as_ref()) {
                    let (queue, namespace) = targets(c);
                    assert!(matches!(queue, None | Some("" | "q")), "{c:?}");
                    assert!(matches!(namespace, None | Some("" | "ns")), "{c:?}");
                }
            }
            Err((_, ConvertError::OutOfScope { .. })) => out_of_scope += 1,
            Err(_) => {}
        }
    }
    assert!(out_of_scope > 100, "{out_of_scope} refused by scope");
}

#[test]
fn random_activity_outcomes_never_panic() {
    let limits = Limits::default();
    let mut g = Gen(7);
    for _ in 0..5_000 {
        let r = match g.below(4) {
            0 => Ok(ActivityOutcome::Completed(Some(g.payload()))),
            1 => Ok(ActivityOutcome::Pending),
            2 => Err(ActivityError::Cancelled(g.payloads())),
            _ => Err(ActivityError::Failed(ActivityErrorDetail {
                message: g.string(),
                info: ApplicationFailure {
                    type_: g.string(),
                    non_retryable: false,
                    details: g.payloads(),
                    next_retry_delay: g.opt_u64(),
                },
            })),
        };
        assert!(activity_result(r, &limits).status.is_some());
    }
}

#[test]
fn random_core_messages_never_panic() {
    let mut g = Gen(99);
    let mut decoded = 0;
    for _ in 0..50_000 {
        let bytes: Vec<u8> = (0..g.below(256)).map(|_| g.next() as u8).collect();
        if let Ok(a) = WorkflowActivation::decode(bytes.as_slice()) {
            decoded += 1;
            let _ = activation_to_wit(a, "ns", "q");
        }
        if let Ok(ActivityTask {
            task_token,
            variant:
                Some(temporalio_common::protos::coresdk::activity_task::activity_task::Variant::Start(
                    s,
                )),
        }) = ActivityTask::decode(bytes.as_slice())
        {
            let _ = activity_info(task_token, s, "q");
        }
    }
    assert!(decoded > 100, "only {decoded} inputs decoded");
}
