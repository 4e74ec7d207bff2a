//! `polyworker-test` over stdin/stdout: malformed and out-of-order
//! requests get an error reply and the process goes on; it exits when its
//! stdin closes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn bad_requests_are_answered_with_errors_and_the_process_goes_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_polyworker-test"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ask = |line: &str| {
        writeln!(stdin, "{line}").unwrap();
        let reply: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        reply
    };
    let r = ask("not json");
    assert_eq!(r["error"]["kind"], "request", "{r}");
    let r = ask(r#"{"id": 1, "execute": {"workflow": "W"}}"#);
    assert_eq!(r["id"], 1);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no component was started"),
        "{r}"
    );
    let r = ask(r#"{"id": 2, "start": {"component": "/nonexistent.wasm"}}"#);
    assert_eq!(r["error"]["kind"], "component", "{r}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
