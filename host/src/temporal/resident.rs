//! The workflow runs cached on this host, across every worker of every
//! tenant: which are idle, since when, and how much memory each holds, so
//! that a growth over the memory budget can evict the right ones through
//! core's eviction request ([`Worker::request_workflow_eviction`]).
//!
//! Core owns the cache; this only chooses. An evicted run's store drops
//! when core's eviction activation reaches the runner, which gives its
//! memory back; its next task replays it from history.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use temporalio_sdk_core::Worker;

use crate::runtime::{Account, Reclaim};

/// A run chosen for eviction.
struct Victim {
    run_id: String,
    worker: Weak<Worker>,
    account: Arc<Account>,
    bytes: usize,
}

struct Entry {
    account: Arc<Account>,
    worker: Weak<Worker>,
    bytes: Arc<AtomicUsize>,
    last_used: Instant,
    busy: bool,
    evicting: bool,
}

/// Every cached run that is charged to a memory account, by run id.
pub struct Resident {
    runs: Mutex<HashMap<String, Entry>>,
    /// Cached runs the host keeps at most, all tenants together.
    host_limit: Option<usize>,
}

impl Resident {
    /// A registry that keeps at most `host_limit` cached runs.
    pub fn new(host_limit: Option<usize>) -> Resident {
        Resident {
            runs: Mutex::default(),
            host_limit,
        }
    }

    /// Evicts idle runs past the host's and `account`'s (`keep`) limits of
    /// cached runs; called as a run is cached.
    pub fn enforce_limits(&self, account: &Account, keep: Option<usize>) {
        if let Some(keep) = keep {
            self.trim(Some(account), keep);
        }
        if let Some(limit) = self.host_limit {
            self.trim(None, limit);
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A run now holds an instance, busy with its first activation.
    pub fn insert(
        &self,
        run_id: &str,
        account: Arc<Account>,
        worker: Weak<Worker>,
        bytes: Arc<AtomicUsize>,
    ) {
        self.runs().insert(
            run_id.to_string(),
            Entry {
                account,
                worker,
                bytes,
                last_used: Instant::now(),
                busy: true,
                evicting: false,
            },
        );
    }

    /// The run started (`true`) or finished (`false`) an activation.
    pub fn set_busy(&self, run_id: &str, busy: bool) {
        if let Some(e) = self.runs().get_mut(run_id) {
            e.busy = busy;
            e.last_used = Instant::now();
        }
    }

    /// The run left the cache (evicted, completed, or its instance dropped).
    pub fn remove(&self, run_id: &str) {
        self.runs().remove(run_id);
    }

    /// Evicts idle runs past `keep` cached runs — `account`'s (a tenant's
    /// quota), or all of the host's (`None`: tenants over their fair part
    /// of the memory budget first) — least recently used first; returns how
    /// many it asked for.
    pub fn trim(&self, account: Option<&Account>, keep: usize) -> usize {
        let victims: Vec<Victim> = {
            let mut runs = self.runs();
            let mine = |e: &Entry| account.is_none_or(|a| std::ptr::eq(Arc::as_ptr(&e.account), a));
            let live = runs.values().filter(|e| mine(e) && !e.evicting).count();
            let mut idle: Vec<(&String, &mut Entry)> = runs
                .iter_mut()
                .filter(|(_, e)| mine(e) && !e.busy && !e.evicting)
                .collect();
            idle.sort_by_key(|(_, e)| (!e.account.over_fair_part(), e.last_used));
            idle.into_iter()
                .take(live.saturating_sub(keep))
                .map(|(id, e)| {
                    e.evicting = true;
                    Victim {
                        run_id: id.clone(),
                        worker: e.worker.clone(),
                        account: e.account.clone(),
                        bytes: e.bytes.load(Ordering::Relaxed),
                    }
                })
                .collect()
        };
        let n = victims.len();
        for v in victims {
            if let Some(w) = v.worker.upgrade() {
                tracing::debug!(
                    run_id = v.run_id,
                    tenant = v.account.name(),
                    "evicting past a cached-runs limit"
                );
                w.request_workflow_eviction(&v.run_id);
            }
        }
        n
    }

    /// Cached runs charged to `account`.
    pub fn count(&self, account: &Account) -> usize {
        self.runs()
            .values()
            .filter(|e| std::ptr::eq(Arc::as_ptr(&e.account), account))
            .count()
    }

    /// The idle runs to evict for `bytes`, best first: with `own_only`,
    /// `account`'s own; otherwise those of accounts over their fair part,
    /// then any, least recently used first.
    fn choose(&self, account: &Account, own_only: bool, bytes: usize) -> Vec<Victim> {
        let mut runs = self.runs();
        let mut idle: Vec<(&String, &mut Entry)> = runs
            .iter_mut()
            .filter(|(_, e)| !e.busy && !e.evicting)
            .filter(|(_, e)| !own_only || std::ptr::eq(Arc::as_ptr(&e.account), account))
            .collect();
        idle.sort_by_key(|(_, e)| (!e.account.over_fair_part(), e.last_used));
        let mut freed = 0;
        let mut chosen = Vec::new();
        for (id, e) in idle {
            if freed >= bytes {
                break;
            }
            let held = e.bytes.load(Ordering::Relaxed);
            freed += held;
            e.evicting = true;
            chosen.push(Victim {
                run_id: id.clone(),
                worker: e.worker.clone(),
                account: e.account.clone(),
                bytes: held,
            });
        }
        chosen
    }
}

impl Reclaim for Resident {
    fn reclaim(&self, account: &Account, own_only: bool, bytes: usize) -> usize {
        let mut asked = 0;
        for v in self.choose(account, own_only, bytes) {
            // Asked outside the lock: core may call back into the runner.
            if let Some(w) = v.worker.upgrade() {
                tracing::info!(
                    run_id = v.run_id,
                    tenant = v.account.name(),
                    for_tenant = account.name(),
                    "evicting an idle cached run to free guest memory"
                );
                w.request_workflow_eviction(&v.run_id);
                v.account.count_evictions(1);
                asked += v.bytes;
            }
        }
        asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::MemoryBudget;

    const MIB: usize = 1 << 20;

    fn run(r: &Resident, id: &str, account: &Arc<Account>, mib: usize) {
        account.charge(mib * MIB, false).unwrap();
        let bytes = Arc::new(AtomicUsize::new(mib * MIB));
        r.insert(id, account.clone(), Weak::new(), bytes);
        r.set_busy(id, false);
    }

    fn ids(v: Vec<Victim>) -> Vec<String> {
        v.into_iter().map(|v| v.run_id).collect()
    }

    #[test]
    fn eviction_takes_idle_runs_least_recently_used_first() {
        let budget = MemoryBudget::new(100 * MIB);
        let a = budget.account("a", 100 * MIB);
        let r = Resident::new(None);
        run(&r, "old", &a, 10);
        run(&r, "newer", &a, 10);
        run(&r, "busy", &a, 10);
        r.set_busy("busy", true);
        assert_eq!(ids(r.choose(&a, false, 15 * MIB)), ["old", "newer"]);
        assert!(
            r.choose(&a, false, MIB).is_empty(),
            "runs already being evicted are not chosen twice"
        );
        r.remove("old");
        assert_eq!(r.count(&a), 2);
    }

    #[test]
    fn trimming_to_a_quota_takes_the_oldest_idle_runs() {
        let budget = MemoryBudget::new(100 * MIB);
        let a = budget.account("a", 100 * MIB);
        let r = Resident::new(None);
        for id in ["1", "2", "3", "4"] {
            run(&r, id, &a, 1);
        }
        r.set_busy("1", true);
        assert_eq!(r.trim(Some(&a), 2), 2, "two past the quota");
        let evicting: Vec<_> = {
            let runs = r.runs();
            let mut v: Vec<_> = runs
                .iter()
                .filter(|(_, e)| e.evicting)
                .map(|(k, _)| k.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            evicting,
            ["2", "3"],
            "the busy run stays; the oldest idle go"
        );
        assert_eq!(
            r.trim(Some(&a), 2),
            0,
            "runs on their way out are not counted twice"
        );
    }

    #[test]
    fn a_tenant_over_its_fair_part_is_evicted_first_and_own_only_stays_home() {
        let budget = MemoryBudget::new(100 * MIB);
        let hog = budget.account("hog", 100 * MIB);
        let calm = budget.account("calm", 100 * MIB);
        let r = Resident::new(None);
        run(&r, "calm-old", &calm, 5);
        run(&r, "hog-1", &hog, 30);
        run(&r, "hog-2", &hog, 30);
        assert!(hog.over_fair_part() && !calm.over_fair_part());
        assert_eq!(ids(r.choose(&calm, true, MIB)), ["calm-old"]);
        r.runs().get_mut("calm-old").unwrap().evicting = false;
        assert_eq!(
            ids(r.choose(&calm, false, 40 * MIB)),
            ["hog-1", "hog-2"],
            "the hog goes first though calm's run is older"
        );
    }

    #[test]
    fn the_host_limit_spans_tenants() {
        let budget = MemoryBudget::new(100 * MIB);
        let (a, b) = (
            budget.account("a", 100 * MIB),
            budget.account("b", 100 * MIB),
        );
        let r = Resident::new(Some(2));
        run(&r, "a1", &a, 1);
        run(&r, "b1", &b, 1);
        run(&r, "a2", &a, 1);
        r.enforce_limits(&a, None);
        let evicting: Vec<_> = r
            .runs()
            .iter()
            .filter(|(_, e)| e.evicting)
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(
            evicting,
            ["a1"],
            "the host keeps two: the oldest idle goes, whoever's it is"
        );
    }
}
