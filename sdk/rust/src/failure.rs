//! Errors in Temporal's vocabulary: application failures, cancellation, and
//! the failures a workflow sees when an activity or child fails.

use crate::payload::{Payload, PayloadError};
pub use crate::wit::polyworker::worker::types::{
    ApplicationFailure, Failure, FailureCause, FailureKind, RetryState, TimeoutType,
};

impl Failure {
    /// An application failure with a type name (matched by retry policies).
    pub fn application(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            kind: FailureKind::Application(ApplicationFailure {
                type_: error_type.into(),
                non_retryable: false,
                details: Vec::new(),
                next_retry_delay: None,
            }),
            stack_trace: String::new(),
            causes: Vec::new(),
        }
    }

    /// An application failure that no retry policy retries (a workflow's
    /// bad input, say).
    pub fn non_retryable(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        let mut f = Failure::application(message, error_type);
        if let FailureKind::Application(a) = &mut f.kind {
            a.non_retryable = true;
        }
        f
    }

    /// Whether this failure, or one of its causes, is a cancellation.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, FailureKind::Cancelled(_))
            || self
                .causes
                .iter()
                .any(|c| matches!(c.kind, FailureKind::Cancelled(_)))
    }

    /// Whether this failure, or one of its causes, is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, FailureKind::Timeout(_))
            || self
                .causes
                .iter()
                .any(|c| matches!(c.kind, FailureKind::Timeout(_)))
    }

    /// The innermost cause's message: for an activity failure, the activity's own error.
    pub fn root_message(&self) -> &str {
        self.causes
            .last()
            .map(|c| c.message.as_str())
            .unwrap_or(&self.message)
    }
}

impl From<PayloadError> for Failure {
    fn from(e: PayloadError) -> Self {
        Failure::application(e.0, "PayloadError")
    }
}

/// An error returned by an activity.
#[derive(Debug, Clone)]
pub enum ActivityError {
    /// Retried per the retry policy unless `non_retryable`.
    Failed {
        /// What went wrong.
        message: String,
        /// The type retry policies match (`non_retryable_error_types`).
        error_type: String,
        /// Fail the activity without further attempts.
        non_retryable: bool,
        /// Values the workflow sees with the failure.
        details: Vec<Payload>,
    },
    /// The activity saw its cancellation and stopped.
    Cancelled {
        /// Values the workflow sees with the cancellation.
        details: Vec<Payload>,
    },
    /// Not an error: the activity will be completed later by task token (by
    /// any Temporal client). Temporal's Go and TypeScript SDKs signal async
    /// completion the same way, by returning a dedicated error.
    CompleteAsync,
}

impl ActivityError {
    /// A retryable failure.
    pub fn retryable(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        ActivityError::Failed {
            message: message.into(),
            error_type: error_type.into(),
            non_retryable: false,
            details: Vec::new(),
        }
    }

    /// A failure that Temporal does not retry.
    pub fn non_retryable(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        ActivityError::Failed {
            message: message.into(),
            error_type: error_type.into(),
            non_retryable: true,
            details: Vec::new(),
        }
    }
}

impl std::fmt::Display for ActivityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActivityError::Failed {
                message,
                error_type,
                ..
            } => write!(f, "{error_type}: {message}"),
            ActivityError::Cancelled { .. } => f.write_str("activity cancelled"),
            ActivityError::CompleteAsync => f.write_str("activity completes asynchronously"),
        }
    }
}

impl std::error::Error for ActivityError {}

impl From<PayloadError> for ActivityError {
    fn from(e: PayloadError) -> Self {
        ActivityError::non_retryable(e.0, "PayloadError")
    }
}
