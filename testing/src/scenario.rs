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
//! A test may also list `steps`, taken in order on the started run before
//! its result is awaited: `{"sleep": {"seconds": s}}` of virtual time,
//! `{"signal": {"name", "args"}}`, `{"query": {"name", "args", "expect"}}`
//! and `{"update": {"name", "args", "expect"}}` (or `"rejected": text` for
//! a validator's refusal). A mock answer may start with a heartbeat:
//! `{"heartbeat": [details…], "fails": …}`.
//!
//! `expect.result` matches when every key it names has that value (objects
//! are compared the same way, key by key; anything else must be equal);
//! `expect.failure` is text the failure (with its causes) must contain.
//! The component's path is relative to the scenario file. Results print
//! as TAP; the exit code is non-zero if any test fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::mock::WireAnswer;
use crate::{Outcome, Run, TestEnv, TestError, WorkflowHandle};

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
    activities: BTreeMap<String, Vec<WireAnswer>>,
    /// What happens to the run, in order, before its result is awaited.
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default)]
    expect: Expect,
}

/// One thing done to a started run, at the virtual time reached so far.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    /// Lets virtual time pass.
    Sleep { seconds: f64 },
    Signal {
        name: String,
        #[serde(default)]
        args: Vec<Value>,
    },
    /// `expect` is matched as a result is.
    Query {
        name: String,
        #[serde(default)]
        args: Vec<Value>,
        expect: Option<Value>,
    },
    /// `expect` matches its result; `rejected`, text of its failure.
    Update {
        name: String,
        #[serde(default)]
        args: Vec<Value>,
        expect: Option<Value>,
        rejected: Option<String>,
    },
}

impl Step {
    /// Does the step; what did not hold, if anything.
    async fn take(self, env: &TestEnv, run: &WorkflowHandle<'_>) -> Result<(), String> {
        let fail = |e: TestError| e.to_string();
        match self {
            Step::Sleep { seconds } => {
                let d = Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())?;
                env.sleep(d).await.map_err(fail)
            }
            Step::Signal { name, args } => run.signal(&name, &args).await.map_err(fail),
            Step::Query { name, args, expect } => {
                let got = run.query(&name, &args).await.map_err(fail)?;
                match expect {
                    Some(want) if !matches(&want, &got) => {
                        Err(format!("query {name}: {got} does not match {want}"))
                    }
                    _ => Ok(()),
                }
            }
            Step::Update {
                name,
                args,
                expect,
                rejected,
            } => match (
                run.update(&name, &args).await.map_err(fail)?,
                expect,
                rejected,
            ) {
                (Ok(got), Some(want), _) if !matches(&want, &got) => {
                    Err(format!("update {name}: {got} does not match {want}"))
                }
                (Ok(got), _, Some(text)) => Err(format!(
                    "update {name}: expected a rejection with {text:?}, it answered {got}"
                )),
                (Err(f), _, Some(text)) if f.message.contains(&text) => Ok(()),
                (Err(f), _, _) => Err(format!("update {name} failed: {}", f.message)),
                (Ok(_), _, None) => Ok(()),
            },
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    result: Option<Value>,
    failure: Option<String>,
    #[serde(default)]
    calls: BTreeMap<String, usize>,
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
            .answers(answers.into_iter().map(WireAnswer::answer).collect());
    }
    let run = drive(&env, &case.workflow, &case.args, case.steps).await;
    env.shutdown().await;
    let run = run?;
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

/// Starts the run, takes its steps, and waits for its result.
async fn drive(
    env: &TestEnv,
    workflow: &str,
    args: &[Value],
    steps: Vec<Step>,
) -> Result<Run, String> {
    let run = env
        .start_workflow(workflow, args)
        .await
        .map_err(|e| e.to_string())?;
    for (i, step) in steps.into_iter().enumerate() {
        step.take(env, &run)
            .await
            .map_err(|why| format!("step {}: {why}", i + 1))?;
    }
    run.result().await.map_err(|e| e.to_string())
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
