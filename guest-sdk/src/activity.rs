//! Activities: ordinary (async) functions with a context for heartbeats,
//! cancellation and async completion.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::payload::Payload;
use crate::wit::polyworker::worker::activity_host;
pub use crate::wit::polyworker::worker::activity_types::{ActivityInfo, CancelReason};
use crate::wit::polyworker::worker::types::LogLevel;

/// The handle an activity function receives.
#[derive(Debug, Clone)]
pub struct ActivityContext {
    info: ActivityInfo,
}

impl ActivityContext {
    pub(crate) fn new(info: ActivityInfo) -> Self {
        ActivityContext { info }
    }

    /// What Temporal says about this attempt: ids, attempt number, deadlines,
    /// the task token, the last heartbeat details of a previous attempt.
    pub fn info(&self) -> &ActivityInfo {
        &self.info
    }

    /// The task token, for completing the activity later (see [`crate::ActivityError::CompleteAsync`]).
    pub fn task_token(&self) -> &[u8] {
        &self.info.task_token
    }

    /// Records progress; a retry sees the last details in `info().heartbeat_details`.
    pub fn heartbeat(&self, details: Vec<Payload>) {
        activity_host::heartbeat(&details);
    }

    /// Set once the host asks this attempt to stop. Heartbeat regularly to learn of it.
    pub fn cancellation(&self) -> Option<CancelReason> {
        activity_host::cancellation()
    }

    /// Logs a line tagged with the activity's ids.
    pub fn log(&self, level: LogLevel, message: &str) {
        activity_host::log(level, message);
    }

    /// Logs at info level.
    pub fn log_info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Runs an activity future to completion. Host calls block the guest, so an
/// activity future is only pending while it spins on its own state.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
