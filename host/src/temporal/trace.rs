//! Traces of workflow tasks and activity attempts, and the trace context
//! Temporal's SDKs carry in headers.
//!
//! Temporal's OpenTelemetry interceptors (Python's
//! `temporalio.contrib.opentelemetry`, TypeScript's
//! `@temporalio/interceptors-opentelemetry`, Go's tracing interceptor) put
//! the W3C trace context in the header `_tracer-data`: a JSON payload of the
//! propagator's carrier, `{"traceparent": "00-…"}`. The host reads it from
//! a workflow's start and an activity's task, and writes it into the
//! activities, child workflows and signals a workflow issues, so that a
//! trace goes on through polyworker into other workers.
//!
//! Spans are made only for work done for the first time: a replayed
//! activation gets none (as logs are muted), and the context it writes into
//! commands is the run's parent's.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::Tracer;
use temporalio_common::protos::coresdk::workflow_commands::workflow_command::Variant;
use temporalio_common::protos::temporal::api::common::v1::Payload;

use super::queue::Queue;

/// The header Temporal's OpenTelemetry interceptors use.
pub const HEADER: &str = "_tracer-data";

type CoreCommand = temporalio_common::protos::coresdk::workflow_commands::WorkflowCommand;

/// The trace context in `headers`, if they carry one.
pub fn extract(headers: &HashMap<String, Payload>) -> Option<Context> {
    let payload = headers.get(HEADER)?;
    let carrier: HashMap<String, String> = serde_json::from_slice(&payload.data).ok()?;
    let cx = TraceContextPropagator::new().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// `cx` as the header's payload; none when it has no valid span.
fn header(cx: &Context) -> Option<Payload> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    // An empty `tracestate` is noise to the other SDKs' propagators.
    carrier.retain(|_, v: &mut String| !v.is_empty());
    Some(Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(&carrier).ok()?,
        ..Default::default()
    })
}

/// Writes `cx` into the headers of the commands that start work elsewhere
/// (activities, child workflows, signals), unless the guest set one.
pub fn inject(commands: &mut [CoreCommand], cx: &Context) {
    let Some(payload) = header(cx) else {
        return;
    };
    for c in commands {
        let headers = match c.variant.as_mut() {
            Some(Variant::ScheduleActivity(a)) => &mut a.headers,
            Some(Variant::ScheduleLocalActivity(a)) => &mut a.headers,
            Some(Variant::StartChildWorkflowExecution(s)) => &mut s.headers,
            Some(Variant::SignalExternalWorkflowExecution(s)) => &mut s.headers,
            _ => continue,
        };
        headers
            .entry(HEADER.to_string())
            .or_insert_with(|| payload.clone());
    }
}

/// What a workflow task span is about.
pub struct TaskSpan<'a> {
    /// The run's workflow type.
    pub workflow_type: &'a str,
    /// Its workflow id.
    pub workflow_id: &'a str,
    /// Its run id.
    pub run_id: &'a str,
    /// The module serving it.
    pub module_digest: &'a str,
}

/// Starts the span of one workflow task under `parent` (the context the
/// run's start carried, or none).
pub fn workflow_task(
    tracer: &Tracer,
    queue: &Queue,
    parent: &Context,
    task: TaskSpan<'_>,
) -> opentelemetry_sdk::trace::Span {
    let mut attributes = vec![
        KeyValue::new("temporalWorkflowID", task.workflow_id.to_string()),
        KeyValue::new("temporalRunID", task.run_id.to_string()),
        KeyValue::new("temporal.workflow.type", task.workflow_type.to_string()),
        KeyValue::new("temporal.task_queue", queue.name.clone()),
        KeyValue::new("temporal.namespace", queue.namespace.clone()),
        KeyValue::new("polyworker.module_digest", task.module_digest.to_string()),
        KeyValue::new("temporal.replaying", false),
    ];
    attributes.push(KeyValue::new(
        "polyworker.tenant",
        queue.tenant.name.clone(),
    ));
    tracer
        .span_builder(format!("WorkflowTask:{}", task.workflow_type))
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(tracer, parent)
}

/// Starts the span of one activity attempt under the context its task's
/// headers carry.
pub fn activity_attempt(
    tracer: &Tracer,
    queue: &Queue,
    headers: &HashMap<String, Payload>,
    activity_type: &str,
    activity_id: &str,
    attempt: u32,
) -> opentelemetry_sdk::trace::Span {
    let parent = extract(headers).unwrap_or_default();
    let mut attributes = vec![
        KeyValue::new("temporalActivityID", activity_id.to_string()),
        KeyValue::new("temporal.activity.type", activity_type.to_string()),
        KeyValue::new("temporal.attempt", i64::from(attempt)),
        KeyValue::new("temporal.task_queue", queue.name.clone()),
    ];
    attributes.push(KeyValue::new(
        "polyworker.tenant",
        queue.tenant.name.clone(),
    ));
    tracer
        .span_builder(format!("RunActivity:{activity_type}"))
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent)
}

/// Ends an attempt's span with its outcome (`completed`, `failed`,
/// `cancelled`, `pending` for an async completion).
pub fn end_attempt(mut span: opentelemetry_sdk::trace::Span, outcome: &str, error: Option<&str>) {
    span.set_attribute(KeyValue::new("polyworker.outcome", outcome.to_string()));
    if let Some(message) = error {
        span.set_status(Status::error(message.to_string()));
    }
    span.end();
}

/// `cx`'s W3C `traceparent`, if it has a valid span.
pub fn traceparent(cx: &Context) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    carrier.remove("traceparent")
}

/// The ids a log line carries: (trace id, span id) in hex.
pub fn ids(cx: &Context) -> Option<(String, String)> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn remote() -> Context {
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        Context::new().with_remote_span_context(sc)
    }

    #[test]
    fn the_header_is_what_temporals_interceptors_write() {
        let payload = header(&remote()).unwrap();
        let carrier: serde_json::Value = serde_json::from_slice(&payload.data).unwrap();
        assert_eq!(
            carrier,
            serde_json::json!({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
        );
        let back = extract(&[(HEADER.to_string(), payload)].into()).unwrap();
        assert_eq!(
            back.span().span_context().trace_id(),
            remote().span().span_context().trace_id()
        );
    }

    #[test]
    fn garbage_or_no_header_is_no_context() {
        assert!(extract(&HashMap::new()).is_none());
        let junk = Payload {
            data: b"not json".to_vec(),
            ..Default::default()
        };
        assert!(extract(&[(HEADER.to_string(), junk)].into()).is_none());
        let empty = Payload {
            data: b"{}".to_vec(),
            ..Default::default()
        };
        assert!(extract(&[(HEADER.to_string(), empty)].into()).is_none());
        assert!(header(&Context::new()).is_none());
    }

    #[test]
    fn commands_that_start_work_elsewhere_get_the_header_unless_they_have_one() {
        use temporalio_common::protos::coresdk::workflow_commands::{
            ScheduleActivity, ScheduleLocalActivity, SignalExternalWorkflowExecution,
            StartChildWorkflowExecution, StartTimer,
        };
        let own = Payload {
            data: b"{\"traceparent\":\"mine\"}".to_vec(),
            ..Default::default()
        };
        let mut with_own = ScheduleActivity::default();
        with_own.headers.insert(HEADER.to_string(), own.clone());
        let mut commands: Vec<CoreCommand> = vec![
            Variant::ScheduleActivity(ScheduleActivity::default()).into(),
            Variant::ScheduleActivity(with_own).into(),
            Variant::StartTimer(StartTimer::default()).into(),
            Variant::ScheduleLocalActivity(ScheduleLocalActivity::default()).into(),
            Variant::StartChildWorkflowExecution(StartChildWorkflowExecution::default()).into(),
            Variant::SignalExternalWorkflowExecution(SignalExternalWorkflowExecution::default())
                .into(),
        ];
        inject(&mut commands, &remote());
        let headers = |i: usize| match commands[i].variant.as_ref() {
            Some(Variant::ScheduleActivity(a)) => a.headers.get(HEADER).cloned(),
            Some(Variant::ScheduleLocalActivity(a)) => a.headers.get(HEADER).cloned(),
            Some(Variant::StartChildWorkflowExecution(c)) => c.headers.get(HEADER).cloned(),
            Some(Variant::SignalExternalWorkflowExecution(s)) => s.headers.get(HEADER).cloned(),
            _ => None,
        };
        assert!(headers(0).is_some());
        assert_eq!(headers(1), Some(own));
        assert!(headers(2).is_none(), "a timer has no headers");
        for i in 3..6 {
            assert_eq!(headers(i), headers(0), "command {i}");
        }
    }
}
