//! Core's workflow activations → the WIT `activation`.

use temporalio_common::protos::coresdk::activity_result::{
    ActivityResolution as CoreActivityResolution, activity_resolution,
};
use temporalio_common::protos::coresdk::child_workflow::child_workflow_result;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, WorkflowActivation, resolve_child_workflow_execution_start as child_start,
    workflow_activation_job::Variant,
};
use temporalio_common::protos::temporal::api::failure::v1::Failure as CoreFailure;

use super::failure::failure_from_core;
use super::payload::{
    duration_from_core, headers_from_core, payload_from_core, payloads_from_core,
    timestamp_from_core,
};
use crate::runtime::bindings::polyworker::worker::types::Failure;
use crate::runtime::bindings::polyworker::worker::workflow_types::{
    Activation, ActivityResolution, ChildResolution, ChildStartResolution, Job,
    LocalActivityBackoff, ParentWorkflow, Query, ResolveActivity, ResolveChild, ResolveChildStart,
    ResolveExternal, Signal, Update, WorkflowInfo,
};

/// One core activation, split the way the host handles it.
#[derive(Debug)]
pub struct Incoming {
    /// Present on a run's first activation: create the run with it.
    pub init: Option<WorkflowInfo>,
    /// Present when core evicts the run; the message says why.
    pub eviction: Option<String>,
    /// A new randomness seed, from `init` or an update-random-seed job.
    pub seed: Option<u64>,
    /// Jobs the guest does not support (nexus); the host fails the task.
    pub unsupported: Vec<&'static str>,
    /// The activation as the guest gets it.
    pub activation: Activation,
}

/// Failures core leaves empty still reach the guest as a failure record.
fn failure(f: Option<CoreFailure>, what: &str) -> Failure {
    failure_from_core(f.unwrap_or_else(|| CoreFailure {
        message: format!("{what} (no details from the server)"),
        ..Default::default()
    }))
}

/// Run facts from the initialize job.
pub fn workflow_info(
    init: InitializeWorkflow,
    run_id: &str,
    namespace: &str,
    task_queue: &str,
) -> WorkflowInfo {
    let nonempty = |s: String| if s.is_empty() { None } else { Some(s) };
    WorkflowInfo {
        workflow_type: init.workflow_type,
        workflow_id: init.workflow_id,
        run_id: run_id.to_string(),
        namespace: namespace.to_string(),
        task_queue: task_queue.to_string(),
        arguments: payloads_from_core(init.arguments),
        headers: headers_from_core(init.headers),
        randomness_seed: init.randomness_seed,
        attempt: u32::try_from(init.attempt).unwrap_or(1),
        first_execution_run_id: init.first_execution_run_id,
        continued_from_run_id: nonempty(init.continued_from_execution_run_id),
        parent: init.parent_workflow_info.map(|p| ParentWorkflow {
            namespace: p.namespace,
            workflow_id: p.workflow_id,
            run_id: p.run_id,
        }),
        cron_schedule: nonempty(init.cron_schedule),
        workflow_execution_timeout: init
            .workflow_execution_timeout
            .as_ref()
            .map(duration_from_core),
        workflow_run_timeout: init.workflow_run_timeout.as_ref().map(duration_from_core),
        workflow_task_timeout: init.workflow_task_timeout.as_ref().map(duration_from_core),
        start_time: init.start_time.as_ref().map(timestamp_from_core),
        last_completion_result: payloads_from_core(
            init.last_completion_result
                .map(|p| p.payloads)
                .unwrap_or_default(),
        ),
    }
}

fn activity_resolution(r: Option<CoreActivityResolution>) -> ActivityResolution {
    match r.and_then(|r| r.status) {
        Some(activity_resolution::Status::Completed(s)) => {
            ActivityResolution::Completed(s.result.map(payload_from_core))
        }
        Some(activity_resolution::Status::Failed(f)) => {
            ActivityResolution::Failed(failure(f.failure, "activity failed"))
        }
        Some(activity_resolution::Status::Cancelled(c)) => {
            ActivityResolution::Cancelled(failure(c.failure, "activity cancelled"))
        }
        Some(activity_resolution::Status::Backoff(b)) => {
            ActivityResolution::Backoff(LocalActivityBackoff {
                attempt: b.attempt,
                backoff: b
                    .backoff_duration
                    .as_ref()
                    .map(duration_from_core)
                    .unwrap_or(0),
                original_schedule_time: b.original_schedule_time.as_ref().map(timestamp_from_core),
            })
        }
        None => ActivityResolution::Failed(failure(None, "activity resolved without a result")),
    }
}

/// How a child workflow's start ended.
fn child_start_resolution(status: Option<child_start::Status>) -> ChildStartResolution {
    match status {
        Some(child_start::Status::Succeeded(s)) => ChildStartResolution::Started(s.run_id),
        Some(child_start::Status::Failed(f)) => ChildStartResolution::Failed(format!(
            "workflow {:?} of type {:?} could not start (cause {})",
            f.workflow_id, f.workflow_type, f.cause
        )),
        Some(child_start::Status::Cancelled(c)) => {
            ChildStartResolution::Cancelled(failure(c.failure, "child start cancelled"))
        }
        None => ChildStartResolution::Failed("no start status from the server".into()),
    }
}

/// How a child workflow ended.
fn child_resolution(status: Option<child_workflow_result::Status>) -> ChildResolution {
    match status {
        Some(child_workflow_result::Status::Completed(s)) => {
            ChildResolution::Completed(s.result.map(payload_from_core))
        }
        Some(child_workflow_result::Status::Failed(f)) => {
            ChildResolution::Failed(failure(f.failure, "child workflow failed"))
        }
        Some(child_workflow_result::Status::Cancelled(c)) => {
            ChildResolution::Cancelled(failure(c.failure, "child workflow cancelled"))
        }
        None => ChildResolution::Failed(failure(None, "child workflow ended")),
    }
}

/// Splits and converts a core activation.
pub fn activation_to_wit(a: WorkflowActivation, namespace: &str, task_queue: &str) -> Incoming {
    let mut out = Incoming {
        init: None,
        eviction: None,
        seed: None,
        unsupported: Vec::new(),
        activation: Activation {
            timestamp: a.timestamp.as_ref().map(timestamp_from_core).unwrap_or(0),
            is_replaying: a.is_replaying,
            history_length: a.history_length,
            history_size_bytes: a.history_size_bytes,
            continue_as_new_suggested: a.continue_as_new_suggested,
            jobs: Vec::with_capacity(a.jobs.len()),
        },
    };
    for job in a.jobs {
        let Some(variant) = job.variant else { continue };
        let job = match variant {
            Variant::InitializeWorkflow(init) => {
                out.seed = Some(init.randomness_seed);
                out.init = Some(workflow_info(init, &a.run_id, namespace, task_queue));
                continue;
            }
            Variant::RemoveFromCache(r) => {
                out.eviction = Some(r.message);
                continue;
            }
            Variant::FireTimer(t) => Job::FireTimer(t.seq),
            Variant::UpdateRandomSeed(s) => {
                out.seed = Some(s.randomness_seed);
                Job::UpdateRandomSeed(s.randomness_seed)
            }
            Variant::QueryWorkflow(q) => Job::Query(Query {
                query_id: q.query_id,
                query_type: q.query_type,
                arguments: payloads_from_core(q.arguments),
                headers: headers_from_core(q.headers),
            }),
            Variant::CancelWorkflow(c) => Job::Cancel(c.reason),
            Variant::SignalWorkflow(s) => Job::Signal(Signal {
                name: s.signal_name,
                input: payloads_from_core(s.input),
                headers: headers_from_core(s.headers),
                identity: s.identity,
            }),
            Variant::ResolveActivity(r) => Job::ResolveActivity(ResolveActivity {
                seq: r.seq,
                resolution: activity_resolution(r.result),
                is_local: r.is_local,
            }),
            Variant::NotifyHasPatch(p) => Job::NotifyHasPatch(p.patch_id),
            Variant::ResolveChildWorkflowExecutionStart(r) => {
                Job::ResolveChildStart(ResolveChildStart {
                    seq: r.seq,
                    resolution: child_start_resolution(r.status),
                })
            }
            Variant::ResolveChildWorkflowExecution(r) => Job::ResolveChild(ResolveChild {
                seq: r.seq,
                resolution: child_resolution(r.result.and_then(|r| r.status)),
            }),
            Variant::ResolveSignalExternalWorkflow(r) => {
                Job::ResolveSignalExternal(ResolveExternal {
                    seq: r.seq,
                    failure: r.failure.map(failure_from_core),
                })
            }
            Variant::ResolveRequestCancelExternalWorkflow(r) => {
                Job::ResolveCancelExternal(ResolveExternal {
                    seq: r.seq,
                    failure: r.failure.map(failure_from_core),
                })
            }
            Variant::DoUpdate(u) => Job::Update(Update {
                id: u.id,
                protocol_instance_id: u.protocol_instance_id,
                name: u.name,
                input: payloads_from_core(u.input),
                headers: headers_from_core(u.headers),
                run_validator: u.run_validator,
            }),
            Variant::ResolveNexusOperationStart(_) | Variant::ResolveNexusOperation(_) => {
                out.unsupported.push("nexus operations");
                continue;
            }
        };
        out.activation.jobs.push(job);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::protos::coresdk::activity_result::{Failure as ActFailure, Success};
    use temporalio_common::protos::coresdk::workflow_activation::{
        FireTimer, RemoveFromCache, ResolveActivity as CoreResolveActivity, SignalWorkflow,
        WorkflowActivationJob,
    };
    use temporalio_common::protos::temporal::api::common::v1::Payload as CorePayload;

    fn activation(jobs: Vec<Variant>) -> WorkflowActivation {
        WorkflowActivation {
            run_id: "run-1".into(),
            timestamp: Some(prost_wkt_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            }),
            is_replaying: true,
            history_length: 7,
            jobs: jobs
                .into_iter()
                .map(|v| WorkflowActivationJob { variant: Some(v) })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn first_activation_splits_off_init_and_keeps_job_order() {
        let a = activation(vec![
            Variant::InitializeWorkflow(InitializeWorkflow {
                workflow_type: "DataRoutingWorkflow".into(),
                workflow_id: "wf".into(),
                randomness_seed: 42,
                attempt: 1,
                arguments: vec![CorePayload {
                    data: b"1".to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            Variant::SignalWorkflow(SignalWorkflow {
                signal_name: "go".into(),
                ..Default::default()
            }),
            Variant::FireTimer(FireTimer { seq: 3 }),
        ]);
        let inc = activation_to_wit(a, "default", "q");
        let init = inc.init.unwrap();
        assert_eq!(init.workflow_type, "DataRoutingWorkflow");
        assert_eq!(
            (init.run_id.as_str(), init.task_queue.as_str()),
            ("run-1", "q")
        );
        assert_eq!(init.arguments[0].data, b"1");
        assert_eq!(inc.seed, Some(42));
        assert_eq!(inc.activation.timestamp, 1_700_000_000_000_000_005);
        assert!(inc.activation.is_replaying);
        assert!(matches!(&inc.activation.jobs[0], Job::Signal(s) if s.name == "go"));
        assert!(matches!(inc.activation.jobs[1], Job::FireTimer(3)));
    }

    #[test]
    fn activity_resolutions_and_evictions_convert() {
        let a = activation(vec![
            Variant::ResolveActivity(CoreResolveActivity {
                seq: 1,
                result: Some(CoreActivityResolution {
                    status: Some(activity_resolution::Status::Completed(Success {
                        result: Some(CorePayload::default()),
                    })),
                }),
                is_local: false,
            }),
            Variant::ResolveActivity(CoreResolveActivity {
                seq: 2,
                result: Some(CoreActivityResolution {
                    status: Some(activity_resolution::Status::Failed(ActFailure {
                        failure: None,
                        ..Default::default()
                    })),
                }),
                is_local: true,
            }),
        ]);
        let jobs = activation_to_wit(a, "default", "q").activation.jobs;
        assert!(matches!(
            &jobs[0],
            Job::ResolveActivity(r) if r.seq == 1 && matches!(r.resolution, ActivityResolution::Completed(Some(_)))
        ));
        assert!(matches!(
            &jobs[1],
            Job::ResolveActivity(r) if r.is_local && matches!(&r.resolution, ActivityResolution::Failed(f) if f.message.contains("no details"))
        ));
        let evict = activation(vec![Variant::RemoveFromCache(RemoveFromCache {
            message: "cache full".into(),
            reason: 1,
        })]);
        let inc = activation_to_wit(evict, "default", "q");
        assert_eq!(inc.eviction.as_deref(), Some("cache full"));
        assert!(inc.activation.jobs.is_empty());
    }
}
