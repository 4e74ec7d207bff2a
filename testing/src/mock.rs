//! Activity mocks, by type: what each attempt answers, and a record of
//! every attempt. They are served by a real core activity worker on the
//! test's task queue, so the server applies retry policies and timeouts to
//! them as it would to real activities.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// What one attempt of a mocked activity does.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Completes with this result.
    Returns(Value),
    /// Fails, as an application error of type `error_type`; the server
    /// retries it unless `non_retryable` (or the retry policy says not).
    Fails {
        /// The failure's message.
        message: String,
        /// Its type, as retry policies' `non_retryable_error_types` name them.
        error_type: String,
        /// Whether no retry may follow.
        non_retryable: bool,
    },
    /// Never completes: the attempt ends by its start-to-close (or
    /// schedule-to-close, or heartbeat) timeout, in skipped time.
    Hangs,
}

impl Answer {
    /// A retryable failure of type `error_type`.
    pub fn fails(message: impl Into<String>, error_type: impl Into<String>) -> Answer {
        Answer::Fails {
            message: message.into(),
            error_type: error_type.into(),
            non_retryable: false,
        }
    }

    /// A failure no retry follows.
    pub fn fails_non_retryable(
        message: impl Into<String>,
        error_type: impl Into<String>,
    ) -> Answer {
        Answer::Fails {
            message: message.into(),
            error_type: error_type.into(),
            non_retryable: true,
        }
    }
}

/// One attempt the workflow caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The activity type.
    pub activity_type: String,
    /// Its arguments, each decoded as JSON (a payload that is not JSON is
    /// its text).
    pub input: Vec<Value>,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The activity id.
    pub activity_id: String,
}

/// Answers queued per activity type: each attempt takes the next; the last
/// one repeats.
#[derive(Debug, Default)]
pub(crate) struct Mocks {
    answers: Mutex<BTreeMap<String, VecDeque<Answer>>>,
    calls: Mutex<Vec<Call>>,
}

impl Mocks {
    pub(crate) fn push(&self, activity_type: &str, answers: Vec<Answer>) {
        let mut all = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(activity_type.to_string())
            .or_default()
            .extend(answers);
    }

    /// Records the attempt and says what it does; an activity without a
    /// mock fails without retry, naming the type.
    pub(crate) fn answer(&self, call: Call) -> Answer {
        let mut all = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        let answer = match all.get_mut(&call.activity_type) {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        };
        let answer = answer.unwrap_or_else(|| {
            let known: Vec<&String> = all.keys().collect();
            Answer::fails_non_retryable(
                format!(
                    "no mock for activity type {:?} (mocked: {known:?})",
                    call.activity_type
                ),
                "PolyworkerTestNoMock",
            )
        });
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
        answer
    }

    /// Every attempt so far, in order, and forgets them.
    pub(crate) fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Registers answers for one activity type (`TestEnv::on_activity`).
pub struct OnActivity {
    pub(crate) mocks: Arc<Mocks>,
    pub(crate) activity_type: String,
}

impl OnActivity {
    /// Every attempt completes with `result`.
    pub fn returns(self, result: Value) {
        self.answers(vec![Answer::Returns(result)]);
    }

    /// Attempts answer in order; the last answer repeats.
    pub fn answers(self, answers: Vec<Answer>) {
        self.mocks.push(&self.activity_type, answers);
    }
}
