//! Tests written as data (`polyworker-test scenario`): a passing and a
//! failing expectation, against the Rust data-routing component.

use polyworker_testing::scenario;

fn scenario_file(expect_status: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "polyworker-scenario-{}-{expect_status}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let component = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/data_routing.wasm");
    let file = dir.join("tests.json");
    let text = serde_json::json!({
        "component": component,
        "tests": [{
            "name": "delivered",
            "workflow": "DataRoutingWorkflow",
            "args": [{"ID": "p"}],
            "activities": {
                "GetRouteActivity": [{"returns": "r"}],
                "TransmitActivity": [{"returns": {}}]
            },
            "expect": {"result": {"Status": expect_status}, "calls": {"TransmitActivity": 1}}
        }]
    });
    std::fs::write(&file, text.to_string()).expect("write the scenario");
    file
}

#[tokio::test]
async fn a_scenario_passes_when_its_expectations_hold_and_fails_when_not() {
    assert_eq!(
        scenario::run(&scenario_file("STATUS_DELIVERED")).await,
        Ok(true)
    );
    assert_eq!(
        scenario::run(&scenario_file("STATUS_LOST")).await,
        Ok(false)
    );
}

#[tokio::test]
async fn a_malformed_scenario_is_refused_naming_the_problem() {
    let file = std::env::temp_dir().join(format!(
        "polyworker-bad-scenario-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &file,
        r#"{"component": "x.wasm", "tests": [{"name": "n", "workflow": "W", "expext": {}}]}"#,
    )
    .unwrap();
    let err = scenario::run(&file).await.unwrap_err();
    assert!(err.contains("unknown field `expext`"), "{err}");
}

fn steps_file(name: &str, status_counter: u64) -> std::path::PathBuf {
    let component =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests/c/sdk.wasm");
    let file = std::env::temp_dir().join(format!(
        "polyworker-steps-{}-{name}.json",
        std::process::id()
    ));
    let text = serde_json::json!({
        "component": component,
        "tests": [{
            "name": name,
            "workflow": "Features",
            "activities": {"Shout": [{"returns": "LOUD"}]},
            "steps": [
                {"query": {"name": "status", "expect": {"approvedBy": null, "counter": status_counter}}},
                {"update": {"name": "bump", "args": [-1], "rejected": "n must be positive"}},
                {"update": {"name": "bump", "args": [2], "expect": 2}},
                {"sleep": {"seconds": 60}},
                {"signal": {"name": "approve", "args": ["ann"]}}
            ],
            "expect": {"result": {"approvedBy": "ann", "counter": 2, "shouted": ["LOUD", "LOUD"]},
                       "calls": {"Shout": 2}}
        }]
    });
    std::fs::write(&file, text.to_string()).expect("write the scenario");
    file
}

/// Steps drive a started run (the C SDK's fixture): a query, an update its
/// validator refuses, one it accepts, skipped time, a signal. A step whose
/// expectation does not hold fails the test.
#[tokio::test]
async fn steps_query_update_sleep_and_signal_a_started_run() {
    assert_eq!(scenario::run(&steps_file("driven", 0)).await, Ok(true));
    assert_eq!(
        scenario::run(&steps_file("wrong-query", 7)).await,
        Ok(false)
    );
}
