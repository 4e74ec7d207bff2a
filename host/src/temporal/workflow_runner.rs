//! The workflow poll loop: activation in, guest call, completion out.
//!
//! Core owns the state machines, the sticky cache and non-determinism
//! detection; this loop only keeps one guest instance per cached run (created
//! on the run's first activation, dropped on eviction) and turns whatever
//! the guest does into a completion. Every failure here fails the workflow
//! *task*, which Temporal retries, never the host.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use temporalio_common::protos::coresdk::workflow_activation::remove_from_cache::EvictionReason;
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion::Status,
};
use temporalio_common::protos::temporal::api::failure::v1::Failure as CoreFailure;
use temporalio_sdk_core::{PollError, Worker};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info_span, warn};

use super::convert::{self, failure_to_core};
use super::queue::Queue;
use super::trace;
use crate::runtime::Role;
use crate::runtime::log::LogTags;
use crate::runtime::run::RunInstance;

type Slot = Arc<tokio::sync::Mutex<Option<RunInstance>>>;

/// Learns what happens to runs; the replayer uses it to report per history.
pub trait RunObserver: Send + Sync {
    /// A run was created from its first activation.
    fn started(&self, _run_id: &str, _workflow_id: &str) {}
    /// A workflow task of the run failed (guest error, trap, garbage).
    fn task_failed(&self, _run_id: &str, _message: &str) {}
    /// Core evicted the run; `reason` is core's eviction reason.
    fn evicted(&self, _run_id: &str, _reason: EvictionReason, _message: &str) {}
}

/// A run's instance slot, and what its spans need.
type RunEntry = (Slot, Arc<RunTrace>);

/// Runs known to this worker, by run id.
#[derive(Default, Clone)]
struct Runs(Arc<Mutex<HashMap<String, RunEntry>>>);

/// A run's trace context (from its start's headers) and ids, kept from its
/// first activation.
#[derive(Default)]
struct RunTrace {
    parent: opentelemetry::Context,
    workflow_type: String,
    workflow_id: String,
}

impl Runs {
    fn slot(&self, run_id: &str) -> Slot {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(run_id.to_string()).or_default().0.clone()
    }
    fn trace(&self, run_id: &str) -> Arc<RunTrace> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(run_id).map(|(_, t)| t.clone()).unwrap_or_default()
    }
    fn set_trace(&self, run_id: &str, trace: RunTrace) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(run_id.to_string()).or_default().1 = Arc::new(trace);
    }
    fn remove(&self, run_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(run_id);
    }
}

/// The trace context of a run's start, from its first activation.
fn run_trace(
    activation: &temporalio_common::protos::coresdk::workflow_activation::WorkflowActivation,
) -> Option<RunTrace> {
    use temporalio_common::protos::coresdk::workflow_activation::workflow_activation_job::Variant;
    activation.jobs.iter().find_map(|j| match &j.variant {
        Some(Variant::InitializeWorkflow(init)) => Some(RunTrace {
            parent: trace::extract(&init.headers).unwrap_or_default(),
            workflow_type: init.workflow_type.clone(),
            workflow_id: init.workflow_id.clone(),
        }),
        _ => None,
    })
}

/// The span of a workflow task done for the first time (none while
/// replaying, or without a tracer), and the context its commands carry.
fn task_span(
    queue: &Queue,
    run_id: &str,
    run: &RunTrace,
    replaying: bool,
) -> (
    Option<opentelemetry_sdk::trace::Span>,
    opentelemetry::Context,
) {
    use opentelemetry::trace::TraceContextExt;
    let Some(tracer) = queue.tracer.as_ref().filter(|_| !replaying) else {
        return (None, run.parent.clone());
    };
    let digest = queue
        .workflows
        .get(&run.workflow_type)
        .map(|m| m.digest.as_str())
        .unwrap_or_default();
    let task = trace::TaskSpan {
        workflow_type: &run.workflow_type,
        workflow_id: &run.workflow_id,
        run_id,
        module_digest: digest,
    };
    let span = trace::workflow_task(tracer, queue, &run.parent, task);
    let cx = run
        .parent
        .with_remote_span_context(opentelemetry::trace::Span::span_context(&span).clone());
    if let Some((trace_id, span_id)) = trace::ids(&cx) {
        let current = tracing::Span::current();
        current.record("trace_id", trace_id.as_str());
        current.record("span_id", span_id.as_str());
    }
    (Some(span), cx)
}

fn fail(message: impl Into<String>) -> CoreFailure {
    convert::host_failure(message, "PolyworkerWorkflowTaskFailure", false)
}

type CoreCommand = temporalio_common::protos::coresdk::workflow_commands::WorkflowCommand;

/// The versioning behaviour a versioned queue's completion declares for a
/// workflow type (0, unspecified, leaves it to the worker's default).
fn versioning_behavior(queue: &Queue, instance: &RunInstance) -> i32 {
    use crate::runtime::bindings::exports::polyworker::worker::versioning::VersioningBehavior as Wit;
    use temporalio_common::protos::temporal::api::enums::v1::VersioningBehavior as Proto;
    if !queue.versioned {
        return Proto::Unspecified as i32;
    }
    let declared = instance
        .module
        .workflow
        .as_ref()
        .and_then(|w| w.versioning.get(&instance.tags.workflow_type));
    match declared {
        Some(Wit::Pinned) => Proto::Pinned as i32,
        Some(Wit::AutoUpgrade) => Proto::AutoUpgrade as i32,
        None => Proto::Unspecified as i32,
    }
}

type Processed = Result<(Vec<CoreCommand>, i32), CoreFailure>;

/// Processes one activation on a workflow thread, holding the run's slot
/// for as long; the error fails the workflow task.
async fn process(
    queue: &Arc<Queue>,
    worker: Weak<Worker>,
    run_id: &str,
    slot: &Slot,
    incoming: convert::Incoming,
) -> Processed {
    let mut guard = slot.clone().lock_owned().await;
    let q = queue.clone();
    let span = tracing::Span::current();
    let resident = &queue.tenant.resident;
    // Busy runs are never chosen for eviction.
    resident.set_busy(run_id, true);
    let id = run_id.to_string();
    let r = queue
        .threads
        .run(move || {
            let r = span.in_scope(|| process_sync(&q, &worker, &id, &mut guard, incoming));
            // A run without an instance holds no memory: nothing to evict.
            if guard.is_none() {
                q.tenant.resident.remove(&id);
            }
            r
        })
        .await
        .unwrap_or_else(|e| Err(fail(e.to_string())));
    resident.set_busy(run_id, false);
    r
}

/// Processes one activation; the error fails the workflow task. Success
/// carries the commands and the run's versioning behaviour.
fn process_sync(
    queue: &Queue,
    worker: &Weak<Worker>,
    run_id: &str,
    guard: &mut Option<RunInstance>,
    incoming: convert::Incoming,
) -> Processed {
    if let Some(info) = &incoming.init {
        let Some(module) = queue.workflows.get(&info.workflow_type) else {
            return Err(fail(format!(
                "no module on task queue {:?} defines workflow type {:?} (types served here: {})",
                queue.name,
                info.workflow_type,
                Queue::known(&queue.workflows)
            )));
        };
        let tags = LogTags {
            tenant: queue.tenant.name.clone(),
            lines: queue.tenant.log_rate.clone(),
            namespace: queue.namespace.clone(),
            module_digest: module.digest.clone(),
            task_queue: queue.name.clone(),
            workflow_type: info.workflow_type.clone(),
            workflow_id: info.workflow_id.clone(),
            run_id: info.run_id.clone(),
            ..Default::default()
        };
        let meter = queue.meter(Role::Workflow, &module.digest);
        let account = queue.tenant.memory.clone();
        match RunInstance::create(module.clone(), info, tags, queue.bounds.run, meter, account) {
            Ok(Ok(instance)) => {
                if let Some(a) = &queue.tenant.memory {
                    let r = &queue.tenant.resident;
                    r.insert(run_id, a.clone(), worker.clone(), instance.memory_gauge());
                    r.enforce_limits(a, queue.tenant.max_cached);
                }
                *guard = Some(instance);
            }
            Ok(Err(f)) => {
                return Err(failure_to_core(f, &queue.bounds.payloads)
                    .unwrap_or_else(|e| fail(e.to_string())));
            }
            Err(fault) => return Err(fail(fault.to_string())),
        }
    }
    if !incoming.unsupported.is_empty() {
        return Err(fail(format!(
            "polyworker does not support {} yet",
            incoming.unsupported.join(", ")
        )));
    }
    if let Some(instance) = guard.as_ref() {
        let span = tracing::Span::current();
        span.record("workflow_type", instance.tags.workflow_type.as_str());
        span.record("workflow_id", instance.tags.workflow_id.as_str());
        span.record("module_digest", instance.tags.module_digest.as_str());
    }
    let Some(instance) = guard.as_mut() else {
        return Err(fail(
            "no cached instance for this run (it was dropped after an earlier failure); the run will be replayed",
        ));
    };
    let seed = if incoming.init.is_some() {
        None
    } else {
        incoming.seed
    };
    let behavior = versioning_behavior(queue, instance);
    match instance.activate(&incoming.activation, seed) {
        Ok(Ok(commands)) => convert::commands_to_core(
            commands,
            &queue.name,
            &queue.tenant.scope,
            &queue.bounds.payloads,
        )
        .map(|c| (c, behavior))
        .map_err(|(i, e)| {
            if matches!(e, convert::ConvertError::OutOfScope { .. }) {
                queue.tenant.scope_refusals.fetch_add(1, Ordering::Relaxed);
            }
            *guard = None;
            fail(format!(
                "workflow code returned an invalid command (#{i}): {e}"
            ))
        }),
        Ok(Err(f)) => {
            *guard = None;
            Err(failure_to_core(f, &queue.bounds.payloads).unwrap_or_else(|e| fail(e.to_string())))
        }
        Err(fault) => {
            *guard = None;
            Err(fail(fault.to_string()))
        }
    }
}

async fn handle(
    worker: Arc<Worker>,
    queue: Arc<Queue>,
    runs: Runs,
    activation: temporalio_common::protos::coresdk::workflow_activation::WorkflowActivation,
    observer: Option<Arc<dyn RunObserver>>,
) {
    let run_id = activation.run_id.clone();
    let reason = activation.eviction_reason();
    let replaying = activation.is_replaying;
    if let Some(t) = run_trace(&activation) {
        runs.set_trace(&run_id, t);
    }
    let incoming = convert::activation_to_wit(activation, &queue.namespace, &queue.name);
    if let (Some(o), Some(info)) = (&observer, &incoming.init) {
        o.started(&run_id, &info.workflow_id);
    }
    let completion = if let Some(message) = incoming.eviction {
        tracing::debug!(%message, "evicting run");
        runs.remove(&run_id);
        queue.tenant.resident.remove(&run_id);
        if let Some(o) = &observer {
            o.evicted(
                &run_id,
                reason.unwrap_or(EvictionReason::Unspecified),
                &message,
            );
        }
        WorkflowActivationCompletion::empty(run_id.clone())
    } else {
        let slot = runs.slot(&run_id);
        let (span, cx) = task_span(&queue, &run_id, &runs.trace(&run_id), replaying);
        let processed = process(&queue, Arc::downgrade(&worker), &run_id, &slot, incoming).await;
        if let Some(mut span) = span {
            use opentelemetry::trace::Span as _;
            if let Err(f) = &processed {
                span.set_status(opentelemetry::trace::Status::error(f.message.clone()));
            }
            span.end();
        }
        match processed {
            Ok((mut commands, behavior)) => {
                trace::inject(&mut commands, &cx);
                let mut c = WorkflowActivationCompletion::empty(run_id.clone());
                if let Some(Status::Successful(s)) = c.status.as_mut() {
                    s.commands = commands;
                    s.versioning_behavior = behavior;
                }
                c
            }
            Err(failure) => {
                warn!(error = %failure.message, "workflow task failed");
                if let Some(o) = &observer {
                    o.task_failed(&run_id, &failure.message);
                }
                WorkflowActivationCompletion::fail(run_id.clone(), failure, None)
            }
        }
    };
    if let Err(e) = worker.complete_workflow_activation(completion).await {
        error!(error = %e, "core rejected the workflow activation completion");
    }
}

/// Polls workflow activations until core reports shutdown.
pub async fn run_workflows(
    worker: Arc<Worker>,
    queue: Arc<Queue>,
    observer: Option<Arc<dyn RunObserver>>,
) {
    let runs = Runs::default();
    let mut tasks = JoinSet::new();
    loop {
        let activation = match worker.poll_workflow_activation().await {
            Ok(a) => a,
            Err(PollError::ShutDown) => break,
            Err(e) => {
                error!(task_queue = %queue.name, error = %e, "workflow polling failed; stopping this worker");
                worker.initiate_shutdown();
                continue;
            }
        };
        let span = info_span!(
            "workflow_activation",
            namespace = %queue.namespace,
            task_queue = %queue.name,
            workflow_type = tracing::field::Empty,
            workflow_id = tracing::field::Empty,
            run_id = %activation.run_id,
            module_digest = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        tasks.spawn(
            handle(
                worker.clone(),
                queue.clone(),
                runs.clone(),
                activation,
                observer.clone(),
            )
            .instrument(span),
        );
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}
