//! A tenant as the Temporal side sees it: its link to the server (namespace
//! and connection), the scope its workflows' commands must stay within,
//! and the share of the host's memory budget its guests are charged to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::connection::Link;
use super::convert::Scope;
use super::resident::Resident;
use crate::runtime::Account;

/// One tenant's Temporal-side context, shared by its queues.
pub struct Tenant {
    /// Its name (`default` for the implicit tenant of a config without tenants).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// Its connection to the server (`None` for replay, which needs none).
    pub link: Option<Link>,
    /// Where its workflows' commands may point.
    pub scope: Scope,
    /// Its share of the host's guest memory budget (`None`: not charged,
    /// as for the replay gate's own runs).
    pub memory: Option<Arc<Account>>,
    /// The host's cached runs, where its runs are registered for the
    /// budget's evictions.
    pub resident: Arc<Resident>,
    /// Commands refused for aiming outside the tenant.
    pub scope_refusals: AtomicU64,
}

impl Tenant {
    /// The tenant's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Commands refused for aiming outside the tenant so far.
    pub fn scope_refusals(&self) -> u64 {
        self.scope_refusals.load(Ordering::Relaxed)
    }

    /// A tenant of its own for replaying histories of `namespace`: no
    /// connection, open scope, not charged to the budget.
    pub fn for_replay(namespace: &str) -> Tenant {
        Tenant {
            name: "replay".into(),
            namespace: namespace.to_string(),
            link: None,
            scope: Scope::open(namespace),
            memory: None,
            resident: Arc::default(),
            scope_refusals: AtomicU64::new(0),
        }
    }
}
