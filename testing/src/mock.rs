//! Activity mocks, by type: what each attempt answers, and a record of
//! every attempt. They are served by a real core activity worker on the
//! test's task queue, so the server applies retry policies and timeouts to
//! them as it would to real activities.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
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
    /// Answers `then` after `delay` of virtual time (a slow activity; past
    /// the attempt's timeout, the timeout wins).
    After {
        /// How long the attempt takes.
        delay: std::time::Duration,
        /// What it then answers.
        then: Box<Answer>,
    },
    /// Heartbeats with `details`, then answers `then`. A later attempt
    /// sees the details in [`Call::heartbeat_details`] (the server keeps
    /// the last ones when an attempt fails or times out).
    Heartbeats {
        /// The heartbeat's details, one value each.
        details: Vec<Value>,
        /// What the attempt does next.
        then: Box<Answer>,
    },
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

    /// `then`, after `delay` of virtual time.
    pub fn after(delay: std::time::Duration, then: Answer) -> Answer {
        Answer::After {
            delay,
            then: Box::new(then),
        }
    }

    /// A heartbeat with `details`, then `then`.
    pub fn heartbeat(details: Vec<Value>, then: Answer) -> Answer {
        Answer::Heartbeats {
            details,
            then: Box::new(then),
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

/// An answer as other languages write it: in scenario files and over
/// `polyworker-test`'s stdio. `heartbeat` comes first, then the
/// `after_seconds` delay, then the answer itself.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireAnswer {
    returns: Option<Value>,
    fails: Option<WireFailure>,
    #[serde(default)]
    hangs: bool,
    /// Virtual seconds the attempt takes before it answers.
    after_seconds: Option<f64>,
    /// Heartbeat details recorded before anything else.
    heartbeat: Option<Vec<Value>>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFailure {
    message: String,
    #[serde(default, rename = "type")]
    error_type: String,
    #[serde(default)]
    non_retryable: bool,
}

impl WireAnswer {
    pub(crate) fn answer(self) -> Answer {
        let mut answer = match (self.hangs, self.fails, self.returns) {
            (true, _, _) => Answer::Hangs,
            (_, Some(f), _) => Answer::Fails {
                message: f.message,
                error_type: f.error_type,
                non_retryable: f.non_retryable,
            },
            (_, None, v) => Answer::Returns(v.unwrap_or(Value::Null)),
        };
        let delay = self
            .after_seconds
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok());
        if let Some(d) = delay {
            answer = Answer::after(d, answer);
        }
        match self.heartbeat {
            Some(details) => Answer::heartbeat(details, answer),
            None => answer,
        }
    }
}

/// One attempt the workflow caused.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    /// The last heartbeat details of an earlier attempt (empty on the first).
    pub heartbeat_details: Vec<Value>,
}

/// An answer computed from the attempt (a mock written as a function, or
/// one answered by another process).
pub type Handler = Arc<dyn Fn(Call) -> Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync>;

/// One activity type's mock.
enum Mock {
    /// Each attempt takes the next; the last one repeats.
    Queue(VecDeque<Answer>),
    /// Each attempt is answered by the handler.
    Handler(Handler),
}

/// The mocks of one environment, and every attempt they answered.
#[derive(Default)]
pub(crate) struct Mocks {
    by_type: Mutex<BTreeMap<String, Mock>>,
    /// Answers the attempts of every type without a mock of its own.
    fallback: Mutex<Option<Handler>>,
    calls: Mutex<Vec<Call>>,
}

impl Mocks {
    /// Replaces the type's mock with `answers`.
    pub(crate) fn push(&self, activity_type: &str, answers: Vec<Answer>) {
        let mut all = self.by_type.lock().unwrap_or_else(|e| e.into_inner());
        all.insert(activity_type.to_string(), Mock::Queue(answers.into()));
    }

    pub(crate) fn handle(&self, activity_type: &str, handler: Handler) {
        let mut all = self.by_type.lock().unwrap_or_else(|e| e.into_inner());
        all.insert(activity_type.to_string(), Mock::Handler(handler));
    }

    pub(crate) fn handle_all(&self, handler: Handler) {
        *self.fallback.lock().unwrap_or_else(|e| e.into_inner()) = Some(handler);
    }

    /// What the next attempt of a type answers from its queue, or the
    /// handler that computes it.
    fn next(&self, activity_type: &str) -> Result<Answer, Option<Handler>> {
        let mut all = self.by_type.lock().unwrap_or_else(|e| e.into_inner());
        match all.get_mut(activity_type) {
            Some(Mock::Queue(q)) if q.len() > 1 => q.pop_front().ok_or(None),
            Some(Mock::Queue(q)) => q.front().cloned().ok_or(None),
            Some(Mock::Handler(h)) => Err(Some(h.clone())),
            None => Err(self
                .fallback
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()),
        }
    }

    /// Records the attempt and says what it does; an activity without a
    /// mock fails without retry, naming the type.
    pub(crate) async fn answer(&self, call: Call) -> Answer {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call.clone());
        match self.next(&call.activity_type) {
            Ok(answer) => answer,
            Err(Some(handler)) => handler(call).await,
            Err(None) => {
                let known: Vec<String> = self
                    .by_type
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .keys()
                    .cloned()
                    .collect();
                Answer::fails_non_retryable(
                    format!(
                        "no mock for activity type {:?} (mocked: {known:?})",
                        call.activity_type
                    ),
                    "PolyworkerTestNoMock",
                )
            }
        }
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

    /// Attempts answer in order; the last answer repeats. Replaces what
    /// the type was mocked with before.
    pub fn answers(self, answers: Vec<Answer>) {
        self.mocks.push(&self.activity_type, answers);
    }

    /// Each attempt is answered by `f`, from the attempt's input and number.
    pub fn with(self, f: impl Fn(&Call) -> Answer + Send + Sync + 'static) {
        let f = Arc::new(f);
        self.mocks.handle(
            &self.activity_type,
            Arc::new(move |call| {
                let f = f.clone();
                Box::pin(async move { f(&call) })
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_wire_answer_heartbeats_then_waits_then_answers() {
        let wire: WireAnswer = serde_json::from_value(json!({
            "heartbeat": [3], "after_seconds": 1.5, "fails": {"message": "m", "type": "T"}
        }))
        .expect("a valid answer");
        assert_eq!(
            wire.answer(),
            Answer::heartbeat(
                vec![json!(3)],
                Answer::after(
                    std::time::Duration::from_millis(1500),
                    Answer::fails("m", "T")
                )
            )
        );
        let bad = serde_json::from_value::<WireAnswer>(json!({"heartbeats": [1]}));
        assert!(bad.is_err_and(|e| e.to_string().contains("unknown field `heartbeats`")));
    }
}
