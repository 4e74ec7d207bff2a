//! An OpenTelemetry collector stand-in on loopback, for the export tests:
//! it accepts OTLP metrics and traces over gRPC and over HTTP (protobuf
//! bodies), decodes the requests with the OpenTelemetry protos, and keeps
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP.
    Http,
}

/// What arrived.
#[derive(Default)]
struct Store {
    metrics: Vec<(Via, ExportMetricsServiceRequest)>,
    traces: Vec<(Via, ExportTraceServiceRequest)>,
    /// Every request's headers (gRPC metadata is HTTP/2 headers).
    headers: BTreeSet<(Via, String, String)>,
}

type Shared = Arc<Mutex<Store>>;

fn lock(s: &Shared) -> MutexGuard<'_, Store> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn keep_headers(store: &Shared, via: Via, map: &http::HeaderMap) {
    let mut s = lock(store);
    for (k, v) in map {
        let value = v.to_str().unwrap_or("").to_string();
        s.headers.insert((via, k.to_string(), value));
    }
}

/// One span, as a test reads it.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    /// Its name.
    pub name: String,
    /// Its trace, in hex.
    pub trace_id: String,
    /// Its id, in hex.
    pub span_id: String,
    /// Its parent's id, in hex (empty for a root).
    pub parent_span_id: String,
    /// Its attributes, each value as text.
    pub attributes: BTreeMap<String, String>,
    /// The `service.name` of the process that sent it.
    pub service: String,
}

fn text(kv: &KeyValue) -> Option<(String, String)> {
    let v = match kv.value.as_ref()?.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        _ => return None,
    };
    Some((kv.key.clone(), v))
}

/// The running collector; dropping it stops both listeners.
pub struct Collector {
    /// Where OTLP/gRPC is accepted.
    pub grpc: SocketAddr,
    /// Where OTLP/HTTP is accepted (`/v1/metrics`, `/v1/traces`).
    pub http: SocketAddr,
    store: Shared,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Clone)]
struct Grpc(Shared);

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        keep_headers(
            &self.0,
            Via::Grpc,
            &request.metadata().clone().into_headers(),
        );
        lock(&self.0)
            .metrics
            .push((Via::Grpc, request.into_inner()));
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        keep_headers(
            &self.0,
            Via::Grpc,
            &request.metadata().clone().into_headers(),
        );
        lock(&self.0).traces.push((Via::Grpc, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = l.local_addr().expect("bound");
    (l, addr)
}

impl Collector {
    /// Listens on two free loopback ports.
    pub async fn start() -> Collector {
        let store: Shared = Arc::default();
        let (grpc, grpc_addr) = loopback().await;
        let g = Grpc(store.clone());
        let serving = tonic::transport::Server::builder()
            .add_service(MetricsServiceServer::new(g.clone()))
            .add_service(TraceServiceServer::new(g))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc));
        let grpc_task = tokio::spawn(async move {
            let _ = serving.await;
        });
        let (http, http_addr) = loopback().await;
        let http_task = tokio::spawn(serve_http(http, store.clone()));
        Collector {
            grpc: grpc_addr,
            http: http_addr,
            store,
            tasks: vec![grpc_task, http_task],
        }
    }

    /// The names of every metric received over `via`.
    pub fn metric_names(&self, via: Via) -> BTreeSet<String> {
        let s = lock(&self.store);
        s.metrics
            .iter()
            .filter(|(v, _)| *v == via)
            .flat_map(|(_, r)| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.name.clone())
            .collect()
    }

    /// Every header the requests over `via` carried, as (name, value).
    pub fn headers(&self, via: Via) -> BTreeSet<(String, String)> {
        let s = lock(&self.store);
        s.headers
            .iter()
            .filter(|(v, _, _)| *v == via)
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The resource attributes of the metrics received over `via`.
    pub fn resource(&self, via: Via) -> BTreeSet<(String, String)> {
        let s = lock(&self.store);
        s.metrics
            .iter()
            .filter(|(v, _)| *v == via)
            .flat_map(|(_, r)| &r.resource_metrics)
            .filter_map(|rm| rm.resource.as_ref())
            .flat_map(|r| &r.attributes)
            .filter_map(text)
            .collect()
    }

    /// Every span received, over either protocol.
    pub fn spans(&self) -> Vec<SpanRecord> {
        let s = lock(&self.store);
        let mut out = Vec::new();
        for rs in s.traces.iter().flat_map(|(_, r)| &r.resource_spans) {
            let service = (rs.resource.iter().flat_map(|r| &r.attributes))
                .filter_map(text)
                .find(|(k, _)| k == "service.name")
                .map(|(_, v)| v)
                .unwrap_or_default();
            for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                out.push(SpanRecord {
                    name: span.name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: span.attributes.iter().filter_map(text).collect(),
                    service: service.clone(),
                });
            }
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keeps an OTLP/HTTP body; the status to answer with.
fn keep_body(store: &Shared, path: &str, body: bytes::Bytes) -> u16 {
    match path {
        "/v1/metrics" => match ExportMetricsServiceRequest::decode(body) {
            Ok(r) => {
                lock(store).metrics.push((Via::Http, r));
                200
            }
            Err(_) => 400,
        },
        "/v1/traces" => match ExportTraceServiceRequest::decode(body) {
            Ok(r) => {
                lock(store).traces.push((Via::Http, r));
                200
            }
            Err(_) => 400,
        },
        _ => 404,
    }
}

/// OTLP/HTTP: `POST /v1/metrics` or `/v1/traces` with a protobuf body.
async fn serve_http(listener: tokio::net::TcpListener, store: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let store = store.clone();
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let store = store.clone();
                    keep_headers(&store, Via::Http, req.headers());
                    async move {
                        let path = req.uri().path().to_string();
                        let body = match req.into_body().collect().await {
                            Ok(b) => b.to_bytes(),
                            Err(_) => bytes::Bytes::new(),
                        };
                        // Both responses are empty messages: one encoding serves.
                        hyper::Response::builder()
                            .status(keep_body(&store, &path, body))
                            .header("content-type", "application/x-protobuf")
                            .body(Full::new(bytes::Bytes::new()))
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await;
        });
    }
}
