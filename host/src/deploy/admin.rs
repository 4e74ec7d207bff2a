//! The admin API (gRPC, `polyworker.admin.v1.Admin`) over a [`Fleet`], and
//! the client the `polyworker modules` verbs use. Loopback by default; on
//! any other address every call must carry the configured bearer token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::{DeployError, Fleet, VersionInfo};
use crate::config::DeploymentConfig;

#[allow(clippy::all, missing_docs, unreachable_pub)]
pub mod proto {
    tonic::include_proto!("polyworker.admin.v1");
}

use proto::admin_server::{Admin, AdminServer};

/// Components reach ~20 MB (Python); room for those with margin.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

struct Service {
    fleet: Arc<Fleet>,
}

/// The error and its causes, for the client's message.
fn report(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn status(e: DeployError) -> Status {
    let text = report(&e);
    match e {
        DeployError::UnknownQueue { .. } | DeployError::UnknownVersion { .. } => {
            Status::not_found(text)
        }
        DeployError::Ambiguous { .. }
        | DeployError::AlreadyDeployed { .. }
        | DeployError::Retired { .. }
        | DeployError::IsCurrent { .. }
        | DeployError::OpenWorkflows { .. }
        | DeployError::Read { .. }
        | DeployError::Load(_)
        | DeployError::DuplicateType(_) => Status::invalid_argument(text),
        DeployError::ReplayGate { .. } => Status::failed_precondition(text),
        DeployError::Store(_)
        | DeployError::Worker(_)
        | DeployError::AdminToken { .. }
        | DeployError::AdminBind { .. } => Status::internal(text),
        DeployError::Server { .. } | DeployError::Replay(_) => Status::unavailable(text),
    }
}

/// A version as the admin API reports it.
pub fn to_proto(v: VersionInfo) -> proto::Version {
    proto::Version {
        task_queue: v.task_queue,
        digest: v.digest,
        state: v.state.as_str().to_string(),
        deployed_at_ms: v.deployed_at_ms,
        workflow_types: v.workflow_types,
        activity_types: v.activity_types,
        open_workflows: v.open_workflows,
    }
}

impl Service {
    async fn version(&self, task_queue: &str, digest: &str) -> Option<proto::Version> {
        self.fleet
            .list()
            .await
            .into_iter()
            .find(|v| v.task_queue == task_queue && v.digest == digest)
            .map(to_proto)
    }
}

#[tonic::async_trait]
impl Admin for Service {
    async fn deploy(
        &self,
        request: Request<proto::DeployRequest>,
    ) -> Result<Response<proto::DeployResponse>, Status> {
        let r = request.into_inner();
        let started = Instant::now();
        let digest = self
            .fleet
            .deploy(&r.task_queue, r.component)
            .await
            .map_err(status)?;
        let mut replayed = 0;
        if r.make_current {
            let reports = self
                .fleet
                .set_current(&r.task_queue, &digest, r.force)
                .await
                .map_err(status)?;
            replayed = reports.len() as u32;
        }
        Ok(Response::new(proto::DeployResponse {
            version: self.version(&r.task_queue, &digest).await,
            replayed,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }))
    }

    async fn set_current(
        &self,
        request: Request<proto::SetCurrentRequest>,
    ) -> Result<Response<proto::SetCurrentResponse>, Status> {
        let r = request.into_inner();
        let started = Instant::now();
        let digest = self
            .fleet
            .resolve(&r.task_queue, &r.digest)
            .await
            .map_err(status)?;
        let reports = self
            .fleet
            .set_current(&r.task_queue, &digest, r.force)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::SetCurrentResponse {
            digest,
            replayed: reports.len() as u32,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }))
    }

    async fn retire(
        &self,
        request: Request<proto::RetireRequest>,
    ) -> Result<Response<proto::RetireResponse>, Status> {
        let r = request.into_inner();
        let digest = self
            .fleet
            .retire(&r.task_queue, &r.digest, r.force)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RetireResponse { digest }))
    }

    async fn list(
        &self,
        _: Request<proto::ListRequest>,
    ) -> Result<Response<proto::ListResponse>, Status> {
        let versions = self.fleet.list().await.into_iter().map(to_proto).collect();
        Ok(Response::new(proto::ListResponse { versions }))
    }
}

/// Checks `authorization: Bearer <token>` when a token is configured.
#[derive(Clone)]
struct Auth(Option<String>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(token) = &self.0 else {
            return Ok(request);
        };
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given == Some(token.as_str()) {
            Ok(request)
        } else {
            Err(Status::unauthenticated(
                "the admin API needs `authorization: Bearer <token>` (polyworker modules --token or POLYWORKER_ADMIN_TOKEN)",
            ))
        }
    }
}

/// Serves the admin API until the returned handle is aborted.
pub async fn serve(
    fleet: Arc<Fleet>,
    config: &DeploymentConfig,
) -> Result<(SocketAddr, tokio::task::AbortHandle), DeployError> {
    let token = config.admin_token();
    let addr = config.admin;
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(DeployError::AdminToken {
            addr,
            env: config
                .admin_token_env
                .clone()
                .unwrap_or_else(|| "(unset)".into()),
        });
    }
    let bind = |source| DeployError::AdminBind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind)?;
    let bound = listener.local_addr().map_err(bind)?;
    let service = tonic::service::interceptor::InterceptedService::new(
        AdminServer::new(Service { fleet }).max_decoding_message_size(MAX_MESSAGE_BYTES),
        Auth(token),
    );
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
    });
    Ok((bound, task.abort_handle()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn with_header(value: Option<&str>) -> Request<()> {
        let mut r = Request::new(());
        if let Some(v) = value {
            r.metadata_mut().insert("authorization", v.parse().unwrap());
        }
        r
    }

    #[test]
    fn a_token_is_required_only_when_configured() {
        let mut open = Auth(None);
        assert!(open.call(with_header(None)).is_ok());
        let mut guarded = Auth(Some("s3cret".into()));
        assert!(guarded.call(with_header(Some("Bearer s3cret"))).is_ok());
        for bad in [None, Some("Bearer nope"), Some("s3cret")] {
            let e = guarded.call(with_header(bad)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{bad:?}");
        }
    }
}
