//! The data-routing tutorial's unit tests, against the built Rust
//! component: mocked activities, skipped time, every run replayed.

use std::path::PathBuf;
use std::time::Instant;

use polyworker_testing::{Answer, Outcome, TestEnv};
use serde_json::{Value, json};

fn component() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release/data_routing.wasm")
}

fn packet() -> Value {
    json!({"ID": "packet-1", "Source": "sensor-17", "Destination": "dc-eu", "Contents": "t=21.5"})
}

fn delivered() -> Answer {
    Answer::Returns(json!({"Provider": "", "Status": ""}))
}

#[tokio::test]
async fn a_packet_is_delivered_on_the_first_route() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity")
        .returns(json!("goodRoute"));
    env.on_activity("TransmitActivity")
        .answers(vec![delivered()]);
    let run = env
        .execute("DataRoutingWorkflow", &[packet()])
        .await
        .unwrap();
    let out = run.result().expect("completed");
    assert_eq!(out["Status"], "STATUS_DELIVERED");
    assert_eq!(out["CurrentRouteProvider"], "goodRoute");
    assert_eq!(out["FailedRouteProviders"], json!([]));
    let transmits = run.calls_of("TransmitActivity");
    assert_eq!(transmits.len(), 1);
    assert_eq!(transmits[0].input[0]["ID"], "packet-1");
    env.shutdown().await;
}

#[tokio::test]
async fn a_failed_transmit_moves_on_to_the_next_route() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity").answers(vec![
        Answer::Returns(json!("badRoute")),
        Answer::Returns(json!("goodRoute")),
    ]);
    env.on_activity("TransmitActivity").answers(vec![
        Answer::fails("the link dropped", "TransmitFailed"),
        delivered(),
    ]);
    let run = env
        .execute("DataRoutingWorkflow", &[packet()])
        .await
        .unwrap();
    let out = run.result().expect("completed");
    assert_eq!(out["FailedRouteProviders"], json!(["badRoute"]));
    assert_eq!(out["CurrentRouteProvider"], "goodRoute");
    assert_eq!(out["Status"], "STATUS_DELIVERED");
    env.shutdown().await;
}

#[tokio::test]
async fn every_transmit_failing_fails_the_packet() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity")
        .returns(json!("someRoute"));
    env.on_activity("TransmitActivity")
        .answers(vec![Answer::fails("no carrier", "TransmitFailed")]);
    let run = env
        .execute("DataRoutingWorkflow", &[packet()])
        .await
        .unwrap();
    let out = run.result().expect("completed");
    assert_eq!(out["Status"], "STATUS_FAILED");
    // Four providers tried, one attempt each (the transmit policy).
    assert_eq!(run.calls_of("TransmitActivity").len(), 4);
    assert!(
        run.calls_of("TransmitActivity")
            .iter()
            .all(|c| c.attempt == 1)
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_transmit_that_never_acks_hits_its_timeout_in_skipped_time() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity").answers(vec![
        Answer::Returns(json!("silentRoute")),
        Answer::Returns(json!("goodRoute")),
    ]);
    env.on_activity("TransmitActivity")
        .answers(vec![Answer::Hangs, delivered()]);
    let began = Instant::now();
    let run = env
        .execute("DataRoutingWorkflow", &[packet()])
        .await
        .unwrap();
    let took = began.elapsed();
    let out = run.result().expect("completed");
    assert_eq!(out["FailedRouteProviders"], json!(["silentRoute"]));
    assert_eq!(out["Status"], "STATUS_DELIVERED");
    let timed_out = run.history.events.iter().any(|e| {
        matches!(
            e.attributes,
            Some(temporalio_common::protos::temporal::api::history::v1::history_event::Attributes::ActivityTaskTimedOutEventAttributes(_))
        )
    });
    assert!(timed_out, "the hanging attempt timed out on the server");
    // The 10 s start-to-close timeout passed in skipped time.
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    env.shutdown().await;
}

#[tokio::test]
async fn get_route_exhausting_its_retries_fails_the_workflow() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity")
        .answers(vec![Answer::fails("route service down", "Unavailable")]);
    let run = env
        .execute("DataRoutingWorkflow", &[packet()])
        .await
        .unwrap();
    let Outcome::Failed(failure) = &run.outcome else {
        panic!("{:?}", run.outcome);
    };
    assert!(
        format!("{failure:?}").contains("route service down"),
        "{failure:?}"
    );
    // The route policy's three attempts, with backoff skipped.
    let attempts: Vec<u32> = run
        .calls_of("GetRouteActivity")
        .iter()
        .map(|c| c.attempt)
        .collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert!(run.calls_of("TransmitActivity").is_empty());
    env.shutdown().await;
}

#[tokio::test]
async fn the_tutorials_input_shape_is_answered_in_its_output_shape() {
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity")
        .returns(json!("goodRoute"));
    env.on_activity("TransmitActivity")
        .answers(vec![Answer::fails("down", "TransmitFailed")]);
    let input =
        json!({"Packet": packet(), "GetRouteMaxAttempts": 1, "TransmitPacketMaxAttempts": 2});
    let run = env.execute("DataRoutingWorkflow", &[input]).await.unwrap();
    let out = run.result().expect("completed");
    assert_eq!(out["Packet"]["ID"], "packet-1");
    assert_eq!(out["Packet"]["Status"], "STATUS_FAILED");
    // TransmitPacketMaxAttempts: two providers tried, not four.
    assert_eq!(run.calls_of("TransmitActivity").len(), 2);
    env.shutdown().await;
}

#[tokio::test]
async fn input_that_is_not_a_packet_fails_the_workflow_saying_why() {
    let env = TestEnv::start(component()).await.unwrap();
    for (input, says) in [
        (json!({"Source": "s"}), "missing field `ID`"),
        (json!({"ID": 7}), "invalid type"),
        (
            json!({"ID": "p", "Colour": "red"}),
            "unknown field `Colour`",
        ),
        (
            json!({"Packet": {"ID": "p"}, "Extra": 1}),
            "unknown field `Extra`",
        ),
    ] {
        let run = env
            .execute("DataRoutingWorkflow", std::slice::from_ref(&input))
            .await
            .unwrap();
        let Outcome::Failed(f) = &run.outcome else {
            panic!("{input}: {:?}", run.outcome);
        };
        assert!(f.message.contains(says), "{input}: {}", f.message);
        let non_retryable = matches!(
            &f.failure_info,
            Some(temporalio_common::protos::temporal::api::failure::v1::failure::FailureInfo::ApplicationFailureInfo(a)) if a.non_retryable
        );
        assert!(non_retryable, "{input}: {f:?}");
        assert!(run.activities.is_empty(), "{input}: nothing was routed");
    }
    env.shutdown().await;
}

#[tokio::test]
async fn a_slow_transmit_delivers_within_its_timeout_and_one_too_slow_moves_on() {
    use std::time::Duration;
    let env = TestEnv::start(component()).await.unwrap();
    env.on_activity("GetRouteActivity").answers(vec![
        Answer::Returns(json!("slowRoute")),
        Answer::Returns(json!("slowerRoute")),
    ]);
    // The transmit timeout is 10 s: 15 s is too slow, 8 s is not.
    env.on_activity("TransmitActivity").answers(vec![
        Answer::after(Duration::from_secs(15), delivered()),
        Answer::after(Duration::from_secs(8), delivered()),
    ]);
    let began = Instant::now();
    let run = env
        .execute("DataRoutingWorkflow", &[packet()])
        .await
        .unwrap();
    let out = run.result().expect("completed");
    assert_eq!(out["FailedRouteProviders"], json!(["slowRoute"]));
    assert_eq!(out["CurrentRouteProvider"], "slowerRoute");
    assert_eq!(out["Status"], "STATUS_DELIVERED");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    env.shutdown().await;
}
