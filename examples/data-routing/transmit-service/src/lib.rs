//! The data-routing example's transmit service (library; `main.rs` is its CLI).
//!
//! `TransmitActivity` posts `{Packet, TaskToken}` to `POST /transmit` and
//! returns "pending". This service accepts the packet at once, then, after a
//! random delay, completes the activity by its task token through a Temporal
//! client, as any external system would. Some of the time it says nothing
//! at all, and the activity's start-to-close timeout fires instead.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads};
use temporalio_common::protos::temporal::api::workflowservice::v1::RespondActivityTaskCompletedRequest;
use tokio::net::TcpListener;

pub use tokio::net::TcpListener as Listener;

#[derive(Parser, Debug, Clone)]
#[command(about = "Completes the data-routing example's TransmitActivity by task token")]
pub struct Args {
    /// Address to listen on for POST /transmit.
    #[arg(long, default_value = "127.0.0.1:8089", env = "TRANSMIT_LISTEN")]
    pub listen: SocketAddr,
    /// The Temporal frontend to complete activities through.
    #[arg(
        long,
        default_value = "http://127.0.0.1:7233",
        env = "TEMPORAL_ADDRESS"
    )]
    pub temporal_address: String,
    #[arg(long, default_value = "default", env = "TEMPORAL_NAMESPACE")]
    pub namespace: String,
    /// Longest delay before the completion, in milliseconds (uniformly random).
    #[arg(long, default_value_t = 15_000)]
    pub max_delay_ms: u64,
    /// Chance (0..=1) of never answering, so the activity times out.
    #[arg(long, default_value_t = 0.1)]
    pub silent_chance: f64,
    /// Providers this service never answers for (comma-separated), to force failures.
    #[arg(long, value_delimiter = ',')]
    pub silent_routes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransmitRequest {
    packet: serde_json::Value,
    task_token: String,
}

struct Service {
    args: Args,
    silent_routes: HashSet<String>,
    client: Client,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

impl Service {
    async fn handle(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
            (&Method::POST, "/transmit") => {
                let body = match req.into_body().collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
                };
                match serde_json::from_slice::<TransmitRequest>(&body) {
                    Ok(t) => self.accept(t),
                    Err(e) => text(
                        StatusCode::BAD_REQUEST,
                        format!("bad transmit request: {e}"),
                    ),
                }
            }
            _ => text(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn accept(self: Arc<Self>, t: TransmitRequest) -> Response<Full<Bytes>> {
        let token = match base64::engine::general_purpose::STANDARD.decode(&t.task_token) {
            Ok(t) => t,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("bad task token: {e}")),
        };
        let provider = t.packet["CurrentRouteProvider"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id = t.packet["ID"].as_str().unwrap_or_default().to_string();
        let silent = self.silent_routes.contains(&provider)
            || rand::random::<f64>() < self.args.silent_chance;
        if silent {
            tracing::info!(packet = %id, %provider, "staying silent: the activity will time out");
            return text(StatusCode::ACCEPTED, "accepted");
        }
        let delay = Duration::from_millis(if self.args.max_delay_ms == 0 {
            0
        } else {
            rand::random::<u64>() % self.args.max_delay_ms
        });
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            match self.complete(token, &provider).await {
                Ok(()) => {
                    tracing::info!(packet = %id, %provider, ?delay, "delivered; activity completed")
                }
                Err(e) => {
                    tracing::warn!(packet = %id, %provider, ?delay, "completion rejected (timed out already?): {e}")
                }
            }
        });
        text(StatusCode::ACCEPTED, "accepted")
    }

    async fn complete(&self, task_token: Vec<u8>, provider: &str) -> anyhow::Result<()> {
        let receipt = serde_json::json!({"Provider": provider, "Status": "STATUS_DELIVERED"});
        let payload = Payload {
            metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
            data: serde_json::to_vec(&receipt)?,
            ..Default::default()
        };
        let request = RespondActivityTaskCompletedRequest {
            task_token,
            result: Some(Payloads {
                payloads: vec![payload],
            }),
            identity: "transmit-service".into(),
            namespace: self.args.namespace.clone(),
            ..Default::default()
        };
        let mut client = self.client.clone();
        WorkflowService::respond_activity_task_completed(&mut client, tonic::Request::new(request))
            .await
            .context("RespondActivityTaskCompleted")?;
        Ok(())
    }
}

/// Connects to Temporal and serves `POST /transmit` on `listener` until the
/// future is dropped.
pub async fn serve(args: Args, listener: TcpListener) -> anyhow::Result<()> {
    let url = url::Url::parse(&args.temporal_address).with_context(|| {
        format!(
            "--temporal-address {:?} is not a URL",
            args.temporal_address
        )
    })?;
    let connection = Connection::connect(
        ConnectionOptions::new(url)
            .identity("transmit-service".to_string())
            .build(),
    )
    .await
    .with_context(|| format!("cannot connect to Temporal at {}", args.temporal_address))?;
    let client = Client::new(
        connection,
        ClientOptions::new(args.namespace.clone()).build(),
    )?;
    tracing::info!(listen = %listener.local_addr()?, "transmit service ready");
    let service = Arc::new(Service {
        silent_routes: args.silent_routes.iter().cloned().collect(),
        args,
        client,
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let svc = hyper::service::service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service.handle(req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await
            {
                tracing::debug!("connection error: {e}");
            }
        });
    }
}
