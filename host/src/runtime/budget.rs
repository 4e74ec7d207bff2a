//! The host-wide guest memory budget and each tenant's share of it.
//!
//! Every store's linear memory is charged to an [`Account`] (its tenant's)
//! when an instance is created and whenever a memory grows, and given back
//! when the store drops. A growth that would take the tenant past its share,
//! or the host past its budget, first asks the [`Reclaim`]er to evict idle
//! cached runs — the tenant's own when it is at its share, otherwise those
//! of tenants over their fair part (an equal split of the budget) first,
//! least recently used first —
//! and waits briefly for their memory to come back. Only then is it refused,
//! with a [`LimitExceeded`] that names the budget.
//!
//! As Golem's executor does, admission is against *granted* linear memory
//! (what `memory.grow` has handed out), not resident pages: granted memory
//! is what a guest may touch without asking again, so it is what can run
//! the host out of memory.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::limits::LimitExceeded;

/// Frees memory on request: implemented by the layer that knows which runs
/// are cached and idle.
pub trait Reclaim: Send + Sync {
    /// Asks for idle runs to be evicted until about `bytes` come back: only
    /// `account`'s when `own_only`, otherwise those of accounts over their
    /// fair part first. Returns the bytes it asked back (0: nothing to evict).
    fn reclaim(&self, account: &Account, own_only: bool, bytes: usize) -> usize;
}

/// The host's budget: total granted linear memory across every store.
pub struct MemoryBudget {
    total: usize,
    used: AtomicUsize,
    /// Live accounts: each one's fair part is `total / accounts`.
    accounts: AtomicUsize,
    reclaim: OnceLock<Arc<dyn Reclaim>>,
    /// Signalled whenever memory is given back, for growths waiting on an
    /// eviction.
    released: (Mutex<()>, Condvar),
}

/// Why a charge was refused, before it becomes the guest's trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Share,
    Host,
}

impl MemoryBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            total,
            used: AtomicUsize::new(0),
            accounts: AtomicUsize::new(0),
            reclaim: OnceLock::new(),
            released: (Mutex::new(()), Condvar::new()),
        })
    }

    /// Sets who frees memory on request (once; later calls are ignored).
    pub fn set_reclaim(&self, r: Arc<dyn Reclaim>) {
        let _ = self.reclaim.set(r);
    }

    /// The budget in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes granted to guests now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// An account for `name` that may hold at most `share` bytes (at most
    /// the whole budget).
    pub fn account(self: &Arc<Self>, name: &str, share: usize) -> Arc<Account> {
        self.accounts.fetch_add(1, Ordering::Relaxed);
        Arc::new(Account {
            name: name.to_string(),
            share: share.min(self.total),
            used: AtomicUsize::new(0),
            evictions: AtomicU64::new(0),
            refusals: [AtomicU64::new(0), AtomicU64::new(0)],
            budget: self.clone(),
        })
    }

    fn try_add(&self, bytes: usize) -> bool {
        let before = self.used.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > self.total {
            self.used.fetch_sub(bytes, Ordering::AcqRel);
            return false;
        }
        true
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        let _guard = self.released.0.lock();
        self.released.1.notify_all();
    }

    /// Waits until memory is given back or `until` passes.
    fn wait_release(&self, until: Instant) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        let guard = self.released.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.released.1.wait_timeout(guard, until - now);
    }
}

/// One tenant's charge against the budget.
pub struct Account {
    name: String,
    share: usize,
    used: AtomicUsize,
    evictions: AtomicU64,
    /// Refusals by the share, then by the host budget.
    refusals: [AtomicU64; 2],
    budget: Arc<MemoryBudget>,
}

/// How long a growth waits for evicted runs' memory before it is refused.
/// Short: the caller holds a workflow thread, and a refused task is retried.
pub const RECLAIM_WAIT: Duration = Duration::from_millis(500);

impl Account {
    /// The tenant.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes its guests hold.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most its guests may hold.
    pub fn share(&self) -> usize {
        self.share
    }

    /// Its fair part of the budget: an equal split among the live
    /// accounts, or its share when smaller.
    pub fn fair_part(&self) -> usize {
        let n = self.budget.accounts.load(Ordering::Relaxed).max(1);
        self.share.min(self.budget.total / n)
    }

    /// Whether it holds more than its fair part: such a tenant's idle runs
    /// are evicted first when the host's budget runs out.
    pub fn over_fair_part(&self) -> bool {
        self.used() > self.fair_part()
    }

    /// The budget it is charged against.
    pub fn budget(&self) -> &Arc<MemoryBudget> {
        &self.budget
    }

    /// Runs evicted to free memory, and growths refused by the share and by
    /// the host budget.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.evictions.load(Ordering::Relaxed),
            self.refusals[0].load(Ordering::Relaxed),
            self.refusals[1].load(Ordering::Relaxed),
        )
    }

    /// Counts runs evicted on its behalf or from it.
    pub fn count_evictions(&self, n: u64) {
        self.evictions.fetch_add(n, Ordering::Relaxed);
    }

    fn try_charge(&self, bytes: usize) -> Result<(), Over> {
        let before = self.used.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > self.share {
            self.used.fetch_sub(bytes, Ordering::AcqRel);
            return Err(Over::Share);
        }
        if !self.budget.try_add(bytes) {
            self.used.fetch_sub(bytes, Ordering::AcqRel);
            return Err(Over::Host);
        }
        Ok(())
    }

    /// Charges `bytes`; over a budget, asks for idle runs to be evicted and,
    /// when `may_wait`, waits up to [`RECLAIM_WAIT`] for their memory.
    pub fn charge(&self, bytes: usize, may_wait: bool) -> Result<(), LimitExceeded> {
        let mut over = match self.try_charge(bytes) {
            Ok(()) => return Ok(()),
            Err(o) => o,
        };
        let asked = match self.budget.reclaim.get() {
            Some(r) => r.reclaim(self, over == Over::Share, bytes),
            None => 0,
        };
        if asked > 0 && may_wait {
            let until = Instant::now() + RECLAIM_WAIT;
            while Instant::now() < until {
                self.budget.wait_release(until);
                match self.try_charge(bytes) {
                    Ok(()) => return Ok(()),
                    Err(o) => over = o,
                }
            }
        }
        let i = usize::from(over == Over::Host);
        self.refusals[i].fetch_add(1, Ordering::Relaxed);
        Err(match over {
            Over::Share => LimitExceeded::TenantBudget { limit: self.share },
            Over::Host => LimitExceeded::HostBudget {
                limit: self.budget.total,
            },
        })
    }

    /// Gives `bytes` back.
    pub fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        self.budget.give_back(bytes);
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        self.budget.accounts.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A default budget: half of the machine's memory (or of the cgroup's
/// limit, when lower), leaving the rest to the host itself, core's caches
/// and the kernel.
pub fn default_budget_bytes() -> usize {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(4 << 20);
    let mut total = total_kib.saturating_mul(1024);
    if let Ok(max) = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        && let Ok(limit) = max.trim().parse::<u64>()
    {
        total = total.min(limit);
    }
    usize::try_from(total / 2).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn shares_and_the_host_budget_both_bound_charges() {
        let b = MemoryBudget::new(10 * MIB);
        let a = b.account("a", 6 * MIB);
        let c = b.account("c", 6 * MIB);
        a.charge(6 * MIB, false).unwrap();
        assert_eq!(
            a.charge(1, false),
            Err(LimitExceeded::TenantBudget { limit: 6 * MIB })
        );
        c.charge(4 * MIB, false).unwrap();
        assert_eq!(
            c.charge(MIB, false),
            Err(LimitExceeded::HostBudget { limit: 10 * MIB }),
            "c is within its share, but the host is full"
        );
        assert_eq!((a.used(), c.used(), b.used()), (6 * MIB, 4 * MIB, 10 * MIB));
        a.release(2 * MIB);
        c.charge(2 * MIB, false).unwrap();
        assert_eq!(b.used(), 10 * MIB);
        assert_eq!(a.counts(), (0, 1, 0));
        assert_eq!(c.counts(), (0, 0, 1));
    }

    #[test]
    fn a_share_never_exceeds_the_budget() {
        let b = MemoryBudget::new(MIB);
        assert_eq!(b.account("a", 10 * MIB).share(), MIB);
    }

    /// Frees what it is asked for on another thread, as an eviction does.
    struct Evictor {
        victim: Arc<Account>,
        asked: Mutex<Vec<(String, bool, usize)>>,
    }

    impl Reclaim for Evictor {
        fn reclaim(&self, account: &Account, own_only: bool, bytes: usize) -> usize {
            self.asked
                .lock()
                .unwrap()
                .push((account.name().into(), own_only, bytes));
            let victim = self.victim.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                victim.release(bytes);
            });
            bytes
        }
    }

    #[test]
    fn over_budget_a_growth_waits_for_reclaimed_memory() {
        let b = MemoryBudget::new(4 * MIB);
        let idle = b.account("idle", 4 * MIB);
        let busy = b.account("busy", 4 * MIB);
        idle.charge(4 * MIB, false).unwrap();
        let evictor = Arc::new(Evictor {
            victim: idle.clone(),
            asked: Mutex::default(),
        });
        b.set_reclaim(evictor.clone());
        busy.charge(MIB, true)
            .expect("evicted memory came back in time");
        assert_eq!((idle.used(), busy.used()), (3 * MIB, MIB));
        assert_eq!(
            evictor.asked.lock().unwrap().as_slice(),
            [("busy".to_string(), false, MIB)],
            "within its share, the host's budget was the one hit"
        );
        // Without waiting (an activity on the async runtime), the refusal is
        // immediate, though the eviction was still asked for.
        assert_eq!(
            busy.charge(3 * MIB, false),
            Err(LimitExceeded::HostBudget { limit: 4 * MIB })
        );
        assert_eq!(evictor.asked.lock().unwrap().len(), 2);
    }
}
