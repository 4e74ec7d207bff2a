//! `polyworker-test scenario FILE.json`: unit tests written as data, for
//! languages without a test helper of their own (C, Zig, anything that
//! builds a component). A scenario names the component and lists tests;
//! each mocks activities with answers in order (the last repeats), runs a
//! workflow, and states what must hold:
//!
//! ```json
//! {"component": "../../target/guests/c/data-routing-c.wasm",
//!  "tests": [{
//!    "name": "delivered on the first route",
//!    "workflow": "DataRoutingWorkflow",
//!    "args": [{"ID": "packet-1"}],
//!    "activities": {
//!      "GetRouteActivity": [{"returns": "goodRoute"}],
//!      "TransmitActivity": [{"fails": {"message": "down", "type": "X"}}, {"hangs": true},
//!                           {"returns": {}, "after_seconds": 3}]
//!    },
//!    "expect": {"result": {"Status": "STATUS_DELIVERED"}, "calls": {"TransmitActivity": 3}}
//!  }]}
//! ```
//!
//! `expect.result` matches when every key it names has that value (objects
//! are compared the same way, key by key; anything else must be equal);
//! `expect.failure` is text the failure (with its causes) must contain.
//! The component's path is relative to the scenario file. Results print
//! as TAP; the exit code is non-zero if any test fails.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::{Answer, Outcome, TestEnv};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    component: String,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    workflow: String,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    activities: BTreeMap<String, Vec<MockAnswer>>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockAnswer {
    returns: Option<Value>,
    fails: Option<MockFailure>,
    #[serde(default)]
    hangs: bool,
    after_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockFailure {
    message: String,
    #[serde(default, rename = "type")]
    error_type: String,
    #[serde(default)]
    non_retryable: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    result: Option<Value>,
    failure: Option<String>,
    #[serde(default)]
    calls: BTreeMap<String, usize>,
}

impl MockAnswer {
    fn answer(self) -> Answer {
        let answer = match (self.hangs, self.fails, self.returns) {
            (true, _, _) => Answer::Hangs,
            (_, Some(f), _) => Answer::Fails {
                message: f.message,
                error_type: f.error_type,
                non_retryable: f.non_retryable,
            },
            (_, None, v) => Answer::Returns(v.unwrap_or(Value::Null)),
        };
        match self
            .after_seconds
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        {
            Some(d) => Answer::after(d, answer),
            None => answer,
        }
    }
}

/// Whether `actual` has everything `expected` names.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av))),
        _ => expected == actual,
    }
}

/// Runs the scenario at `path`; whether every test passed. Problems with
/// the file itself are returned as text for the CLI to print.
pub async fn run(path: &Path) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario: Scenario =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let component = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&scenario.component);
    println!("1..{}", scenario.tests.len());
    let mut all = true;
    for (i, case) in scenario.tests.into_iter().enumerate() {
        let name = case.name.clone();
        match check(&component, case).await {
            Ok(()) => println!("ok {} - {name}", i + 1),
            Err(why) => {
                all = false;
                println!("not ok {} - {name}", i + 1);
                for line in why.lines() {
                    println!("  # {line}");
                }
            }
        }
    }
    Ok(all)
}

async fn check(component: &Path, case: Case) -> Result<(), String> {
    let env = TestEnv::start(component).await.map_err(|e| e.to_string())?;
    for (activity_type, answers) in case.activities {
        env.on_activity(&activity_type)
            .answers(answers.into_iter().map(MockAnswer::answer).collect());
    }
    let run = env.execute(&case.workflow, &case.args).await;
    env.shutdown().await;
    let run = run.map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    match (&case.expect.result, &run.outcome) {
        (Some(want), Outcome::Completed(got)) if !matches(want, got) => {
            problems.push(format!("result {got} does not match {want}"))
        }
        (Some(_), Outcome::Completed(_)) | (None, _) => {}
        (Some(_), other) => problems.push(format!("expected a result, the run ended {other:?}")),
    }
    if let Some(text) = &case.expect.failure {
        match &run.outcome {
            Outcome::Failed(f) if format!("{f:?}").contains(text.as_str()) => {}
            other => problems.push(format!(
                "expected a failure with {text:?}, the run ended {other:?}"
            )),
        }
    }
    for (activity_type, n) in &case.expect.calls {
        let got = run.calls_of(activity_type).len();
        if got != *n {
            problems.push(format!("{activity_type}: {got} attempts, expected {n}"));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_result_matches_on_the_keys_the_expectation_names() {
        let got = json!({"Status": "OK", "Route": {"a": 1, "b": 2}, "N": [1, 2]});
        assert!(matches(&json!({"Status": "OK"}), &got));
        assert!(matches(&json!({"Route": {"a": 1}}), &got));
        assert!(
            !matches(&json!({"N": [1]}), &got),
            "arrays are equal or not"
        );
        assert!(!matches(&json!({"Missing": null}), &got));
        assert!(!matches(&json!("OK"), &got));
    }
}
