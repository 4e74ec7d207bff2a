//! Bad input: unknown types and files that are not components.

use std::time::Duration;

use polyworker_tests::{Temporal, TestHost, config, guest, queue, unique};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_workflow_type_fails_its_task_with_a_clear_message() {
    let task_queue = unique("unknown-type");
    let host = TestHost::start(config(vec![queue(
        &task_queue,
        vec![guest("data_routing")],
    )]))
    .await;
    let t = Temporal::connect().await;
    let id = unique("unknown");
    t.start(&task_queue, "NoSuchWorkflow", &id, &[]).await;
    let event = t
        .wait_for_event(&id, Duration::from_secs(30), |e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowTaskFailedEventAttributes(_))
            )
        })
        .await;
    let Some(Attributes::WorkflowTaskFailedEventAttributes(a)) = event.attributes else {
        unreachable!()
    };
    let message = a.failure.map(|f| f.message).unwrap_or_default();
    assert!(message.contains("no module on task queue"), "{message}");
    assert!(message.contains("\"NoSuchWorkflow\""), "{message}");
    assert!(
        message.contains("DataRoutingWorkflow"),
        "lists what is served: {message}"
    );
    t.terminate(&id).await;
    host.stop()
        .await
        .expect("the host survives and shuts down cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_are_not_components_are_refused_at_start() {
    let dir = std::env::temp_dir().join(unique("bad-modules"));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "text.wasm",
            b"this is not wasm",
            "is not a WebAssembly file",
        ),
        (
            "core.wasm",
            b"\0asm\x01\0\0\0",
            "is a core WebAssembly module, not a component",
        ),
        (
            "broken.wasm",
            b"\0asm\x0d\0\x01\0garbage",
            "is not a valid component",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = polyworker_host::Host::start(config(vec![queue(&unique("bad"), vec![path])]))
            .await
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(err.to_string().contains(expected), "{name}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_importing_what_the_host_does_not_provide_is_refused_by_name() {
    let err =
        polyworker_host::Host::start(config(vec![queue(&unique("rogue"), vec![guest("rogue")])]))
            .await
            .err()
            .expect("a component with an unknown import must be refused");
    let text = err.to_string();
    assert!(
        text.contains("test:rogue/smuggle"),
        "names the import: {text}"
    );
    assert!(
        text.contains("cannot run as a workflow component"),
        "{text}"
    );
}
