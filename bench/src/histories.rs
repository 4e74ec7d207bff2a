//! Histories for the replay benchmark, built with core's `TestHistoryBuilder`
//! exactly as the server records them, so that no server is needed.

use polyworker_host::temporal::replay::ReplayInput;
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_sdk_core::replay::TestHistoryBuilder;

/// A `TimerLoop(timers)` run: each timer is started, fires, and wakes the
/// workflow for its next workflow task (5 events per timer, 10,005 events
/// for 2,000 timers).
pub fn timer_loop(timers: u32) -> History {
    let mut t = TestHistoryBuilder::default();
    t.add_by_type(EventType::WorkflowExecutionStarted);
    t.set_wf_type("TimerLoop");
    t.set_wf_input(Payloads {
        payloads: vec![Payload {
            metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
            data: timers.to_string().into_bytes(),
            ..Payload::default()
        }],
    });
    t.add_full_wf_task();
    for seq in 1..=timers {
        let started = t.add_timer_started(seq.to_string());
        t.add_timer_fired(started, seq.to_string());
        t.add_full_wf_task();
    }
    t.add_workflow_execution_completed();
    t.get_full_history_info()
        .expect("a well-formed history")
        .into()
}

/// `count` histories of `timers` timers each, with distinct workflow ids.
pub fn timer_loops(count: usize, timers: u32) -> Vec<ReplayInput> {
    (0..count)
        .map(|n| ReplayInput {
            source: format!("timer-loop-{n}"),
            workflow_id: format!("bench-replay-{n}"),
            history: timer_loop(timers),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_loop_history_has_five_events_per_timer() {
        let h = timer_loop(2_000);
        assert_eq!(h.events.len(), 10_005);
        assert_eq!(
            h.events.last().map(|e| e.event_type()),
            Some(EventType::WorkflowExecutionCompleted)
        );
    }
}
