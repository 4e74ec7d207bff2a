//! A task queue as the host serves it: which module implements each
//! workflow and activity type, and what the queue's activities may reach.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::activity::Allowlist;
use crate::config::{EngineConfig, TaskQueueConfig};
use crate::convert::Limits;
use crate::metrics::{HostMetrics, Kind, QueueMeters};
use crate::module::Module;
use crate::workflow::RunLimits;

/// Two modules on one queue claim the same type.
#[derive(Debug, thiserror::Error)]
#[error("task queue {queue:?}: {kind} type {name:?} is defined by both {first} and {second}")]
pub struct DuplicateType {
    pub queue: String,
    pub kind: &'static str,
    pub name: String,
    pub first: String,
    pub second: String,
}

pub struct Queue {
    pub name: String,
    pub namespace: String,
    pub workflows: BTreeMap<String, Arc<Module>>,
    pub activities: BTreeMap<String, Arc<Module>>,
    pub allowlist: Allowlist,
    pub env: Vec<(String, String)>,
    pub preopens: Vec<crate::config::Preopen>,
    pub run_limits: RunLimits,
    pub activity_memory_bytes: usize,
    pub cancel_grace: Duration,
    pub limits: Limits,
    pub meters: QueueMeters,
    /// Served as a Worker Deployment Version: completions carry each
    /// workflow type's declared versioning behaviour.
    pub versioned: bool,
}

fn insert(
    map: &mut BTreeMap<String, Arc<Module>>,
    queue: &str,
    kind: &'static str,
    name: &str,
    module: &Arc<Module>,
) -> Result<(), DuplicateType> {
    if let Some(first) = map.get(name) {
        return Err(DuplicateType {
            queue: queue.to_string(),
            kind,
            name: name.to_string(),
            first: first.path.display().to_string(),
            second: module.path.display().to_string(),
        });
    }
    map.insert(name.to_string(), module.clone());
    Ok(())
}

impl Queue {
    pub fn new(
        cfg: &TaskQueueConfig,
        namespace: &str,
        engine: &EngineConfig,
        modules: &[Arc<Module>],
        metrics: &Arc<HostMetrics>,
    ) -> Result<Queue, DuplicateType> {
        let mut meters = QueueMeters::default();
        let mut workflows = BTreeMap::new();
        let mut activities = BTreeMap::new();
        for m in modules {
            for (kind, has) in [
                (Kind::Workflow, m.workflow.is_some()),
                (Kind::Activity, m.activity.is_some()),
            ] {
                if has {
                    meters.insert(kind, &m.digest, metrics.module(&cfg.name, kind, &m.digest));
                }
            }
            for t in m.workflow.iter().flat_map(|w| &w.types) {
                insert(&mut workflows, &cfg.name, "workflow", t, m)?;
            }
            for t in m.activity.iter().flat_map(|a| &a.types) {
                insert(&mut activities, &cfg.name, "activity", t, m)?;
            }
        }
        Ok(Queue {
            name: cfg.name.clone(),
            namespace: namespace.to_string(),
            workflows,
            activities,
            // Entries were validated with the config.
            allowlist: Allowlist::new(&cfg.http_allowlist).unwrap_or_default(),
            env: cfg
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            preopens: cfg.preopens.clone(),
            run_limits: RunLimits {
                deadline: Duration::from_millis(engine.workflow_deadline_ms),
                memory_bytes: (engine.workflow_memory_mib as usize) << 20,
            },
            activity_memory_bytes: (engine.activity_memory_mib as usize) << 20,
            cancel_grace: Duration::from_millis(cfg.activity_cancel_grace_ms),
            limits: Limits::default(),
            meters,
            versioned: false,
        })
    }

    /// A comma-separated list for error messages.
    pub fn known(map: &BTreeMap<String, Arc<Module>>) -> String {
        if map.is_empty() {
            "none".into()
        } else {
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }
}
