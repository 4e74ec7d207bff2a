//! A small blocking HTTP client for activities, over `wasi:http`.
//!
//! Which hosts it can reach is the host's decision (the task queue's
//! allowlist); a denied request comes back as an [`HttpError`].

use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// A response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The headers, in the order received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Why a request failed.
#[derive(Debug, Clone)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

fn err(what: &str, e: impl std::fmt::Debug) -> HttpError {
    HttpError(format!("{what}: {e:?}"))
}

/// Splits `http://host:port/path?q` into scheme, authority and path-with-query.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), HttpError> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else {
        return Err(HttpError(format!(
            "unsupported URL {url:?}: use http:// or https://"
        )));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(HttpError(format!("URL {url:?} has no host")));
    }
    Ok((scheme, authority, path))
}

/// Sends a POST with `body` and returns the response.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Response, HttpError> {
    request(Method::Post, url, &[("content-type", content_type)], body)
}

/// Sends a request and reads the whole response.
pub fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, HttpError> {
    let (scheme, authority, path) = split_url(url)?;
    let fields = Fields::new();
    for (k, v) in headers {
        fields
            .append(k, v.as_bytes())
            .map_err(|e| err("bad header", e))?;
    }
    let req = OutgoingRequest::new(fields);
    req.set_method(&method).map_err(|e| err("bad method", e))?;
    req.set_scheme(Some(&scheme))
        .map_err(|e| err("bad scheme", e))?;
    req.set_authority(Some(authority))
        .map_err(|e| err("bad authority", e))?;
    req.set_path_with_query(Some(path))
        .map_err(|e| err("bad path", e))?;
    let out = req.body().map_err(|e| err("request body", e))?;
    let pending = outgoing_handler::handle(req, None).map_err(describe)?;
    let written = (|| {
        let stream = out.write().map_err(|e| err("request body stream", e))?;
        for chunk in body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| err("writing request body", e))?;
        }
        drop(stream);
        OutgoingBody::finish(out, None).map_err(describe)
    })();
    if let Err(e) = written {
        // A refused or failed request closes the body stream; the response
        // future carries the reason, which is the error worth reporting.
        pending.subscribe().block();
        return match pending.get() {
            Some(Ok(Err(code))) => Err(describe(code)),
            _ => Err(e),
        };
    }
    pending.subscribe().block();
    let resp = match pending.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(e))) => return Err(describe(e)),
        Some(Err(())) | None => return Err(HttpError("response already taken".into())),
    };
    let status = resp.status();
    let headers = resp.headers().entries();
    let incoming = resp.consume().map_err(|e| err("response body", e))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|e| err("response body stream", e))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(err("reading response body", e)),
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn describe(e: ErrorCode) -> HttpError {
    match e {
        ErrorCode::HttpRequestDenied => {
            HttpError("request denied: the host is not on this task queue's HTTP allowlist".into())
        }
        other => HttpError(format!("HTTP request failed: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_parts() {
        let (s, a, p) = split_url("http://127.0.0.1:8080/transmit?x=1").unwrap();
        assert!(matches!(s, Scheme::Http));
        assert_eq!(a, "127.0.0.1:8080");
        assert_eq!(p, "/transmit?x=1");
        let (_, a, p) = split_url("https://example.com").unwrap();
        assert_eq!((a, p), ("example.com", "/"));
        assert!(split_url("ftp://x").is_err());
        assert!(split_url("http:///x").is_err());
    }
}
