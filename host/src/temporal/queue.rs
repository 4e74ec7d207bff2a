//! A task queue as the host serves it: which module implements each
//! workflow and activity type, what the queue's activities may reach, and
//! the bounds its guests run within.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::convert::Limits;
use super::tenant::Tenant;
use crate::runtime::activity::Preopen;
use crate::runtime::http::Allowlist;
use crate::runtime::{Meters, Module, ModuleMeter, Role, RunLimits, WorkflowThreads};

/// Two modules on one queue claim the same type.
#[derive(Debug, thiserror::Error)]
#[error("task queue {queue:?}: {role} type {name:?} is defined by both {first} and {second}")]
pub struct DuplicateType {
    /// The task queue.
    pub queue: String,
    /// Workflow or activity.
    pub role: Role,
    /// The type.
    pub name: String,
    /// The module that defined it first.
    pub first: String,
    /// The module that defined it again.
    pub second: String,
}

/// What a queue's activities are granted.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Hosts they may reach over HTTP.
    pub allowlist: Allowlist,
    /// Environment variables they see.
    pub env: Vec<(String, String)>,
    /// Directories they may open.
    pub preopens: Vec<Preopen>,
}

/// The bounds a queue's guests run within.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// A workflow call's deadline and memory.
    pub run: RunLimits,
    /// An activity attempt's linear memory.
    pub activity_memory_bytes: usize,
    /// How long a cancelled activity may go on before it is interrupted.
    pub cancel_grace: Duration,
    /// What a guest may send to Temporal.
    pub payloads: Limits,
}

/// A task queue served by this host.
pub struct Queue {
    /// Its name.
    pub name: String,
    /// Its namespace (its tenant's).
    pub namespace: String,
    /// Its tenant: link to the server, command scope, memory account.
    pub tenant: Arc<Tenant>,
    /// The module of each workflow type.
    pub workflows: BTreeMap<String, Arc<Module>>,
    /// The module of each activity type.
    pub activities: BTreeMap<String, Arc<Module>>,
    /// What its activities may use.
    pub grants: Grants,
    /// The bounds of its guests.
    pub bounds: Bounds,
    meters: HashMap<(Role, String), ModuleMeter>,
    /// Served as a Worker Deployment Version: completions carry each
    /// workflow type's declared versioning behaviour.
    pub versioned: bool,
    /// Where its workflow calls run (the host's one pool).
    pub threads: WorkflowThreads,
    /// Where its workflow-task and activity-attempt spans go; `None`: no
    /// spans (the trace context still passes through to commands).
    pub tracer: Option<opentelemetry_sdk::trace::Tracer>,
}

fn insert(
    map: &mut BTreeMap<String, Arc<Module>>,
    queue: &str,
    role: Role,
    name: &str,
    module: &Arc<Module>,
) -> Result<(), DuplicateType> {
    if let Some(first) = map.get(name) {
        return Err(DuplicateType {
            queue: queue.to_string(),
            role,
            name: name.to_string(),
            first: first.path.display().to_string(),
            second: module.path.display().to_string(),
        });
    }
    map.insert(name.to_string(), module.clone());
    Ok(())
}

impl Queue {
    /// The queue `name` of `tenant`, serving `modules`' types.
    pub fn new(
        name: &str,
        tenant: Arc<Tenant>,
        grants: Grants,
        bounds: Bounds,
        modules: &[Arc<Module>],
        meters: &dyn Meters,
        threads: WorkflowThreads,
    ) -> Result<Queue, DuplicateType> {
        let mut by_module = HashMap::new();
        let mut workflows = BTreeMap::new();
        let mut activities = BTreeMap::new();
        for m in modules {
            for (role, map) in [
                (Role::Workflow, &mut workflows),
                (Role::Activity, &mut activities),
            ] {
                let types = m.types(role);
                let has = match role {
                    Role::Workflow => m.workflow.is_some(),
                    Role::Activity => m.activity.is_some(),
                };
                if has {
                    by_module.insert(
                        (role, m.digest.clone()),
                        meters.module(name, role, &m.digest),
                    );
                }
                for t in types {
                    insert(map, name, role, t, m)?;
                }
            }
        }
        Ok(Queue {
            name: name.to_string(),
            namespace: tenant.namespace().to_string(),
            tenant,
            workflows,
            activities,
            grants,
            bounds,
            meters: by_module,
            versioned: false,
            threads,
            tracer: None,
        })
    }

    /// The meter of a module's role; a no-op one for a module the queue
    /// did not register (cannot happen in a running host).
    pub fn meter(&self, role: Role, digest: &str) -> ModuleMeter {
        self.meters
            .get(&(role, digest.to_string()))
            .cloned()
            .unwrap_or_else(ModuleMeter::disabled)
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
