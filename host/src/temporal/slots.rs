//! Task slots drawn from host-wide totals and per-tenant quotas, through
//! core's own hook: each core worker's [`SlotSupplier`] is a thin view over
//! pools shared by every worker of the host, made for the worker's task
//! queue and tenant (a slot is reserved before the poll, when the queue is
//! all that is known, so the key is fixed when the worker starts).
//!
//! A slot is three permits: the worker's own (its queue's `max_concurrent_*`
//! key, for each version of the queue apart, as core counts them), its
//! tenant's quota, and the host's total, taken in that order (nested
//! pools, so no two reservations can wait on each other in a cycle). A
//! tenant's activity rate is paced here too, as slots handed out per second.
//!
//! Every worker is owed the slots it needs to poll at all — a sticky and a
//! normal poll for a workflow worker (core's rule), one poll otherwise —
//! set aside from its tenant's and the host's pools when it starts. Slots
//! are reserved *before* a poll, and an idle long poll holds its slot for
//! up to a minute: without the owed slots, one queue's idle pollers could
//! hold a tenant's whole quota and leave its other queues unpolled. The
//! config refuses a quota smaller than its queues' owed slots.

use std::marker::PhantomData;
use std::sync::Arc;

use temporalio_sdk_core::{
    SlotKind, SlotKindType, SlotMarkUsedContext, SlotReleaseContext, SlotReservationContext,
    SlotSupplier, SlotSupplierPermit,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::runtime::rate::Rate;

/// The pools one worker's slots are drawn from.
#[derive(Clone)]
struct Pools {
    worker: Arc<Semaphore>,
    /// The slots the worker is owed (see the module's doc), carved out of
    /// its tenant's and the host's pools when it starts.
    owed: Arc<Semaphore>,
    tenant: Option<Arc<Semaphore>>,
    host: Option<Arc<Semaphore>>,
    rate: Option<Arc<Rate>>,
}

/// Held for as long as core holds the slot.
struct Held(#[allow(dead_code)] Vec<OwnedSemaphorePermit>);

/// The host's pool of one slot kind, from which every worker's supplier draws.
pub struct SharedSlots<SK> {
    host: Option<Arc<Semaphore>>,
    _kind: PhantomData<SK>,
}

/// Slots a worker of this kind must always be able to get so that it can
/// poll at all: a sticky and a normal poll for workflows (core's rule), one
/// poll otherwise.
fn owed_slots<SK: SlotKind>() -> usize {
    if SK::kind() == SlotKindType::Workflow {
        2
    } else {
        1
    }
}

impl<SK: SlotKind> SharedSlots<SK> {
    /// A host total of `host` slots (unbounded: `None`).
    pub fn new(host: Option<usize>) -> SharedSlots<SK> {
        SharedSlots {
            host: host.map(|n| Arc::new(Semaphore::new(n))),
            _kind: PhantomData,
        }
    }

    /// The supplier of one core worker: `limit` slots of its own (its
    /// queue's key, as core counts per worker), drawn also from its tenant's
    /// pool and the host's, paced by its tenant's `rate`. The slots it is
    /// owed are set aside from those pools now, while they have room; a
    /// pool too small for them (more workers than a quota allows for) lets
    /// the owed slots through uncounted rather than leave a worker unable
    /// to poll.
    pub fn worker(
        &self,
        limit: usize,
        tenant: Option<Arc<Semaphore>>,
        rate: Option<Arc<Rate>>,
    ) -> WorkerSlots<SK> {
        let owed = owed_slots::<SK>();
        let mut carved = Vec::new();
        for pool in [&tenant, &self.host].into_iter().flatten() {
            // u32: tokio's many-permit unit; a handful here.
            if let Ok(p) = pool.clone().try_acquire_many_owned(owed as u32) {
                carved.push(p);
            } else {
                tracing::warn!(
                    owed,
                    "a slot pool is too small for every worker's owed slots; they pass uncounted"
                );
            }
        }
        WorkerSlots {
            pools: Pools {
                worker: Arc::new(Semaphore::new(limit)),
                owed: Arc::new(Semaphore::new(owed)),
                tenant,
                host: self.host.clone(),
                rate,
            },
            _carved: carved,
            _kind: PhantomData,
        }
    }
}

/// One worker's slot supplier over the shared pools.
pub struct WorkerSlots<SK> {
    pools: Pools,
    /// The owed slots' share of the tenant's and host's pools, given back
    /// when the worker's supplier drops.
    _carved: Vec<OwnedSemaphorePermit>,
    _kind: PhantomData<SK>,
}

impl<SK> WorkerSlots<SK> {
    /// The shared pools a slot past the owed ones draws on.
    fn shared(&self) -> impl Iterator<Item = &Arc<Semaphore>> {
        [&self.pools.tenant, &self.pools.host].into_iter().flatten()
    }
}

#[async_trait::async_trait]
impl<SK: SlotKind + Send + Sync> SlotSupplier for WorkerSlots<SK> {
    type SlotKind = SK;

    async fn reserve_slot(&self, _: &dyn SlotReservationContext) -> SlotSupplierPermit {
        let p = &self.pools;
        let mut held = vec![
            p.worker
                .clone()
                .acquire_owned()
                .await
                .expect("never closed"),
        ];
        let shared = async {
            let mut v = Vec::with_capacity(2);
            for pool in self.shared() {
                v.push(pool.clone().acquire_owned().await.expect("never closed"));
            }
            v
        };
        // Whichever comes first: an owed slot coming back, or room in the
        // shared pools (waiting on the pools alone would miss the owed slot
        // freed meanwhile, and a quota set aside whole for owed slots never
        // frees).
        tokio::select! {
            biased;
            owed = p.owed.clone().acquire_owned() => held.push(owed.expect("never closed")),
            v = shared => held.extend(v),
        }
        if let Some(r) = &p.rate {
            r.take().await;
        }
        SlotSupplierPermit::with_user_data(Held(held))
    }

    fn try_reserve_slot(&self, _: &dyn SlotReservationContext) -> Option<SlotSupplierPermit> {
        let p = &self.pools;
        let mut held = vec![p.worker.clone().try_acquire_owned().ok()?];
        match p.owed.clone().try_acquire_owned() {
            Ok(owed) => held.push(owed),
            Err(_) => {
                for pool in self.shared() {
                    held.push(pool.clone().try_acquire_owned().ok()?);
                }
            }
        }
        if let Some(r) = &p.rate
            && !r.try_take()
        {
            return None;
        }
        Some(SlotSupplierPermit::with_user_data(Held(held)))
    }

    fn mark_slot_used(&self, _: &dyn SlotMarkUsedContext<SlotKind = SK>) {}

    fn release_slot(&self, _: &dyn SlotReleaseContext<SlotKind = SK>) {}

    /// What core reports as `worker_task_slots_available`: the worker's
    /// own free slots, bounded by its free owed slots plus what its tenant's
    /// and the host's pools have free.
    fn available_slots(&self) -> Option<usize> {
        let p = &self.pools;
        let shared = self
            .shared()
            .map(|s| s.available_permits())
            .min()
            .unwrap_or(usize::MAX);
        Some(
            p.worker
                .available_permits()
                .min(p.owed.available_permits().saturating_add(shared)),
        )
    }

    fn slot_supplier_kind(&self) -> String {
        "PolyworkerTenantSlots".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::worker::WorkerDeploymentVersion;
    use temporalio_sdk_core::{ActivitySlotKind, WorkflowSlotKind};

    struct Ctx {
        issued: usize,
    }

    impl SlotReservationContext for Ctx {
        fn task_queue(&self) -> &str {
            "q"
        }
        fn worker_identity(&self) -> &str {
            "test"
        }
        fn worker_deployment_version(&self) -> &Option<WorkerDeploymentVersion> {
            &None
        }
        fn num_issued_slots(&self) -> usize {
            self.issued
        }
        fn is_sticky(&self) -> bool {
            false
        }
    }

    fn ctx(issued: usize) -> Ctx {
        Ctx { issued }
    }

    #[test]
    fn a_tenant_quota_spans_its_queues_and_the_host_total_spans_tenants() {
        let host = SharedSlots::<ActivitySlotKind>::new(Some(5));
        let tenant_a = Arc::new(Semaphore::new(3));
        let a1 = host.worker(10, Some(tenant_a.clone()), None);
        let a2 = host.worker(10, Some(tenant_a), None);
        let b = host.worker(10, Some(Arc::new(Semaphore::new(10))), None);
        let held: Vec<_> = [&a1, &a2, &a1]
            .iter()
            .map(|w| w.try_reserve_slot(&ctx(0)))
            .collect();
        assert!(held.iter().all(Option::is_some));
        assert!(
            a2.try_reserve_slot(&ctx(0)).is_none(),
            "a's quota of 3 is spent"
        );
        assert_eq!(a2.available_slots(), Some(0));
        let b1 = b.try_reserve_slot(&ctx(0)).expect("b has its own quota");
        let _b2 = b.try_reserve_slot(&ctx(0)).expect("the host has 5");
        assert!(
            b.try_reserve_slot(&ctx(0)).is_none(),
            "the host's 5 are spent"
        );
        drop(b1);
        assert_eq!(b.available_slots(), Some(1));
        assert!(
            b.try_reserve_slot(&ctx(0)).is_some(),
            "a released slot returns to every pool"
        );
    }

    #[test]
    fn a_worker_keeps_its_own_limit() {
        let host = SharedSlots::<ActivitySlotKind>::new(None);
        let w = host.worker(2, None, None);
        let _held = [w.try_reserve_slot(&ctx(0)), w.try_reserve_slot(&ctx(1))];
        assert!(w.try_reserve_slot(&ctx(2)).is_none());
        assert_eq!(w.available_slots(), Some(0));
    }

    #[test]
    fn each_worker_keeps_its_owed_slots_however_busy_its_neighbours() {
        let host = SharedSlots::<WorkflowSlotKind>::new(None);
        // Two workers owe 2 each: 4 of the quota's 5 are set aside.
        let tenant = Arc::new(Semaphore::new(5));
        let w1 = host.worker(10, Some(tenant.clone()), None);
        let w2 = host.worker(10, Some(tenant.clone()), None);
        let busy: Vec<_> = (0..3).map_while(|i| w1.try_reserve_slot(&ctx(i))).collect();
        assert_eq!(busy.len(), 3, "its two owed slots and the one shared");
        assert!(w1.try_reserve_slot(&ctx(3)).is_none());
        let sticky = w2.try_reserve_slot(&ctx(0)).expect("w2's sticky poll");
        let normal = w2.try_reserve_slot(&ctx(1)).expect("w2's normal poll");
        assert!(w2.try_reserve_slot(&ctx(2)).is_none(), "the quota is spent");
        drop((sticky, normal, w2));
        assert_eq!(
            tenant.available_permits(),
            2,
            "a stopped worker's owed slots go back"
        );
    }

    #[test]
    fn a_pool_too_small_for_the_owed_slots_lets_them_through() {
        let host = SharedSlots::<ActivitySlotKind>::new(None);
        let tenant = Arc::new(Semaphore::new(1));
        let w1 = host.worker(10, Some(tenant.clone()), None);
        let w2 = host.worker(10, Some(tenant), None);
        let _a = w1
            .try_reserve_slot(&ctx(0))
            .expect("w1's owed slot, counted");
        let _b = w2
            .try_reserve_slot(&ctx(0))
            .expect("w2's, uncounted: it must poll");
        assert!(w2.try_reserve_slot(&ctx(1)).is_none());
    }

    #[tokio::test]
    async fn a_waiting_reservation_takes_an_owed_slot_as_soon_as_it_is_back() {
        let host = SharedSlots::<ActivitySlotKind>::new(None);
        // The quota is all set aside for the one worker's owed slot.
        let w = Arc::new(host.worker(10, Some(Arc::new(Semaphore::new(1))), None));
        let first = w.try_reserve_slot(&ctx(0)).expect("the owed slot");
        let waiting = {
            let w = w.clone();
            tokio::spawn(async move { w.reserve_slot(&ctx(1)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "nothing is free yet");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the freed owed slot reaches the waiting reservation")
            .expect("no panic");
    }

    #[test]
    fn a_tenant_rate_paces_its_activity_slots() {
        let host = SharedSlots::<ActivitySlotKind>::new(None);
        let w = host.worker(1000, None, Some(Arc::new(Rate::per_second(5.0))));
        let granted: Vec<_> = (0..20)
            .filter_map(|_| w.try_reserve_slot(&ctx(0)))
            .collect();
        assert!((5..=6).contains(&granted.len()), "{}", granted.len());
    }
}
