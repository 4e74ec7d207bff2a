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
//! Core's rule is kept: a workflow worker can always get a sticky and a
//! non-sticky slot. Its first two slots draw on the queue's pool alone, so
//! a tenant at its quota cannot leave one of its workers polling only its
//! sticky queue; the quota and the total bound everything past those two.

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

impl<SK> SharedSlots<SK> {
    /// A host total of `host` slots (unbounded: `None`).
    pub fn new(host: Option<usize>) -> SharedSlots<SK> {
        SharedSlots {
            host: host.map(|n| Arc::new(Semaphore::new(n))),
            _kind: PhantomData,
        }
    }

    /// The supplier of one core worker: `limit` slots of its own (its
    /// queue's key, as core counts per worker), drawn also from its tenant's
    /// pool and the host's, paced by its tenant's `rate`.
    pub fn worker(
        &self,
        limit: usize,
        tenant: Option<Arc<Semaphore>>,
        rate: Option<Arc<Rate>>,
    ) -> WorkerSlots<SK> {
        WorkerSlots {
            pools: Pools {
                worker: Arc::new(Semaphore::new(limit)),
                tenant,
                host: self.host.clone(),
                rate,
            },
            _kind: PhantomData,
        }
    }
}

/// One worker's slot supplier over the shared pools.
pub struct WorkerSlots<SK> {
    pools: Pools,
    _kind: PhantomData<SK>,
}

impl<SK: SlotKind> WorkerSlots<SK> {
    /// Whether this reservation is one of the two a workflow worker is always owed.
    fn owed(ctx: &dyn SlotReservationContext) -> bool {
        SK::kind() == SlotKindType::Workflow && ctx.num_issued_slots() < 2
    }

    /// The shared pools this reservation draws on beyond the worker's own.
    fn shared(&self, ctx: &dyn SlotReservationContext) -> impl Iterator<Item = &Arc<Semaphore>> {
        let owed = Self::owed(ctx);
        [&self.pools.tenant, &self.pools.host]
            .into_iter()
            .flatten()
            .filter(move |_| !owed)
    }
}

#[async_trait::async_trait]
impl<SK: SlotKind + Send + Sync> SlotSupplier for WorkerSlots<SK> {
    type SlotKind = SK;

    async fn reserve_slot(&self, ctx: &dyn SlotReservationContext) -> SlotSupplierPermit {
        let mut held = Vec::with_capacity(3);
        let p = &self.pools;
        held.push(
            p.worker
                .clone()
                .acquire_owned()
                .await
                .expect("never closed"),
        );
        for pool in self.shared(ctx) {
            held.push(pool.clone().acquire_owned().await.expect("never closed"));
        }
        if let Some(r) = &p.rate
            && !Self::owed(ctx)
        {
            r.take().await;
        }
        SlotSupplierPermit::with_user_data(Held(held))
    }

    fn try_reserve_slot(&self, ctx: &dyn SlotReservationContext) -> Option<SlotSupplierPermit> {
        let mut held = Vec::with_capacity(3);
        let p = &self.pools;
        held.push(p.worker.clone().try_acquire_owned().ok()?);
        for pool in self.shared(ctx) {
            held.push(pool.clone().try_acquire_owned().ok()?);
        }
        if let Some(r) = &p.rate
            && !Self::owed(ctx)
            && !r.try_take()
        {
            return None;
        }
        Some(SlotSupplierPermit::with_user_data(Held(held)))
    }

    fn mark_slot_used(&self, _: &dyn SlotMarkUsedContext<SlotKind = SK>) {}

    fn release_slot(&self, _: &dyn SlotReleaseContext<SlotKind = SK>) {}

    /// What core reports as `worker_task_slots_available`: the least of
    /// the worker's, its tenant's and the host's free slots.
    fn available_slots(&self) -> Option<usize> {
        let p = &self.pools;
        [Some(&p.worker), p.tenant.as_ref(), p.host.as_ref()]
            .into_iter()
            .flatten()
            .map(|s| s.available_permits())
            .min()
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
    fn a_workflow_worker_always_gets_its_first_two_slots() {
        let host = SharedSlots::<WorkflowSlotKind>::new(Some(1));
        let tenant = Arc::new(Semaphore::new(1));
        let w1 = host.worker(10, Some(tenant.clone()), None);
        let w2 = host.worker(10, Some(tenant), None);
        let _taken = w1.try_reserve_slot(&ctx(2)).expect("the quota's one slot");
        // w2 is owed a sticky and a normal slot although the tenant's quota
        // and the host's total are spent.
        assert!(w2.try_reserve_slot(&ctx(0)).is_some());
        assert!(w2.try_reserve_slot(&ctx(1)).is_some());
        assert!(w2.try_reserve_slot(&ctx(2)).is_none());
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
