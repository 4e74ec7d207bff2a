//! Connections to a secured endpoint: nginx terminating TLS for gRPC in
//! front of the dev server, one port requiring a client certificate
//! (mTLS), one an API key. Tenants connect with their own credentials; a
//! tenant whose credentials are refused is reported and the others serve.

use std::time::Duration;

use polyworker_tests::gateway::{API_KEY, Gateway};
use polyworker_tests::{HostProcess, Outcome, TENANT_NAMESPACES, Temporal, guest, server, unique};

const WITHIN: Duration = Duration::from_secs(60);

fn tenant(name: &str, namespace: &str, connection: &str, queue: &str) -> String {
    format!(
        "[[tenant]]\nname = \"{name}\"\nnamespace = \"{namespace}\"\nconnection = {connection}\n\
         [[tenant.task_queue]]\nname = \"{queue}\"\nmodules = [\"{}\"]\n\
         max_cached_workflows = 10\nmax_concurrent_workflow_tasks = 4\n\
         max_concurrent_activities = 4\ngraceful_shutdown_ms = 1000\n\n",
        guest("hostile").display()
    )
}

async fn healthy_completes(namespace: &str, queue: &str) {
    let t = Temporal::connect().await.in_namespace(namespace);
    let id = unique("healthy");
    t.start(queue, "Healthy", &id, &[]).await;
    match t.outcome(&id, WITHIN).await {
        Outcome::Completed(v) => assert_eq!(v, "ok"),
        other => panic!("{queue}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_connect_with_mtls_and_api_keys_and_refused_credentials_stay_theirs() {
    let gw = Gateway::start(&server().host_port());
    let c = &gw.certs;
    let tls = |ca: &std::path::Path, client: bool| {
        let mut t = format!(
            "server_ca = \"{}\", server_name = \"localhost\"",
            ca.display()
        );
        if client {
            t.push_str(&format!(
                ", client_cert = \"{}\", client_key = \"{}\"",
                c.client_cert.display(),
                c.client_key.display()
            ));
        }
        format!("{{ {t} }}")
    };
    let conn = |address: &str, tls: String, key_env: Option<&str>| {
        let key = key_env
            .map(|e| format!(", api_key_env = \"{e}\""))
            .unwrap_or_default();
        format!("{{ address = \"{address}\", tls = {tls}{key} }}")
    };
    let (q_mtls, q_key) = (unique("q-mtls"), unique("q-key"));
    let body = format!(
        "[server]\naddress = \"{}\"\nidentity = \"secured-test\"\n\n{}{}{}{}{}",
        server().address(),
        tenant(
            "mtls",
            TENANT_NAMESPACES[0],
            &conn(&gw.mtls, tls(&c.ca, true), None),
            &q_mtls
        ),
        tenant(
            "key",
            TENANT_NAMESPACES[1],
            &conn(&gw.api_key, tls(&c.ca, false), Some("PW_GOOD_KEY")),
            &q_key
        ),
        tenant(
            "rogue-ca",
            "ns-rogue",
            &conn(&gw.mtls, tls(&c.rogue_ca, true), None),
            &unique("q-rogue")
        ),
        tenant(
            "no-cert",
            "ns-no-cert",
            &conn(&gw.mtls, tls(&c.ca, false), None),
            &unique("q-no-cert")
        ),
        tenant(
            "bad-key",
            "ns-bad-key",
            &conn(&gw.api_key, tls(&c.ca, false), Some("PW_BAD_KEY")),
            &unique("q-bad-key")
        ),
    );
    let mut host = HostProcess::spawn_with(
        &unique("secured"),
        &body,
        &[("PW_GOOD_KEY", API_KEY), ("PW_BAD_KEY", "not-the-key")],
    );
    host.ready(WITHIN).await;
    healthy_completes(TENANT_NAMESPACES[0], &q_mtls).await;
    healthy_completes(TENANT_NAMESPACES[1], &q_key).await;
    let log = host.log();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cannot serve this tenant"))
        .collect();
    // What an operator sees, for each refused tenant (shown with --nocapture).
    eprintln!("{}", refused.join("\n"));
    for name in ["rogue-ca", "no-cert", "bad-key"] {
        assert!(
            refused
                .iter()
                .any(|l| l.contains(&format!("\"tenant\":\"{name}\""))),
            "{name} is reported:\n{log}"
        );
    }
    assert!(
        refused
            .iter()
            .any(|l| l.contains("bad-key") && l.contains("invalid API key")),
        "the server's refusal reaches the log: {refused:?}"
    );
    for name in ["mtls", "key"] {
        assert!(
            !refused
                .iter()
                .any(|l| l.contains(&format!("\"tenant\":\"{name}\""))),
            "{name} connected:\n{log}"
        );
    }
    assert!(!log.contains(API_KEY), "the API key is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_another_ca_stops_a_single_tenant_host_with_a_clear_error() {
    let gw = Gateway::start(&server().host_port());
    let c = &gw.certs;
    let body = format!(
        "[server]\naddress = \"{}\"\ntls = {{ server_ca = \"{}\", client_cert = \"{}\", client_key = \"{}\" }}\n\n\
         [[task_queue]]\nname = \"{}\"\nmodules = [\"{}\"]\n",
        gw.mtls,
        c.rogue_ca.display(),
        c.client_cert.display(),
        c.client_key.display(),
        unique("q"),
        guest("hostile").display()
    );
    let mut host = HostProcess::spawn_with(&unique("wrong-ca"), &body, &[]);
    let status = host.exited(WITHIN).await.expect("the host exits");
    assert!(!status.success());
    let log = host.log();
    assert!(
        log.contains(&format!(
            "cannot connect to the Temporal server at {}",
            gw.mtls
        )),
        "{log}"
    );
    assert!(
        log.to_lowercase().contains("certificate"),
        "the cause is named: {log}"
    );
}
