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

    /// The task token in standard base64, the form `polyworker activity
    /// complete --task-token` and most tools take.
    pub fn task_token_base64(&self) -> String {
        base64(&self.info.task_token)
    }

    /// Records progress; a retry sees the last details in `info().heartbeat_details`.
    pub fn heartbeat(&self, details: Vec<Payload>) {
        activity_host::heartbeat(&details);
    }

    /// Set once the host asks this attempt to stop. Heartbeat regularly to learn of it.
    pub fn cancellation(&self) -> Option<CancelReason> {
        activity_host::cancellation()
    }

    /// The W3C `traceparent` of this attempt (its span, or what scheduled
    /// it), to forward on the activity's own calls, e.g. as the
    /// `traceparent` header of an HTTP request.
    pub fn trace_parent(&self) -> Option<String> {
        activity_host::trace_parent()
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

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
