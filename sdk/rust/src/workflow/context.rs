//! [`WorkflowContext`]: everything a workflow may do, in Temporal's vocabulary.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::options::{ActivityOptions, LocalActivityOptions, nanos};
use super::state::{Resolution, SeqKind, SharedState};
use crate::failure::Failure;
use crate::payload::{Payload, PayloadError, ToPayloads};
use crate::wit::polyworker::worker::types::{FailureKind, LogLevel};
use crate::wit::polyworker::worker::workflow_host;
use crate::wit::polyworker::worker::workflow_types::{
    ActivityResolution, Command, ScheduleActivity, ScheduleLocalActivity, SetPatchMarker,
    StartTimer, WorkflowInfo,
};

/// The handle a workflow function receives. Cheap to clone; all clones share
/// the run.
#[derive(Clone)]
pub struct WorkflowContext {
    pub(crate) state: SharedState,
}

impl WorkflowContext {
    /// What Temporal says about this run: type, ids, attempt, task queue, ...
    pub fn info(&self) -> WorkflowInfo {
        self.state.borrow().info.clone()
    }

    /// Workflow time: the time of the workflow task being processed, the same on replay.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.state.borrow().now_nanos)
    }

    /// True while the run replays history it already made.
    pub fn is_replaying(&self) -> bool {
        self.state.borrow().replaying
    }

    /// True when the server suggests continuing as new (history getting large).
    pub fn continue_as_new_suggested(&self) -> bool {
        self.state.borrow().continue_as_new_suggested
    }

    /// A random number that replays identically: the host seeds the
    /// workflow's `wasi:random` from the run's seed.
    pub fn random(&self) -> u64 {
        crate::random_u64()
    }

    /// Logs a line, dropped while replaying.
    pub fn log(&self, level: LogLevel, message: &str) {
        workflow_host::log(level, message);
    }

    /// Logs at info level.
    pub fn log_info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    fn push(&self, command: Command) {
        self.state.borrow_mut().commands.push(command);
    }

    /// A durable timer. A zero duration resolves at once without a command.
    pub fn timer(&self, duration: Duration) -> impl Future<Output = ()> + 'static {
        let seq = if duration.is_zero() {
            None
        } else {
            let seq = self.state.borrow_mut().next_seq(SeqKind::Timer);
            self.push(Command::StartTimer(StartTimer {
                seq,
                duration: nanos(duration),
            }));
            Some(seq)
        };
        let state = self.state.clone();
        async move {
            if let Some(seq) = seq {
                Resolve::new(state, SeqKind::Timer, seq).await;
            }
        }
    }

    /// Schedules an activity and waits for its result, decoded as `R`.
    ///
    /// The error is Temporal's activity failure: its `causes` hold the
    /// activity's own error (see [`Failure::root_message`]).
    pub fn activity<R: DeserializeOwned + 'static>(
        &self,
        activity_type: &str,
        args: impl ToPayloads,
        options: ActivityOptions,
    ) -> impl Future<Output = Result<R, Failure>> + 'static {
        self.start_activity(activity_type, args, options).result()
    }

    /// Schedules an activity and returns a handle to await or cancel it.
    pub fn start_activity(
        &self,
        activity_type: &str,
        args: impl ToPayloads,
        options: ActivityOptions,
    ) -> ActivityHandle {
        let scheduled = args.to_payloads().map(|arguments| {
            let seq = self.state.borrow_mut().next_seq(SeqKind::Activity);
            self.push(Command::ScheduleActivity(ScheduleActivity {
                seq,
                activity_id: options
                    .activity_id
                    .clone()
                    .unwrap_or_else(|| seq.to_string()),
                activity_type: activity_type.to_string(),
                task_queue: options.task_queue.clone().unwrap_or_default(),
                arguments,
                headers: Vec::new(),
                schedule_to_close_timeout: options.schedule_to_close_timeout.map(nanos),
                schedule_to_start_timeout: options.schedule_to_start_timeout.map(nanos),
                start_to_close_timeout: options.start_to_close_timeout.map(nanos),
                heartbeat_timeout: options.heartbeat_timeout.map(nanos),
                retry_policy: options.retry_policy.as_ref().map(|p| p.to_wit()),
                cancellation_type: options.cancellation_type.into(),
            }));
            seq
        });
        ActivityHandle {
            state: self.state.clone(),
            scheduled,
        }
    }

    /// Schedules a local activity: run by this worker, recorded as a marker.
    pub fn local_activity<R: DeserializeOwned>(
        &self,
        activity_type: &str,
        args: impl ToPayloads,
        options: LocalActivityOptions,
    ) -> impl Future<Output = Result<R, Failure>> + 'static {
        let ctx = self.clone();
        let activity_type = activity_type.to_string();
        let arguments = args.to_payloads();
        async move {
            let arguments = arguments?;
            let mut attempt = 1;
            let mut original_schedule_time = None;
            loop {
                let seq = ctx.state.borrow_mut().next_seq(SeqKind::LocalActivity);
                ctx.push(Command::ScheduleLocalActivity(ScheduleLocalActivity {
                    seq,
                    activity_id: options
                        .activity_id
                        .clone()
                        .unwrap_or_else(|| seq.to_string()),
                    activity_type: activity_type.clone(),
                    attempt,
                    original_schedule_time,
                    arguments: arguments.clone(),
                    headers: Vec::new(),
                    schedule_to_close_timeout: options.schedule_to_close_timeout.map(nanos),
                    schedule_to_start_timeout: None,
                    start_to_close_timeout: options.start_to_close_timeout.map(nanos),
                    retry_policy: options.retry_policy.as_ref().map(|p| p.to_wit()),
                    local_retry_threshold: options.local_retry_threshold.map(nanos),
                    cancellation_type: options.cancellation_type.into(),
                }));
                let r = Resolve::new(ctx.state.clone(), SeqKind::LocalActivity, seq).await;
                if let Resolution::Activity(ActivityResolution::Backoff(b)) = r {
                    // Core asks lang to sleep through long back-offs with a real timer.
                    ctx.timer(Duration::from_nanos(b.backoff)).await;
                    attempt = b.attempt;
                    original_schedule_time = b.original_schedule_time;
                    continue;
                }
                return decode_activity(r);
            }
        }
    }

    /// Receives the signals named `name`, in the order they arrived. Signals
    /// that arrive before anyone waits are buffered.
    pub fn signal_channel(&self, name: &str) -> SignalChannel {
        SignalChannel {
            state: self.state.clone(),
            name: name.to_string(),
        }
    }

    /// Answers queries named `name` with `handler`'s value (JSON-encoded).
    pub fn handle_query<T, F>(&self, name: &str, handler: F)
    where
        T: serde::Serialize,
        F: Fn(&[Payload]) -> Result<T, Failure> + 'static,
    {
        self.state.borrow_mut().queries.insert(
            name.to_string(),
            std::rc::Rc::new(move |args| {
                let value = handler(args)?;
                Ok(Payload::json(&value)?)
            }),
        );
    }

    /// Temporal's patching API: true when this run should take the new code
    /// path marked by `patch_id`. New runs take it (and record a marker);
    /// replays of runs that started before the patch do not.
    pub fn patched(&self, patch_id: &str) -> bool {
        self.patch(patch_id, false)
    }

    /// Marks a patch whose old code path is gone: every run takes the new
    /// path, and histories with or without the marker both replay.
    pub fn deprecate_patch(&self, patch_id: &str) {
        self.patch(patch_id, true);
    }

    fn patch(&self, patch_id: &str, deprecated: bool) -> bool {
        let mut s = self.state.borrow_mut();
        if let Some(v) = s.patch_memo.get(patch_id) {
            return *v;
        }
        let taken = deprecated || !s.replaying || s.notified_patches.contains(patch_id);
        if taken {
            s.commands.push(Command::SetPatchMarker(SetPatchMarker {
                patch_id: patch_id.to_string(),
                deprecated,
            }));
        }
        s.patch_memo.insert(patch_id.to_string(), taken);
        taken
    }

    /// Whether the workflow was asked to cancel.
    pub fn is_cancel_requested(&self) -> bool {
        self.state.borrow().cancel_requested.is_some()
    }

    /// Resolves when the workflow is asked to cancel.
    pub fn cancelled(&self) -> impl Future<Output = ()> + 'static {
        let state = self.state.clone();
        std::future::poll_fn(move |cx| {
            if state.borrow_mut().wait_cancel(cx.waker()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

pub(super) fn unexpected(what: &str, r: Resolution) -> Failure {
    Failure::application(
        format!("unexpected resolution for {what}: {r:?}"),
        "NondeterminismError",
    )
}

fn decode_activity<R: DeserializeOwned>(r: Resolution) -> Result<R, Failure> {
    match r {
        Resolution::Activity(ActivityResolution::Completed(p)) => {
            decode_optional(p.as_ref()).map_err(Failure::from)
        }
        Resolution::Activity(ActivityResolution::Failed(f))
        | Resolution::Activity(ActivityResolution::Cancelled(f)) => Err(f),
        other => Err(unexpected("an activity", other)),
    }
}

pub(crate) fn decode_optional<R: DeserializeOwned>(p: Option<&Payload>) -> Result<R, PayloadError> {
    match p {
        Some(p) => p.decode(),
        None => serde_json::from_slice(b"null")
            .map_err(|e| PayloadError(format!("no result to decode: {e}"))),
    }
}

/// A scheduled activity: await its result with [`ActivityHandle::result`],
/// or ask for it to stop with [`ActivityHandle::cancel`].
pub struct ActivityHandle {
    state: SharedState,
    scheduled: Result<u32, PayloadError>,
}

impl ActivityHandle {
    /// Requests cancellation. How the activity resolves depends on the
    /// options' cancellation type: at once as cancelled (`TryCancel`,
    /// `Abandon`) or when the activity reports it stopped
    /// (`WaitCancellationCompleted`).
    pub fn cancel(&self) {
        if let Ok(seq) = self.scheduled {
            self.state
                .borrow_mut()
                .commands
                .push(Command::RequestCancelActivity(seq));
        }
    }

    /// Waits for the activity's result, decoded as `R`.
    pub fn result<R: DeserializeOwned + 'static>(
        &self,
    ) -> impl Future<Output = Result<R, Failure>> + use<R> {
        let state = self.state.clone();
        let scheduled = self.scheduled.clone();
        async move {
            let seq = scheduled?;
            decode_activity(Resolve::new(state, SeqKind::Activity, seq).await)
        }
    }
}

/// The signals of one name.
pub struct SignalChannel {
    state: SharedState,
    name: String,
}

impl SignalChannel {
    /// Waits for the next signal and returns its arguments.
    pub fn recv_raw(&self) -> impl Future<Output = Vec<Payload>> + 'static {
        let state = self.state.clone();
        let name = self.name.clone();
        std::future::poll_fn(
            move |cx| match state.borrow_mut().pop_signal(&name, cx.waker()) {
                Some(v) => Poll::Ready(v),
                None => Poll::Pending,
            },
        )
    }

    /// Waits for the next signal and decodes its first argument.
    pub fn recv<T: DeserializeOwned>(
        &self,
    ) -> impl Future<Output = Result<T, PayloadError>> + 'static {
        let raw = self.recv_raw();
        async move { decode_optional(raw.await.first()) }
    }
}

/// Waits for the resolution of one command.
pub(super) struct Resolve {
    state: SharedState,
    kind: SeqKind,
    seq: u32,
}

impl Resolve {
    pub(super) fn new(state: SharedState, kind: SeqKind, seq: u32) -> Self {
        Resolve { state, kind, seq }
    }
}

impl Future for Resolve {
    type Output = Resolution;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Resolution> {
        match self
            .state
            .borrow_mut()
            .take_resolution(self.kind, self.seq, cx.waker())
        {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

/// Whether a failure kind is a cancellation (helper for workflow code).
pub fn is_cancellation(kind: &FailureKind) -> bool {
    matches!(kind, FailureKind::Cancelled(_))
}
