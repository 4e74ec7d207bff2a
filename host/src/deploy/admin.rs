//! The admin API (gRPC, `polyworker.admin.v1.Admin`) over a [`Fleet`], and
//! the client the `polyworker modules` verbs use. Loopback by default; on
//! any other address, and always once tenants are configured, every call
//! must carry a bearer token: the host's may do everything, a tenant's may
//! deploy, list and retire on that tenant's queues only. A reload asked for
//! here is handed to whoever runs the host's reload loop ([`Reloads`]).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

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
    reloads: Reloads,
}

/// Where a reload asked for through the API goes, answered with what it did
/// or why the new config was refused.
pub type ReloadReply = oneshot::Sender<Result<proto::ReloadResponse, Status>>;

/// The admin API's side of reloading: empty until the host's reload loop
/// accepts reloads (`polyworker run` does; a host started from a `Config`
/// value has no file to re-read).
#[derive(Clone, Default)]
pub struct Reloads(Arc<OnceLock<mpsc::Sender<ReloadReply>>>);

impl Reloads {
    /// The requests from now on; `None` if someone accepts them already.
    pub fn accept(&self) -> Option<mpsc::Receiver<ReloadReply>> {
        let (tx, rx) = mpsc::channel(1);
        self.0.set(tx).ok().map(|()| rx)
    }

    async fn ask(&self) -> Result<proto::ReloadResponse, Status> {
        let Some(tx) = self.0.get() else {
            return Err(Status::failed_precondition(
                "this host does not reload: it was not started from a config file",
            ));
        };
        let (reply, answer) = oneshot::channel();
        let gone = || Status::unavailable("the host is shutting down; it did not reload");
        tx.send(reply).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Who a call's token says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The host's token (or no token on an open, tenantless loopback API).
    Host,
    /// A tenant's token.
    Tenant(String),
}

impl Principal {
    fn of<T>(request: &Request<T>) -> Result<Principal, Status> {
        request
            .extensions()
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no principal"))
    }
}

fn status(e: DeployError) -> Status {
    let text = crate::ops::telemetry::error_chain(&e);
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
        DeployError::Server { .. } | DeployError::Replay(_) | DeployError::Registry(_) => {
            Status::unavailable(text)
        }
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
    /// Refuses a tenant's token on a queue that is not its own (unknown
    /// queues included: a tenant learns nothing of others' names).
    fn authorize(&self, who: &Principal, task_queue: &str) -> Result<(), Status> {
        match who {
            Principal::Host => Ok(()),
            Principal::Tenant(t) if self.fleet.tenant_of(task_queue).as_ref() == Some(t) => Ok(()),
            Principal::Tenant(t) => Err(Status::permission_denied(format!(
                "tenant {t:?}'s token may act only on its own task queues, not {task_queue:?}"
            ))),
        }
    }

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
        let who = Principal::of(&request)?;
        let r = request.into_inner();
        self.authorize(&who, &r.task_queue)?;
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
        let who = Principal::of(&request)?;
        let r = request.into_inner();
        self.authorize(&who, &r.task_queue)?;
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
        let who = Principal::of(&request)?;
        let r = request.into_inner();
        self.authorize(&who, &r.task_queue)?;
        let digest = self
            .fleet
            .retire(&r.task_queue, &r.digest, r.force)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RetireResponse { digest }))
    }

    async fn list(
        &self,
        request: Request<proto::ListRequest>,
    ) -> Result<Response<proto::ListResponse>, Status> {
        let who = Principal::of(&request)?;
        let versions = self
            .fleet
            .list()
            .await
            .into_iter()
            .filter(|v| self.authorize(&who, &v.task_queue).is_ok())
            .map(to_proto)
            .collect();
        Ok(Response::new(proto::ListResponse { versions }))
    }

    async fn reload(
        &self,
        request: Request<proto::ReloadRequest>,
    ) -> Result<Response<proto::ReloadResponse>, Status> {
        if let Principal::Tenant(t) = Principal::of(&request)? {
            return Err(Status::permission_denied(format!(
                "tenant {t:?}'s token may not reload the host's config; the host's token may"
            )));
        }
        self.reloads.ask().await.map(Response::new)
    }

    async fn gc(
        &self,
        request: Request<proto::GcRequest>,
    ) -> Result<Response<proto::GcResponse>, Status> {
        if let Principal::Tenant(t) = Principal::of(&request)? {
            return Err(Status::permission_denied(format!(
                "tenant {t:?}'s token may not collect the host's store; the host's token may"
            )));
        }
        let removed = self.fleet.gc().map_err(status)?;
        Ok(Response::new(proto::GcResponse { removed }))
    }
}

/// The tokens the admin API accepts, each with whom it stands for. Kept as
/// SHA-256 digests and compared in constant time, so neither a token's
/// bytes nor its length can be learnt from response times; never logged.
#[derive(Clone, Default)]
pub struct Tokens {
    /// No token needed: a loopback API with no tokens and no tenants.
    open: bool,
    /// Replaced as a whole by a reload ([`Tokens::set_tenants`]).
    known: Arc<RwLock<Vec<Known>>>,
}

/// A token's SHA-256 digest, and whom it stands for.
type Known = ([u8; 32], Principal);

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl Tokens {
    /// Accepts `tokens`; with none, the API is `open` to whoever reaches it
    /// when `open` (a tenantless loopback API), to no one otherwise.
    pub fn new(tokens: Vec<(String, Principal)>, open: bool) -> Tokens {
        Tokens {
            open: open && tokens.is_empty(),
            known: Arc::new(RwLock::new(
                tokens
                    .into_iter()
                    .map(|(t, p)| (sha256(t.as_bytes()), p))
                    .collect(),
            )),
        }
    }

    /// Replaces the tenants' tokens (name, token) with `tenants`; the
    /// host's stays.
    pub fn set_tenants(&self, tenants: Vec<(String, String)>) {
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        known.retain(|(_, p)| *p == Principal::Host);
        known.extend(
            tenants
                .into_iter()
                .map(|(n, t)| (sha256(t.as_bytes()), Principal::Tenant(n))),
        );
    }

    /// Whom `token` stands for.
    fn principal(&self, token: &str) -> Option<Principal> {
        use subtle::ConstantTimeEq;
        let given = sha256(token.as_bytes());
        // Every entry is compared, so the time does not say which matched.
        let mut found = None;
        for (digest, who) in self.known.read().unwrap_or_else(|e| e.into_inner()).iter() {
            if bool::from(digest.ct_eq(&given)) {
                found = Some(who.clone());
            }
        }
        found
    }
}

impl tonic::service::Interceptor for Tokens {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let who = if self.open {
            Some(Principal::Host)
        } else {
            request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|t| self.principal(t))
        };
        match who {
            Some(p) => {
                request.extensions_mut().insert(p);
                Ok(request)
            }
            None => Err(Status::unauthenticated(
                "the admin API needs `authorization: Bearer <token>` (polyworker modules --token or POLYWORKER_ADMIN_TOKEN)",
            )),
        }
    }
}

/// The admin API, serving.
pub struct Serving {
    /// Where it listens.
    pub address: SocketAddr,
    /// Aborting it stops the API.
    pub task: tokio::task::AbortHandle,
    /// The tokens it accepts (a reload replaces the tenants').
    pub tokens: Tokens,
}

/// Serves the admin API until the returned task is aborted.
/// `tokens` are the tenants' (name, token); with any tenant configured
/// (`tenanted`) the API is never open.
pub async fn serve(
    fleet: Arc<Fleet>,
    config: &DeploymentConfig,
    tenant_tokens: Vec<(String, String)>,
    tenanted: bool,
    reloads: Reloads,
) -> Result<Serving, DeployError> {
    let token = config.admin_token();
    let addr = config.admin;
    if (tenanted || !addr.ip().is_loopback()) && token.is_none() {
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
    let tokens = Tokens::new(
        token.map(|t| (t, Principal::Host)).into_iter().collect(),
        !tenanted,
    );
    tokens.set_tenants(tenant_tokens);
    let service = tonic::service::interceptor::InterceptedService::new(
        AdminServer::new(Service { fleet, reloads }).max_decoding_message_size(MAX_MESSAGE_BYTES),
        tokens.clone(),
    );
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
    });
    Ok(Serving {
        address: bound,
        task: task.abort_handle(),
        tokens,
    })
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

    fn who(tokens: &mut Tokens, header: Option<&str>) -> Result<Principal, tonic::Code> {
        tokens
            .call(with_header(header))
            .map(|r| r.extensions().get::<Principal>().cloned().unwrap())
            .map_err(|e| e.code())
    }

    #[test]
    fn a_token_is_required_only_when_configured() {
        let mut open = Tokens::new(Vec::new(), true);
        assert_eq!(who(&mut open, None), Ok(Principal::Host));
        let mut guarded = Tokens::new(vec![("s3cret".into(), Principal::Host)], true);
        assert_eq!(
            who(&mut guarded, Some("Bearer s3cret")),
            Ok(Principal::Host)
        );
        for bad in [
            None,
            Some("Bearer nope"),
            Some("s3cret"),
            Some("Bearer s3cre"),
        ] {
            assert_eq!(
                who(&mut guarded, bad),
                Err(tonic::Code::Unauthenticated),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn tenant_tokens_name_their_tenant_and_tenants_close_the_api() {
        let mut t = Tokens::new(
            vec![
                ("host-t".into(), Principal::Host),
                ("a-t".into(), Principal::Tenant("a".into())),
            ],
            false,
        );
        assert_eq!(
            who(&mut t, Some("Bearer a-t")),
            Ok(Principal::Tenant("a".into()))
        );
        assert_eq!(who(&mut t, Some("Bearer host-t")), Ok(Principal::Host));
        let mut closed = Tokens::new(Vec::new(), false);
        assert_eq!(who(&mut closed, None), Err(tonic::Code::Unauthenticated));
    }

    #[test]
    fn a_reload_swaps_the_tenants_tokens_and_keeps_the_hosts() {
        let mut t = Tokens::new(vec![("host-t".into(), Principal::Host)], false);
        t.set_tenants(vec![("a".into(), "a-t".into())]);
        assert_eq!(
            who(&mut t, Some("Bearer a-t")),
            Ok(Principal::Tenant("a".into()))
        );
        t.clone().set_tenants(vec![("b".into(), "b-t".into())]);
        assert_eq!(
            who(&mut t, Some("Bearer a-t")),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            who(&mut t, Some("Bearer b-t")),
            Ok(Principal::Tenant("b".into()))
        );
        assert_eq!(who(&mut t, Some("Bearer host-t")), Ok(Principal::Host));
    }
}
