//! What versioning asks of the Temporal server: route a queue's new
//! workflows to a version, count a version's open workflows, and fetch the
//! recent histories the replay gate replays.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use temporalio_client::grpc::WorkflowService;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CountWorkflowExecutionsRequest, DeleteWorkerDeploymentVersionRequest,
    DescribeWorkerDeploymentRequest, SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest,
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
/// auto-upgrading runs) to `build_id`; 0 ends the ramp (the version then
/// drains, where a 0% ramp would keep it ramping).
pub async fn set_ramping(
    link: &Link,
    deployment_name: &str,
    build_id: &str,
    percentage: f32,
) -> Result<(), DeployError> {
    let req = SetWorkerDeploymentRampingVersionRequest {
        namespace: link.namespace.clone(),
        deployment_name: deployment_name.to_string(),
        // No build id: no ramping version.
        build_id: match percentage {
            0.0 => String::new(),
            _ => build_id.to_string(),
        },
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
    /// Every build id the server has a record of.
    pub known: HashSet<String>,
    /// When the newest drained version first polled. Older drained versions
    /// are deleted from the server (`obsolete`), so an artifact the server
    /// does not know that was pushed before this is one of those, not a new
    /// version.
    pub drained_since: Option<DateTime<Utc>>,
    /// Drained versions older than the newest drained one: what to delete
    /// from the server, so a long-lived queue stays under its version limit.
    pub obsolete: Vec<String>,
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

    /// Whether the server has seen `build_id` drain.
    pub fn drained(&self, build_id: &str) -> bool {
        self.retiring
            .iter()
            .any(|(b, d)| b == build_id && *d == Drained::Yes)
    }

    /// Whether an artifact pushed at `created` that the server does not know
    /// is a version deleted from the server after it drained (not to be
    /// started again) rather than a new one. One without a push time counts
    /// as new.
    pub fn deleted(&self, build_id: &str, created: Option<DateTime<Utc>>) -> bool {
        !self.known.contains(build_id)
            && matches!((created, self.drained_since), (Some(c), Some(d)) if c < d)
    }
}

/// The drained versions to delete: all but the newest (by when each first
/// polled), which stays as the marker `Routing::deleted` compares against.
fn obsolete(
    mut drained: Vec<(String, Option<DateTime<Utc>>)>,
) -> (Option<DateTime<Utc>>, Vec<String>) {
    drained.sort_by_key(|(_, t)| *t);
    match drained.pop() {
        Some((_, newest)) => (newest, drained.into_iter().map(|(b, _)| b).collect()),
        None => (None, Vec::new()),
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
    let info = info.unwrap_or_default();
    let mut routing = Routing::default();
    let mut drained = Vec::new();
    use temporalio_common::protos::temporal::api::enums::v1::WorkerDeploymentVersionStatus as S;
    for v in &info.version_summaries {
        let Some(build_id) = v.deployment_version.as_ref().map(|d| d.build_id.clone()) else {
            continue;
        };
        routing.known.insert(build_id.clone());
        match v.status() {
            S::Draining => routing.retiring.push((build_id, Drained::Not)),
            S::Drained => {
                let created = v.create_time.as_ref().and_then(|t| {
                    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
                });
                drained.push((build_id.clone(), created));
                routing.retiring.push((build_id, Drained::Yes));
            }
            _ => {}
        }
    }
    (routing.drained_since, routing.obsolete) = obsolete(drained);
    let config = info.routing_config.unwrap_or_default();
    let build_id = |v: Option<
        temporalio_common::protos::temporal::api::deployment::v1::WorkerDeploymentVersion,
    >| { v.map(|v| v.build_id).filter(|b| !b.is_empty()) };
    routing.current = build_id(config.current_deployment_version);
    routing.ramping =
        build_id(config.ramping_deployment_version).map(|b| (b, config.ramping_version_percentage));
    Ok(routing)
}

/// Deletes a drained version's record from the server. The server refuses
/// while any host still polls it (its poller history lasts minutes), so
/// callers retry, rarely.
pub async fn delete_version(
    link: &Link,
    deployment_name: &str,
    build_id: &str,
) -> Result<(), DeployError> {
    use temporalio_common::protos::temporal::api::deployment::v1::WorkerDeploymentVersion;
    let req = DeleteWorkerDeploymentVersionRequest {
        namespace: link.namespace.clone(),
        deployment_version: Some(WorkerDeploymentVersion {
            deployment_name: deployment_name.to_string(),
            build_id: build_id.to_string(),
        }),
        identity: link.identity.clone(),
        ..Default::default()
    };
    let mut c = link.connection.clone();
    WorkflowService::delete_worker_deployment_version(&mut c, tonic::Request::new(req))
        .await
        .map(drop)
        .map_err(|source| DeployError::Server {
            what: format!("cannot delete the drained version {build_id:.12} of {deployment_name}"),
            source,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(secs, 0)
    }

    #[test]
    fn every_drained_version_but_the_newest_is_obsolete() {
        let drained = vec![
            ("b".to_string(), at(20)),
            ("c".to_string(), at(30)),
            ("a".to_string(), at(10)),
        ];
        assert_eq!(
            obsolete(drained),
            (at(30), vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(obsolete(Vec::new()), (None, Vec::new()));
    }

    #[test]
    fn an_unknown_artifact_older_than_the_newest_drained_version_was_deleted() {
        let routing = Routing {
            known: HashSet::from(["c".to_string()]),
            drained_since: at(30),
            ..Default::default()
        };
        assert!(routing.deleted("a", at(10)), "pushed before: deleted");
        assert!(!routing.deleted("d", at(40)), "pushed after: new");
        assert!(!routing.deleted("e", None), "no push time: new");
        assert!(!routing.deleted("c", at(10)), "known: not deleted");
        let fresh = Routing::default();
        assert!(!fresh.deleted("a", at(10)), "nothing drained yet: new");
    }
}
