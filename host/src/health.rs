//! `/healthz` and `/readyz` for orchestrators: the process answers, and the
//! host is connected with every queue's workers polling (not yet, or no
//! longer once shutdown begins, it answers 503).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

use crate::HostError;

/// Whether the host is ready, shared with the endpoint.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

fn respond(path: &str, ready: &Readiness) -> Response<Full<Bytes>> {
    let (status, body) = match path {
        "/healthz" => (StatusCode::OK, "ok\n"),
        "/readyz" if ready.get() => (StatusCode::OK, "ready\n"),
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
) -> Result<(SocketAddr, tokio::task::AbortHandle), HostError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| HostError::Internal(format!("cannot serve health checks on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| HostError::Internal(format!("health endpoint: {e}")))?;
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
