//! One activity attempt: its own store with the queue's grants, the guest
//! call, and the watch on its timeouts and cancellation.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::Start;
use tracing::warn;
use wasmtime::Store;

use super::convert::{self, activity_result, host_failure};
use super::queue::Queue;
use crate::runtime::activity::{ActivitySandbox, ActivityState, AttemptControl};
use crate::runtime::bindings::polyworker::worker::activity_types::{ActivityInfo, CancelReason};
use crate::runtime::bindings::polyworker::worker::types::Payload;
use crate::runtime::fault::{GuestFault, RunLimits, classify};
use crate::runtime::limits::{LimitExceeded, StoreBounds};
use crate::runtime::loader::ActivityRole;
use crate::runtime::log::LogTags;
use crate::runtime::{Module, Role};

/// How long an attempt interrupted by its own timeout waits for core to
/// confirm the timeout (core's local timeout buffer is 5 s) before reporting.
const TIMEOUT_REPORT_WAIT: Duration = Duration::from_secs(10);

/// A failed attempt, as core takes it.
pub fn failed(message: String, error_type: &str, non_retryable: bool) -> ActivityExecutionResult {
    ActivityExecutionResult::fail(host_failure(message, error_type, non_retryable))
}

/// When the server will time the attempt out.
struct Timeouts {
    start_to_close: Option<Instant>,
    schedule_to_close: Option<Instant>,
    heartbeat: Option<Duration>,
}

impl Timeouts {
    fn of(info: &ActivityInfo, started: Instant) -> Timeouts {
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
        Timeouts {
            start_to_close: info
                .start_to_close_timeout
                .map(|n| started + Duration::from_nanos(n)),
            schedule_to_close,
            heartbeat: info
                .heartbeat_timeout
                .filter(|n| *n > 0)
                .map(Duration::from_nanos),
        }
    }

    /// The next timeout to pass and its name, given the last heartbeat.
    fn next(&self, last_heartbeat: Instant) -> Option<(Instant, &'static str)> {
        let candidates = [
            self.start_to_close.map(|at| (at, "start-to-close")),
            self.schedule_to_close.map(|at| (at, "schedule-to-close")),
            self.heartbeat.map(|hb| (last_heartbeat + hb, "heartbeat")),
        ];
        candidates.into_iter().flatten().min_by_key(|(at, _)| *at)
    }

    /// Resolves with the timeout's name once one has passed; heartbeats
    /// push the heartbeat timeout back.
    async fn passed(&self, control: &AttemptControl) -> &'static str {
        loop {
            let Some((at, which)) = self.next(control.last_heartbeat()) else {
                return std::future::pending().await;
            };
            tokio::time::sleep_until(at.into()).await;
            let still = self
                .next(control.last_heartbeat())
                .is_some_and(|(now_at, now_which)| now_which == which && now_at <= Instant::now());
            if still {
                return which;
            }
        }
    }
}

/// Resolves when the attempt must stop because it was cancelled: at once
/// when its time is up (or the server forgot it), after the queue's grace
/// when it may clean up.
async fn interrupted(control: &AttemptControl, grace: Duration) {
    control.cancelled.notified().await;
    if matches!(
        control.reason(),
        Some(CancelReason::Cancelled | CancelReason::WorkerShutdown)
    ) {
        tokio::time::sleep(grace).await;
    }
}

/// The store of one attempt, with the queue's grants.
fn store(
    queue: &Queue,
    module: &Module,
    role: &ActivityRole,
    info: &ActivityInfo,
    control: Arc<AttemptControl>,
) -> Result<Store<ActivityState>, ActivityExecutionResult> {
    let state = ActivityState::new(ActivitySandbox {
        env: &queue.grants.env,
        preopens: &queue.grants.preopens,
        allowlist: queue.grants.allowlist.clone(),
        memory_bytes: queue.bounds.activity_memory_bytes,
        account: queue.tenant.memory.clone(),
        meter: queue.meter(Role::Activity, &module.digest),
        tags: LogTags {
            tenant: queue.tenant.name.clone(),
            lines: queue.tenant.log_rate.clone(),
            namespace: queue.namespace.clone(),
            module_digest: module.digest.clone(),
            task_queue: queue.name.clone(),
            workflow_type: info.workflow_type.clone(),
            workflow_id: info.workflow_id.clone(),
            run_id: info.workflow_run_id.clone(),
            activity_type: Some(info.activity_type.clone()),
            attempt: Some(info.attempt),
        },
        control,
    })
    .map_err(|e| failed(e.to_string(), "PolyworkerSandbox", false))?;
    let mut store = Store::new(role.pre.engine(), state);
    store.limiter(|s| &mut s.limits);
    // Yield to tokio every epoch tick so a CPU-bound activity cannot starve
    // the pollers or other tasks.
    store.epoch_deadline_async_yield_and_update(1);
    Ok(store)
}

/// Instantiates the module in `store` and calls `execute`.
async fn execute(
    queue: &Queue,
    module: &Module,
    role: &ActivityRole,
    mut store: Store<ActivityState>,
    info: &ActivityInfo,
    input: &[Payload],
) -> ActivityExecutionResult {
    let meter = queue.meter(Role::Activity, &module.digest);
    let call = async {
        let began = Instant::now();
        let instance = role.pre.instantiate_async(&mut store).await?;
        meter.instantiated(began.elapsed());
        let guest = role.indices.load(&mut store, &instance)?;
        guest.call_execute(&mut store, info, input).await
    };
    match call.await {
        Ok(outcome) => activity_result(outcome, &queue.bounds.payloads),
        Err(e) => {
            let limits = RunLimits {
                deadline: Duration::ZERO,
                memory_bytes: queue.bounds.activity_memory_bytes,
                resources: StoreBounds::new(Role::Activity, 0).resources(),
            };
            let fault = classify(e, limits);
            meter.count_fault(&fault);
            // A budget refusal is the host's state, not the guest's fault:
            // its own type, so retry policies can tell them apart.
            let kind = match fault {
                GuestFault::Limit(
                    LimitExceeded::TenantBudget { .. } | LimitExceeded::HostBudget { .. },
                ) => "PolyworkerMemoryBudget",
                _ => "PolyworkerGuestTrap",
            };
            failed(format!("activity code trapped: {fault}"), kind, false)
        }
    }
}

/// Runs one attempt and returns what to report to core.
pub async fn attempt(
    queue: &Queue,
    task_token: Vec<u8>,
    start: Start,
    control: Arc<AttemptControl>,
) -> ActivityExecutionResult {
    let (info, input) = convert::activity_info(task_token, start, &queue.name);
    let started = Instant::now();
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
    let store = match store(queue, module, role, &info, control.clone()) {
        Ok(s) => s,
        Err(result) => return result,
    };
    let timeouts = Timeouts::of(&info, started);
    tokio::select! {
        which = timeouts.passed(&control) => {
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
        r = execute(queue, module, role, store, &info, &input) => r,
        _ = interrupted(&control, queue.bounds.cancel_grace) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_timeout_comes_next_and_heartbeats_push_theirs_back() {
        let t0 = Instant::now();
        let t = Timeouts {
            start_to_close: Some(t0 + Duration::from_secs(10)),
            schedule_to_close: Some(t0 + Duration::from_secs(20)),
            heartbeat: Some(Duration::from_secs(3)),
        };
        assert_eq!(t.next(t0).map(|(_, w)| w), Some("heartbeat"));
        let late = t0 + Duration::from_secs(8);
        assert_eq!(
            t.next(late),
            Some((t0 + Duration::from_secs(10), "start-to-close"))
        );
        let none = Timeouts {
            start_to_close: None,
            schedule_to_close: None,
            heartbeat: None,
        };
        assert_eq!(none.next(t0), None);
    }
}
