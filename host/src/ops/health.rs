//! `/healthz` and `/readyz` for orchestrators: the process answers, and the
//! host is connected with every queue's workers polling (not yet, or no
//! longer once shutdown begins, it answers 503).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

use temporalio_client::Connection;
use temporalio_client::grpc::HealthService;
use temporalio_common::protos::grpc::health::v1::HealthCheckRequest;
use temporalio_common::protos::grpc::health::v1::health_check_response::ServingStatus;
use tracing::{info, warn};

use super::OpsError;

/// Whether the host is ready, shared with the endpoint: its workers poll
/// and the server answers.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<State>);

#[derive(Debug, Default)]
struct State {
    polling: AtomicBool,
    unreachable: AtomicBool,
    /// A fleet host's registry cannot be read: a detail, not a reason to
    /// stop being ready.
    registry_unreachable: AtomicBool,
}

impl Readiness {
    /// Whether every queue's workers poll (false before start and once
    /// shutdown begins).
    pub fn set(&self, polling: bool) {
        self.0.polling.store(polling, Ordering::Relaxed);
    }

    /// Records a probe of the server; returns whether that changed anything.
    pub fn set_reachable(&self, reachable: bool) -> bool {
        self.0.unreachable.swap(!reachable, Ordering::Relaxed) == reachable
    }

    /// Records whether the fleet's registry can be read.
    pub fn set_registry_reachable(&self, reachable: bool) {
        self.0
            .registry_unreachable
            .store(!reachable, Ordering::Relaxed);
    }

    /// Ready: polling, and the server answers.
    pub fn get(&self) -> bool {
        self.0.polling.load(Ordering::Relaxed) && !self.0.unreachable.load(Ordering::Relaxed)
    }
}

fn respond(path: &str, ready: &Readiness) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        "/healthz" => (StatusCode::OK, "ok\n"),
        "/readyz" if ready.get() && ready.0.registry_unreachable.load(Ordering::Relaxed) => (
            StatusCode::OK,
            "ready (the registry cannot be read; serving the versions this host has)\n",
        ),
        "/readyz" if ready.get() => (StatusCode::OK, "ready\n"),
        "/readyz" if ready.0.unreachable.load(Ordering::Relaxed) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the Temporal server does not answer\n",
        ),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        _ => (
            StatusCode::NOT_FOUND,
            "not found: try /healthz or /readyz\n",
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp
}

/// Serves the endpoints on `addr` until the returned handle is aborted.
pub async fn serve(
    addr: SocketAddr,
    ready: Readiness,
) -> Result<(SocketAddr, tokio::task::AbortHandle), OpsError> {
    let bind = |source| OpsError::Health { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind)?;
    let bound = listener.local_addr().map_err(bind)?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let ready = ready.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let resp = respond(req.uri().path(), &ready);
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    Ok((bound, task.abort_handle()))
}

/// Asks the server's gRPC health service every `every` whether it serves,
/// and records the answer in `ready`; runs until aborted. Core keeps
/// retrying its polls while the server is away, so without this probe the
/// host would look ready while it cannot get any work.
pub async fn watch_server(connection: Connection, ready: Readiness, every: Duration) {
    loop {
        let mut c = connection.clone();
        let probe = HealthService::check(
            &mut c,
            tonic::Request::new(HealthCheckRequest {
                service: "temporal.api.workflowservice.v1.WorkflowService".into(),
            }),
        );
        let reachable = matches!(
            tokio::time::timeout(every, probe).await,
            Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32
        );
        if ready.set_reachable(reachable) {
            if reachable {
                info!("the Temporal server answers again");
            } else {
                warn!("the Temporal server does not answer; /readyz reports not ready");
            }
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_follows_readiness_and_healthz_always_answers() {
        let r = Readiness::default();
        assert_eq!(respond("/healthz", &r).status(), StatusCode::OK);
        assert_eq!(
            respond("/readyz", &r).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        r.set(true);
        assert_eq!(respond("/readyz", &r).status(), StatusCode::OK);
        assert!(r.set_reachable(false), "a change");
        assert!(!r.set_reachable(false), "no change");
        assert_eq!(
            respond("/readyz", &r).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(r.set_reachable(true));
        assert_eq!(respond("/readyz", &r).status(), StatusCode::OK);
        assert_eq!(respond("/other", &r).status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn an_address_in_use_is_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let e = serve(addr, Readiness::default()).await.unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("cannot serve health checks on {addr}")),
            "{e}"
        );
    }
}
