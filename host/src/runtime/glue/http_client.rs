//! `polyworker:worker/http-client`: whole-body HTTP requests for
//! activities, behind the same per-task-queue allowlist as `wasi:http`, and
//! refused in workflow stores.
//!
//! The exchange itself is `wasmtime_wasi_http::default_send_request`, the
//! same connector (and TLS) `wasi:http` uses, so the two clients cannot
//! drift apart in what they can reach.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use wasmtime_wasi_http::RequestOptions;

use super::HostView;
use crate::runtime::bindings::polyworker::worker::http_client::{
    self, HttpError, HttpRequest, HttpResponse,
};
use crate::runtime::http::Allowlist;

/// For a request that names no timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Headers a request may not set: connection-level (hop-by-hop) and routing
/// headers, which belong to the host's connection, as `wasi:http` forbids.
fn forbidden(name: &http::HeaderName) -> bool {
    wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name)
}

fn build(req: HttpRequest) -> Result<http::Request<Full<Bytes>>, HttpError> {
    let invalid = |e: String| HttpError::InvalidRequest(e);
    let uri: http::Uri = req
        .url
        .parse()
        .map_err(|e| invalid(format!("{:?} is not a URL: {e}", req.url)))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => {}
        _ => {
            return Err(invalid(format!(
                "{:?} is not an absolute http(s) URL",
                req.url
            )));
        }
    }
    let method = http::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| invalid(format!("{:?} is not an HTTP method", req.method)))?;
    let mut b = http::Request::builder().method(method).uri(uri);
    for (name, value) in &req.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("{name:?} is not a header name")))?;
        if forbidden(&name) {
            return Err(invalid(format!(
                "header {name} is managed by the host's connection and may not be set"
            )));
        }
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| invalid(format!("the value of header {name} is malformed")))?;
        b = b.header(name, value);
    }
    b.body(Full::new(Bytes::from(req.body)))
        .map_err(|e| invalid(e.to_string()))
}

/// Sends one request if the allowlist permits its host. The response body
/// may be at most `body_limit` bytes: what the attempt's memory limit still
/// leaves, since the body is copied into the guest's memory.
pub async fn send(
    allowlist: &Allowlist,
    req: HttpRequest,
    body_limit: usize,
) -> Result<HttpResponse, HttpError> {
    let timeout = req.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_nanos);
    let request = build(req)?;
    if !allowlist.allows_uri(request.uri()) {
        let target = request
            .uri()
            .authority()
            .map_or_else(String::new, |a| a.to_string());
        tracing::warn!(uri = %request.uri(), "http-client request denied: not on the task queue's http_allowlist");
        return Err(HttpError::Denied(format!(
            "{target} is not on this task queue's http_allowlist"
        )));
    }
    let exchange = async {
        let request = request.map(|b| b.map_err(|never| match never {}));
        let options = RequestOptions {
            connect_timeout: Some(timeout),
            first_byte_timeout: Some(timeout),
            between_bytes_timeout: Some(timeout),
        };
        let (resp, io) = wasmtime_wasi_http::default_send_request(request, Some(options))
            .await
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        // The connection is driven by `io` while the body is read.
        let conn = tokio::spawn(io);
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, body_limit)
            .collect()
            .await
            .map_err(|e| match e.downcast_ref::<LengthLimitError>() {
                Some(_) => HttpError::Transport(format!(
                    "the response body is larger than the {body_limit} bytes this attempt's \
                     memory limit leaves"
                )),
                None => HttpError::Transport(format!("reading the response body: {e}")),
            })?
            .to_bytes();
        conn.abort();
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(HttpResponse {
            status: parts.status.as_u16(),
            headers,
            body: body.to_vec(),
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(HttpError::Timeout))
}

fn refusal(request: &HttpRequest) -> HttpError {
    tracing::warn!(url = %request.url, "a workflow tried to make an HTTP request; denied");
    HttpError::Denied("workflows may not make HTTP requests; do it in an activity".into())
}

impl http_client::Host for HostView<'_> {
    async fn send(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<HttpResponse, HttpError>> {
        let Some(allowlist) = self.http else {
            return Ok(Err(refusal(&request)));
        };
        Ok(send(allowlist, request, self.body_limit).await)
    }
}

/// `http-client.send` as a synchronous refusal, for workflow stores.
pub fn add_refusal_to_linker<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
) -> wasmtime::Result<()> {
    linker
        .instance("polyworker:worker/http-client@0.1.0")?
        .func_wrap(
            "send",
            |_,
             (request,): (HttpRequest,)|
             -> wasmtime::Result<(Result<HttpResponse, HttpError>,)> {
                Ok((Err(refusal(&request)),))
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"hi".to_vec(),
            timeout: Some(2_000_000_000),
        }
    }

    #[test]
    fn malformed_requests_are_named() {
        for (m, u, needle) in [
            ("GET", "not a url", "not a URL"),
            ("GET", "ftp://x/y", "absolute http(s)"),
            ("GET", "/relative", "absolute http(s)"),
            ("G E T", "http://x/", "HTTP method"),
        ] {
            match build(req(m, u)) {
                Err(HttpError::InvalidRequest(e)) => assert!(e.contains(needle), "{e}"),
                other => panic!("{m} {u}: {other:?}"),
            }
        }
        let mut bad_header = req("GET", "http://x/");
        bad_header.headers = vec![("bad header".into(), "v".into())];
        assert!(matches!(
            build(bad_header),
            Err(HttpError::InvalidRequest(_))
        ));
        for name in ["Host", "connection", "Upgrade", "transfer-encoding"] {
            let mut hop = req("GET", "http://x/");
            hop.headers = vec![(name.into(), "v".into())];
            match build(hop) {
                Err(HttpError::InvalidRequest(e)) => assert!(e.contains("may not be set"), "{e}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn hosts_off_the_allowlist_are_denied_before_connecting() {
        let list = Allowlist::new(&["127.0.0.1:1".to_string()]).unwrap();
        match send(&list, req("GET", "http://127.0.0.2:9/"), 1 << 20).await {
            Err(HttpError::Denied(e)) => assert!(e.contains("127.0.0.2:9"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    /// Serves one request with a `body_len`-byte body.
    async fn serve_once(body_len: usize) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await.unwrap();
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {body_len}\r\n\r\n");
            s.write_all(head.as_bytes()).await.unwrap();
            let _ = s.write_all(&vec![b'x'; body_len]).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_body_larger_than_the_memory_left_is_refused() {
        let addr = serve_once(64 << 10).await;
        let list = Allowlist::new(&[addr.to_string()]).unwrap();
        match send(&list, req("GET", &format!("http://{addr}/")), 16 << 10).await {
            Err(HttpError::Transport(e)) => assert!(e.contains("16384 bytes"), "{e}"),
            other => panic!("{other:?}"),
        }
        let addr = serve_once(8 << 10).await;
        let list = Allowlist::new(&[addr.to_string()]).unwrap();
        let resp = send(&list, req("GET", &format!("http://{addr}/")), 16 << 10)
            .await
            .unwrap();
        assert_eq!(resp.body.len(), 8 << 10);
    }

    #[tokio::test]
    async fn allowed_requests_round_trip() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            let echoed = if text.starts_with("POST /echo") && text.ends_with("hi") {
                "ok"
            } else {
                "bad"
            };
            let resp = format!(
                "HTTP/1.1 201 Created\r\nx-test: yes\r\ncontent-length: {}\r\n\r\n{echoed}",
                echoed.len()
            );
            s.write_all(resp.as_bytes()).await.unwrap();
        });
        let list = Allowlist::new(&[addr.to_string()]).unwrap();
        let resp = send(&list, req("POST", &format!("http://{addr}/echo")), 1 << 20)
            .await
            .unwrap();
        assert_eq!(resp.status, 201);
        assert_eq!(resp.body, b"ok");
        assert!(resp.headers.contains(&("x-test".into(), "yes".into())));
    }
}
