//! What versioning asks of the Temporal server: route a queue's new
//! workflows to a version, count a version's open workflows, and fetch the
//! recent histories the replay gate replays.

use std::time::{Duration, Instant};

use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CountWorkflowExecutionsRequest, SetWorkerDeploymentCurrentVersionRequest,
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
