//! Outgoing HTTP for activities: the per-task-queue allowlist (deny by
//! default) and the `wasi:http` hooks that enforce it, or refuse everything
//! in workflow stores.

use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// One allowlist entry: `[scheme://]host[:port]`, where `host` may be
/// `*.domain` (any subdomain) or `*` (any host). Without a port, any port of
/// that host is allowed; without a scheme, both `http` and `https`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com` stores `.example.com`.
    Suffix(String),
}

/// What is wrong with an allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowRuleError {
    /// A scheme other than http or https.
    #[error("{entry:?}: scheme {scheme:?} is not http or https")]
    Scheme {
        /// The entry.
        entry: String,
        /// Its scheme.
        scheme: String,
    },
    /// A path, query or user part.
    #[error("{entry:?}: give a host and optional port only, no path or user")]
    NotAHost {
        /// The entry.
        entry: String,
    },
    /// A port that is not a number.
    #[error("{entry:?}: {port:?} is not a port number")]
    Port {
        /// The entry.
        entry: String,
        /// Its port part.
        port: String,
    },
    /// A wildcard anywhere but in front.
    #[error("{entry:?}: a wildcard must look like *.example.com")]
    Wildcard {
        /// The entry.
        entry: String,
    },
    /// An empty or malformed host.
    #[error("{entry:?}: missing or malformed host")]
    Host {
        /// The entry.
        entry: String,
    },
}

impl AllowRule {
    /// Parses an entry; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<AllowRule, AllowRuleError> {
        let entry = || s.to_string();
        let (scheme, rest) = match s.split_once("://") {
            Some((sch @ ("http" | "https"), rest)) => (Some(sch.to_string()), rest),
            Some((other, _)) => {
                return Err(AllowRuleError::Scheme {
                    entry: entry(),
                    scheme: other.to_string(),
                });
            }
            None => (None, s),
        };
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(AllowRuleError::NotAHost { entry: entry() });
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || p.is_empty() => {
                let port = p.parse::<u16>().map_err(|_| AllowRuleError::Port {
                    entry: entry(),
                    port: p.to_string(),
                })?;
                (h, Some(port))
            }
            _ => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            if domain.is_empty() || domain.contains('*') {
                return Err(AllowRuleError::Wildcard { entry: entry() });
            }
            HostPattern::Suffix(format!(".{domain}"))
        } else if host.is_empty() || host.contains('*') {
            return Err(AllowRuleError::Host { entry: entry() });
        } else {
            HostPattern::Exact(host)
        };
        Ok(AllowRule { scheme, host, port })
    }

    /// Whether every request `narrower` allows, this rule allows too (a
    /// tenant's ceiling covering a queue's entry).
    pub fn covers(&self, narrower: &AllowRule) -> bool {
        let scheme = match (&self.scheme, &narrower.scheme) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        let port = match (self.port, narrower.port) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        let host = match (&self.host, &narrower.host) {
            (HostPattern::Any, _) => true,
            (_, HostPattern::Any) => false,
            (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
            (HostPattern::Exact(_), HostPattern::Suffix(_)) => false,
            (HostPattern::Suffix(s), HostPattern::Exact(h)) => h.ends_with(s.as_str()),
            (HostPattern::Suffix(s), HostPattern::Suffix(t)) => t.ends_with(s.as_str()),
        };
        scheme && port && host
    }

    /// Whether a request to `scheme://host:port` is allowed by this rule.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != scheme) {
            return false;
        }
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.to_ascii_lowercase();
        match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Suffix(sfx) => host.len() > sfx.len() && host.ends_with(sfx.as_str()),
        }
    }
}

/// The allowlist of one task queue.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    rules: Arc<Vec<AllowRule>>,
}

impl Allowlist {
    /// Builds the list from entries such as `api.example.com:443`.
    pub fn new(entries: &[String]) -> Result<Allowlist, AllowRuleError> {
        let rules = entries
            .iter()
            .map(|e| AllowRule::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allowlist {
            rules: Arc::new(rules),
        })
    }

    /// Whether a request to `uri` may be sent.
    pub fn allows_uri(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let Some(host) = uri.host() else { return false };
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        self.rules.iter().any(|r| r.allows(scheme, host, port))
    }
}

/// The connection's I/O future, as `WasiHttpHooks::send_request` passes and
/// returns it.
type Io = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

/// `wasi:http` hooks that enforce the allowlist before any connection is made.
pub struct AllowlistHooks {
    /// The task queue's allowlist.
    pub allowlist: Allowlist,
    /// For the log line of a denied request.
    pub activity_type: String,
}

impl WasiHttpHooks for AllowlistHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Io,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, Io), HttpError>> + Send> {
        _ = fut;
        if !self.allowlist.allows_uri(request.uri()) {
            tracing::warn!(
                activity_type = %self.activity_type,
                uri = %request.uri(),
                "outgoing HTTP request denied: not on the task queue's http_allowlist"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((res.map(BodyExt::boxed_unsync), Box::new(io) as Io))
        })
    }
}

/// `wasi:http` hooks that refuse every request (workflow stores); the
/// string names who asked, in the log line.
pub struct DenyAllHttp(pub &'static str);

impl WasiHttpHooks for DenyAllHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Io,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, Io), HttpError>> + Send> {
        tracing::warn!(uri = %request.uri(), "{} may not make HTTP requests; denied", self.0);
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Allowlist {
        Allowlist::new(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn empty_list_denies_everything() {
        let l = list(&[]);
        assert!(!l.allows_uri(&"http://127.0.0.1:8089/transmit".parse().unwrap()));
    }

    #[test]
    fn rules_match_host_port_and_scheme() {
        let l = list(&["127.0.0.1:8089", "https://*.example.com", "api.test"]);
        let ok = |u: &str| l.allows_uri(&u.parse().unwrap());
        assert!(ok("http://127.0.0.1:8089/transmit"));
        assert!(!ok("http://127.0.0.1:8090/transmit"));
        assert!(ok("https://a.example.com/x"));
        assert!(!ok("http://a.example.com/x"));
        assert!(!ok("https://example.com/x"));
        assert!(!ok("https://evilexample.com/x"));
        assert!(ok("http://API.test:1234/"));
        assert!(!ok("http://api.test.evil.com/"));
    }

    #[test]
    fn malformed_entries_are_rejected() {
        for bad in [
            "ftp://x",
            "host/path",
            "host:notaport",
            "*.",
            "a*b.com",
            "",
            "user@host",
        ] {
            assert!(AllowRule::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(AllowRule::parse("*").is_ok());
    }

    #[test]
    fn a_rule_covers_only_what_it_allows() {
        let r = |s: &str| AllowRule::parse(s).unwrap();
        assert!(r("*.pay.internal").covers(&r("https://api.pay.internal:443")));
        assert!(r("*.pay.internal").covers(&r("*.eu.pay.internal")));
        assert!(!r("*.pay.internal").covers(&r("evil.example")));
        assert!(!r("*.pay.internal").covers(&r("*")));
        assert!(!r("api.pay.internal").covers(&r("*.pay.internal")));
        assert!(!r("https://api.pay.internal").covers(&r("api.pay.internal")));
        assert!(!r("api.pay.internal:443").covers(&r("api.pay.internal")));
        assert!(r("*").covers(&r("anything:1")));
    }
}
