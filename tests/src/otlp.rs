//! An OpenTelemetry collector stand-in on loopback, for the export tests:
//! it accepts OTLP over gRPC and over HTTP (protobuf bodies), decodes the
//! requests with the OpenTelemetry protos, and keeps them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
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

type Kept = Arc<Mutex<Vec<(Via, ExportMetricsServiceRequest)>>>;
/// The headers of every request (gRPC metadata is HTTP/2 headers).
type Headers = Arc<Mutex<BTreeSet<(Via, String, String)>>>;

/// The running collector; dropping it stops both listeners.
pub struct Collector {
    /// Where OTLP/gRPC is accepted.
    pub grpc: SocketAddr,
    /// Where OTLP/HTTP is accepted (`/v1/metrics`).
    pub http: SocketAddr,
    metrics: Kept,
    headers: Headers,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Grpc(Kept, Headers);

fn keep_headers(headers: &Headers, via: Via, map: &http::HeaderMap) {
    let mut h = headers.lock().unwrap_or_else(|e| e.into_inner());
    for (k, v) in map {
        h.insert((via, k.to_string(), v.to_str().unwrap_or("").to_string()));
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        keep_headers(
            &self.1,
            Via::Grpc,
            &request.metadata().clone().into_headers(),
        );
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push((Via::Grpc, request.into_inner()));
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Collector {
    /// Listens on two free loopback ports.
    pub async fn start() -> Collector {
        let metrics: Kept = Arc::default();
        let headers: Headers = Arc::default();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let grpc_addr = grpc.local_addr().expect("bound");
        let service = MetricsServiceServer::new(Grpc(metrics.clone(), headers.clone()));
        let serving = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc));
        let grpc_task = tokio::spawn(async move {
            let _ = serving.await;
        });
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let http_addr = http.local_addr().expect("bound");
        let http_task = tokio::spawn(serve_http(http, metrics.clone(), headers.clone()));
        Collector {
            grpc: grpc_addr,
            http: http_addr,
            metrics,
            headers,
            tasks: vec![grpc_task, http_task],
        }
    }

    /// The names of every metric received over `via`.
    pub fn metric_names(&self, via: Via) -> BTreeSet<String> {
        let kept = self.metrics.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .filter(|(v, _)| *v == via)
            .flat_map(|(_, r)| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.name.clone())
            .collect()
    }

    /// Every header the requests over `via` carried, as (name, value).
    pub fn headers(&self, via: Via) -> BTreeSet<(String, String)> {
        let h = self.headers.lock().unwrap_or_else(|e| e.into_inner());
        h.iter()
            .filter(|(v, _, _)| *v == via)
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The string resource attributes of the requests received over `via`.
    pub fn resource(&self, via: Via) -> BTreeSet<(String, String)> {
        let kept = self.metrics.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .filter(|(v, _)| *v == via)
            .flat_map(|(_, r)| &r.resource_metrics)
            .filter_map(|rm| rm.resource.as_ref())
            .flat_map(|r| &r.attributes)
            .filter_map(
                |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Value::StringValue(s)) => Some((kv.key.clone(), s.clone())),
                    _ => None,
                },
            )
            .collect()
    }
}

/// OTLP/HTTP: `POST /v1/metrics` with a protobuf body.
async fn serve_http(listener: tokio::net::TcpListener, kept: Kept, headers: Headers) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (kept, headers) = (kept.clone(), headers.clone());
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let kept = kept.clone();
                    keep_headers(&headers, Via::Http, req.headers());
                    async move {
                        let path = req.uri().path().to_string();
                        let body = match req.into_body().collect().await {
                            Ok(b) => b.to_bytes(),
                            Err(_) => bytes::Bytes::new(),
                        };
                        let status =
                            match (path.as_str(), ExportMetricsServiceRequest::decode(body)) {
                                ("/v1/metrics", Ok(r)) => {
                                    kept.lock()
                                        .unwrap_or_else(|e| e.into_inner())
                                        .push((Via::Http, r));
                                    200
                                }
                                ("/v1/metrics", Err(_)) => 400,
                                _ => 404,
                            };
                        let reply = ExportMetricsServiceResponse::default().encode_to_vec();
                        hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/x-protobuf")
                            .body(Full::new(bytes::Bytes::from(reply)))
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await;
        });
    }
}
