//! Options for the commands a workflow issues, with Temporal's defaults.

use std::time::Duration;

use crate::wit::polyworker::worker::types::RetryPolicy as WitRetryPolicy;
use crate::wit::polyworker::worker::workflow_types::ActivityCancellationType;

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How the server retries a failed activity. Unset fields take the server's defaults
/// (1 s initial interval, coefficient 2, maximum 100 × initial, unlimited attempts).
#[derive(Debug, Clone, Default)]
pub struct RetryPolicy {
    /// The wait before the first retry.
    pub initial_interval: Option<Duration>,
    /// How much each wait grows.
    pub backoff_coefficient: Option<f64>,
    /// The longest wait.
    pub maximum_interval: Option<Duration>,
    /// 0 means unlimited.
    pub maximum_attempts: u32,
    /// Error types that are never retried.
    pub non_retryable_error_types: Vec<String>,
}

impl RetryPolicy {
    pub(crate) fn to_wit(&self) -> WitRetryPolicy {
        WitRetryPolicy {
            initial_interval: self.initial_interval.map(nanos),
            backoff_coefficient: self.backoff_coefficient,
            maximum_interval: self.maximum_interval.map(nanos),
            maximum_attempts: self.maximum_attempts,
            non_retryable_error_types: self.non_retryable_error_types.clone(),
        }
    }
}

/// What happens to an activity when the workflow cancels it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CancellationType {
    /// Request cancellation and resolve as cancelled at once.
    #[default]
    TryCancel,
    /// Request cancellation and wait until the activity acknowledges it.
    WaitCancellationCompleted,
    /// Resolve as cancelled without telling the activity.
    Abandon,
}

impl From<CancellationType> for ActivityCancellationType {
    fn from(c: CancellationType) -> Self {
        match c {
            CancellationType::TryCancel => ActivityCancellationType::TryCancel,
            CancellationType::WaitCancellationCompleted => {
                ActivityCancellationType::WaitCancellationCompleted
            }
            CancellationType::Abandon => ActivityCancellationType::Abandon,
        }
    }
}

/// Options for scheduling an activity. Temporal requires a start-to-close or
/// schedule-to-close timeout.
#[derive(Debug, Clone, Default)]
pub struct ActivityOptions {
    /// Defaults to the workflow's task queue.
    pub task_queue: Option<String>,
    /// Defaults to the command's sequence number, as other SDKs do.
    pub activity_id: Option<String>,
    /// From scheduling to the end of the last attempt.
    pub schedule_to_close_timeout: Option<Duration>,
    /// From scheduling until a worker starts an attempt.
    pub schedule_to_start_timeout: Option<Duration>,
    /// One attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// The longest gap between heartbeats.
    pub heartbeat_timeout: Option<Duration>,
    /// How failed attempts are retried.
    pub retry_policy: Option<RetryPolicy>,
    /// What a cancellation waits for.
    pub cancellation_type: CancellationType,
}

impl ActivityOptions {
    /// Options with a start-to-close timeout, the one most activities need.
    pub fn start_to_close(timeout: Duration) -> Self {
        ActivityOptions {
            start_to_close_timeout: Some(timeout),
            ..Default::default()
        }
    }

    /// With `policy` for failed attempts.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// On another task queue.
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.task_queue = Some(queue.into());
        self
    }
}

/// Options for a local activity (run by the workflow's own worker, recorded as a marker).
#[derive(Debug, Clone, Default)]
pub struct LocalActivityOptions {
    /// Defaults to the command's sequence number.
    pub activity_id: Option<String>,
    /// From scheduling to the end of the last attempt.
    pub schedule_to_close_timeout: Option<Duration>,
    /// One attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// How failed attempts are retried.
    pub retry_policy: Option<RetryPolicy>,
    /// Retries backing off longer than this become a timer in the workflow.
    pub local_retry_threshold: Option<Duration>,
    /// What a cancellation waits for.
    pub cancellation_type: CancellationType,
}
