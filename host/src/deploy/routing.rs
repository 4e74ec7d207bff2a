//! What versioning asks of the Temporal server: route a queue's new
//! workflows to a version, count a version's open workflows, and fetch the
//! recent histories the replay gate replays.

use std::path::Path;
use std::time::{Duration, Instant};

use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CountWorkflowExecutionsRequest, SetWorkerDeploymentCurrentVersionRequest,
};
use tonic::Code;

use super::DeployError;
use crate::replay::{ReplayReport, fetch_history, list_executions, replay};
use crate::services::Services;

/// How long a new version's pollers may take to reach the server before
/// routing to it is given up.
const ROUTE_PATIENCE: Duration = Duration::from_secs(30);

/// Makes `build_id` the current version of `deployment_name`. The server
/// knows a version only once its worker has polled, so a fresh version is
/// retried until then.
pub async fn set_current(
    services: &Services,
    deployment_name: &str,
    build_id: &str,
) -> Result<(), DeployError> {
    let deadline = Instant::now() + ROUTE_PATIENCE;
    loop {
        let req = SetWorkerDeploymentCurrentVersionRequest {
            namespace: services.namespace.clone(),
            deployment_name: deployment_name.to_string(),
            build_id: build_id.to_string(),
            identity: services.identity.clone(),
            // Each version polls one queue; the deployment has no others.
            ignore_missing_task_queues: true,
            ..Default::default()
        };
        let mut c = services.connection.clone();
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
            Err(s) => {
                return Err(DeployError::Server(format!(
                    "cannot make {build_id:.12} the current version of {deployment_name}: {}",
                    s.message()
                )));
            }
        }
    }
}

/// Running workflows on one version, as the server's visibility counts them.
pub async fn open_workflows(
    services: &Services,
    task_queue: &str,
    deployment_name: &str,
    build_id: &str,
) -> Option<u64> {
    let req = CountWorkflowExecutionsRequest {
        namespace: services.namespace.clone(),
        query: format!(
            "TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running' AND \
             TemporalWorkerDeploymentVersion = '{deployment_name}:{build_id}'"
        ),
    };
    let mut c = services.connection.clone();
    WorkflowService::count_workflow_executions(&mut c, tonic::Request::new(req))
        .await
        .ok()
        .map(|r| r.into_inner().count.max(0) as u64)
}

/// Replays up to `sample` recent runs of each of `types` on `task_queue`
/// against the component at `module`.
pub async fn replay_recent(
    services: &Services,
    task_queue: &str,
    types: &[String],
    sample: usize,
    module: &Path,
) -> Result<Vec<ReplayReport>, DeployError> {
    let mut inputs = Vec::new();
    for t in types {
        let query = format!("TaskQueue = '{task_queue}' AND WorkflowType = '{t}'");
        let runs = list_executions(&services.connection, &services.namespace, &query, sample)
            .await
            .map_err(|e| DeployError::Server(e.to_string()))?;
        for (workflow_id, run_id) in runs {
            inputs.push(
                fetch_history(
                    &services.connection,
                    &services.namespace,
                    &workflow_id,
                    &run_id,
                )
                .await
                .map_err(|e| DeployError::Server(e.to_string()))?,
            );
        }
    }
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    replay(module, &services.engine_config, inputs, None)
        .await
        .map_err(|e| DeployError::Server(format!("the replay gate could not run: {e}")))
}
