//! Where a workflow's commands may point: its tenant's namespace and task
//! queues. Checked on every command that names a queue or a namespace, so
//! a workflow cannot run another tenant's activities (with that tenant's
//! secrets and grants) or signal and cancel its workflows.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::ConvertError;

/// The namespace and task queues a workflow's commands may target.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The tenant, for messages.
    pub tenant: String,
    /// Its namespace; an empty namespace in a command means this one.
    pub namespace: String,
    /// The queues it may target; `None` leaves queues and namespaces open
    /// (a host without tenants behaves as it always did).
    pub task_queues: Option<Arc<BTreeSet<String>>>,
}

impl Scope {
    /// No restriction: the implicit tenant of a config without tenants.
    pub fn open(namespace: &str) -> Scope {
        Scope {
            tenant: String::new(),
            namespace: namespace.to_string(),
            task_queues: None,
        }
    }

    /// Only `namespace` and `task_queues`, for `tenant`.
    pub fn tenant(tenant: &str, namespace: &str, task_queues: BTreeSet<String>) -> Scope {
        Scope {
            tenant: tenant.to_string(),
            namespace: namespace.to_string(),
            task_queues: Some(Arc::new(task_queues)),
        }
    }

    fn refuse(&self, command: &'static str, target: String) -> ConvertError {
        ConvertError::OutOfScope {
            command,
            target,
            tenant: self.tenant.clone(),
        }
    }

    /// `queue` (already defaulted to the workflow's own) is one of the
    /// tenant's.
    pub fn check_queue(&self, command: &'static str, queue: &str) -> Result<(), ConvertError> {
        match &self.task_queues {
            Some(q) if !q.contains(queue) => {
                Err(self.refuse(command, format!("task queue {queue:?}")))
            }
            _ => Ok(()),
        }
    }

    /// `namespace` (empty: the workflow's own) is the tenant's.
    pub fn check_namespace(
        &self,
        command: &'static str,
        namespace: &str,
    ) -> Result<(), ConvertError> {
        if self.task_queues.is_none() || namespace.is_empty() || namespace == self.namespace {
            Ok(())
        } else {
            Err(self.refuse(command, format!("namespace {namespace:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_scope_admits_only_its_own_queues_and_namespace() {
        let s = Scope::tenant("a", "ns-a", ["qa".to_string()].into());
        assert!(s.check_queue("schedule-activity", "qa").is_ok());
        assert!(s.check_namespace("start-child", "").is_ok());
        assert!(s.check_namespace("start-child", "ns-a").is_ok());
        let e = s.check_queue("schedule-activity", "qb").unwrap_err();
        assert_eq!(
            e.to_string(),
            "schedule-activity targets task queue \"qb\", outside tenant \"a\" \
             (its own namespace and task queues only)"
        );
        let e = s.check_namespace("signal-external", "ns-b").unwrap_err();
        assert!(e.to_string().contains("namespace \"ns-b\""), "{e}");
    }

    #[test]
    fn the_open_scope_admits_anything() {
        let s = Scope::open("default");
        assert!(s.check_queue("schedule-activity", "anywhere").is_ok());
        assert!(s.check_namespace("start-child", "elsewhere").is_ok());
    }
}
