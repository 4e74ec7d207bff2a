//! What versioning asks of the Temporal server: route a queue's new
//! workflows to a version, count a version's open workflows, and fetch the
//! recent histories the replay gate replays.

use std::time::{Duration, Instant};

use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CountWorkflowExecutionsRequest, DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest, SetWorkerDeploymentRampingVersionRequest,
};
use tonic::Code;

use super::DeployError;
use crate::temporal::Link;
use crate::temporal::replay::{ReplayInput, fetch_history, list_executions};

/// How long a new version's pollers may take to reach the server before
/// routing to it is given up.
const ROUTE_PATIENCE: Duration = Duration::from_secs(30);

/// Makes `build_id` the current version of `deployment_name`. The server
/// knows a version only once its worker has polled, so a fresh version is
/// retried until then.
pub async fn set_current(
    link: &Link,
    deployment_name: &str,
    build_id: &str,
) -> Result<(), DeployError> {
    let deadline = Instant::now() + ROUTE_PATIENCE;
    loop {
        let req = SetWorkerDeploymentCurrentVersionRequest {
            namespace: link.namespace.clone(),
            deployment_name: deployment_name.to_string(),
            build_id: build_id.to_string(),
            identity: link.identity.clone(),
            // Each version polls one queue; the deployment has no others.
            ignore_missing_task_queues: true,
            ..Default::default()
        };
        let mut c = link.connection.clone();
        match WorkflowService::set_worker_deployment_current_version(
            &mut c,
            tonic::Request::new(req),
        )
        .await
        {
            Ok(_) => return Ok(()),
            Err(s)
                if matches!(s.code(), Code::NotFound | Code::FailedPrecondition)
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(source) => {
                return Err(DeployError::Server {
                    what: format!(
                        "cannot make {build_id:.12} the current version of {deployment_name}"
                    ),
                    source,
                });
            }
        }
    }
}

/// Sends `percentage` of the deployment's new workflows (and of its
/// auto-upgrading runs) to `build_id`; 0 stops the ramp.
pub async fn set_ramping(
    link: &Link,
    deployment_name: &str,
    build_id: &str,
    percentage: f32,
) -> Result<(), DeployError> {
    let req = SetWorkerDeploymentRampingVersionRequest {
        namespace: link.namespace.clone(),
        deployment_name: deployment_name.to_string(),
        build_id: build_id.to_string(),
        percentage,
        identity: link.identity.clone(),
        ignore_missing_task_queues: true,
        ..Default::default()
    };
    let mut c = link.connection.clone();
    WorkflowService::set_worker_deployment_ramping_version(&mut c, tonic::Request::new(req))
        .await
        .map(drop)
        .map_err(|source| DeployError::Server {
            what: format!("cannot ramp {build_id:.12} of {deployment_name} to {percentage}%"),
            source,
        })
}

/// Where the server routes a Worker Deployment's new workflows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    /// The current version's build id.
    pub current: Option<String>,
    /// The ramping version's build id and its percentage.
    pub ramping: Option<(String, f32)>,
    /// Build ids that were routed to and no longer are (draining or
    /// drained, as the server tells them apart).
    pub retiring: Vec<(String, Drained)>,
}

/// Whether the server has seen a retiring version's last run finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Pinned runs may still be open on it.
    Not,
    /// No open run is left on it.
    Yes,
}

impl Routing {
    /// Whether `build_id` gets new workflows.
    pub fn routes_to(&self, build_id: &str) -> bool {
        self.current.as_deref() == Some(build_id)
            || self.ramping.as_ref().is_some_and(|(r, _)| r == build_id)
    }
}

/// The deployment's routing; no routing while the server does not know the
/// deployment yet (no version of it has polled).
pub async fn describe(link: &Link, deployment_name: &str) -> Result<Routing, DeployError> {
    let req = DescribeWorkerDeploymentRequest {
        namespace: link.namespace.clone(),
        deployment_name: deployment_name.to_string(),
    };
    let mut c = link.connection.clone();
    let info =
        match WorkflowService::describe_worker_deployment(&mut c, tonic::Request::new(req)).await {
            Ok(r) => r.into_inner().worker_deployment_info,
            Err(s) if s.code() == Code::NotFound => None,
            Err(source) => {
                return Err(DeployError::Server {
                    what: format!("cannot read the routing of {deployment_name}"),
                    source,
                });
            }
        };
    use temporalio_common::protos::temporal::api::enums::v1::WorkerDeploymentVersionStatus as S;
    let info = info.unwrap_or_default();
    let retiring = info
        .version_summaries
        .iter()
        .filter_map(|v| {
            let drained = match v.status() {
                S::Draining => Drained::Not,
                S::Drained => Drained::Yes,
                _ => return None,
            };
            Some((v.deployment_version.as_ref()?.build_id.clone(), drained))
        })
        .collect();
    let routing = info.routing_config.unwrap_or_default();
    let build_id = |v: Option<
        temporalio_common::protos::temporal::api::deployment::v1::WorkerDeploymentVersion,
    >| { v.map(|v| v.build_id).filter(|b| !b.is_empty()) };
    Ok(Routing {
        current: build_id(routing.current_deployment_version),
        ramping: build_id(routing.ramping_deployment_version)
            .map(|b| (b, routing.ramping_version_percentage)),
        retiring,
    })
}

/// Running workflows on one version, as the server's visibility counts them.
pub async fn open_workflows(
    link: &Link,
    task_queue: &str,
    deployment_name: &str,
    build_id: &str,
) -> Option<u64> {
    let req = CountWorkflowExecutionsRequest {
        namespace: link.namespace.clone(),
        query: format!(
            "TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running' AND \
             TemporalWorkerDeploymentVersion = '{deployment_name}:{build_id}'"
        ),
    };
    let mut c = link.connection.clone();
    WorkflowService::count_workflow_executions(&mut c, tonic::Request::new(req))
        .await
        .ok()
        .map(|r| r.into_inner().count.max(0) as u64)
}

/// Up to `sample` recent runs' histories of each of `types` on `task_queue`.
pub async fn recent_histories(
    link: &Link,
    task_queue: &str,
    types: &[String],
    sample: usize,
) -> Result<Vec<ReplayInput>, DeployError> {
    let (conn, namespace) = (&link.connection, link.namespace.as_str());
    let mut inputs = Vec::new();
    for t in types {
        let query = format!("TaskQueue = '{task_queue}' AND WorkflowType = '{t}'");
        for (workflow_id, run_id) in list_executions(conn, namespace, &query, sample).await? {
            inputs.push(fetch_history(conn, namespace, &workflow_id, &run_id).await?);
        }
    }
    Ok(inputs)
}
