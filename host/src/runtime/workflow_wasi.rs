//! The WASI a workflow store links: synchronous, and virtual where it
//! touches time.
//!
//! The interfaces come from wasmtime-wasi's synchronous host implementation,
//! configured in [`super::workflow::WorkflowState`] with no grants (no
//! preopens, environment, arguments, sockets or name lookups) and with
//! workflow time, the run's seeded randomness and the captured log in place
//! of the real clocks, entropy and stdio. On top of it the host replaces
//! every function that could wait, or tell real time by waiting:
//!
//! | function | in a workflow store |
//! |---|---|
//! | `monotonic-clock.subscribe-instant`, `subscribe-duration` | a pollable that is ready once *workflow* time reaches it |
//! | `poll.poll` | the ready indices at once; if none is ready, a [`Blocked`] trap |
//! | `[method]pollable.block` | returns if ready; otherwise a [`Blocked`] trap |
//! | `[method]pollable.ready` | (wasmtime-wasi's, which never waits) |
//!
//! Workflow time stands still during an activation and a workflow has no
//! I/O, so a wait that is not over when it starts can never end: failing
//! the task at once, with a message that says what to use instead, is the
//! only answer that neither blocks a thread past the deadline nor depends
//! on real time. `std::thread::sleep`, Python's `time.sleep` and Go's
//! `time.Sleep` all end up here.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::io::poll::Host as _;
use wasmtime_wasi::p2::{DynPollable, Pollable};
use wasmtime_wasi::{HostMonotonicClock, WasiView};

use super::workflow::{WorkflowClock, WorkflowState};

/// The WASI version whose functions the host replaces (wasmtime-wasi 48's);
/// the linker serves every 0.2.x import from it.
const WASI: &str = "0.2.12";

/// A workflow waited on something that cannot become ready within an
/// activation: the trap the task fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "workflow code blocked in {call} on something that can never become ready: workflow time \
     stands still while workflow code runs and a workflow has no I/O. Use a durable timer \
     (the SDK's workflow sleep) to wait for time; std/language sleeps cannot work in a workflow"
)]
pub struct Blocked {
    /// The WASI function that would have waited.
    pub call: &'static str,
}

/// A monotonic-clock deadline in workflow time.
struct WorkflowDeadline {
    clock: WorkflowClock,
    at: u64,
}

#[wasmtime_wasi::async_trait]
impl Pollable for WorkflowDeadline {
    async fn ready(&mut self) {
        if HostMonotonicClock::now(&self.clock) < self.at {
            std::future::pending::<()>().await;
        }
    }
}

/// Polls `f` once: whether it is ready now, without waiting.
fn now_or_never<F: Future>(f: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn ready_indices(
    table: &mut ResourceTable,
    list: Vec<Resource<DynPollable>>,
) -> wasmtime::Result<Option<Vec<u32>>> {
    now_or_never(table.poll(list)).transpose()
}

fn deadline(
    store: &mut StoreContextMut<'_, WorkflowState>,
    at: impl FnOnce(u64) -> u64,
) -> wasmtime::Result<Resource<DynPollable>> {
    let state = store.data_mut();
    let clock = state.clock.clone();
    let at = at(HostMonotonicClock::now(&clock));
    let table = state.ctx().table;
    let r = table.push(WorkflowDeadline { clock, at })?;
    wasmtime_wasi::p2::subscribe(table, r)
}

/// Adds the workflow WASI to `linker`: wasmtime-wasi's synchronous
/// interfaces with the waiting functions replaced.
pub fn add_to_linker(linker: &mut Linker<WorkflowState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    let mut clock = linker.instance(&format!("wasi:clocks/monotonic-clock@{WASI}"))?;
    clock.func_wrap("subscribe-instant", |mut store, (when,): (u64,)| {
        Ok((deadline(&mut store, |_| when)?,))
    })?;
    clock.func_wrap("subscribe-duration", |mut store, (d,): (u64,)| {
        Ok((deadline(&mut store, |now| now.saturating_add(d))?,))
    })?;
    let mut poll = linker.instance(&format!("wasi:io/poll@{WASI}"))?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, WorkflowState>, (list,): (Vec<Resource<DynPollable>>,)| {
            match ready_indices(store.data_mut().ctx().table, list)? {
                Some(ready) => Ok((ready,)),
                None => Err(wasmtime::Error::new(Blocked {
                    call: "wasi:io/poll.poll",
                })),
            }
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, WorkflowState>, (p,): (Resource<DynPollable>,)| {
            let borrowed = Resource::new_borrow(p.rep());
            match ready_indices(store.data_mut().ctx().table, vec![borrowed])? {
                Some(_) => Ok(()),
                None => Err(wasmtime::Error::new(Blocked {
                    call: "wasi:io/poll.[method]pollable.block",
                })),
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_ready_only_once_workflow_time_reaches_it() {
        let clock = WorkflowClock::default();
        clock.set(1_000);
        let mut d = WorkflowDeadline {
            clock: clock.clone(),
            at: 5_000,
        };
        assert!(now_or_never(d.ready()).is_none());
        clock.set(4_999);
        assert!(now_or_never(d.ready()).is_none());
        clock.set(5_000);
        assert!(now_or_never(d.ready()).is_some());
    }

    #[test]
    fn polling_reports_what_is_ready_without_waiting() {
        let clock = WorkflowClock::default();
        clock.set(10);
        let mut table = ResourceTable::new();
        let mut sub = |at| {
            let r = table
                .push(WorkflowDeadline {
                    clock: clock.clone(),
                    at,
                })
                .unwrap();
            wasmtime_wasi::p2::subscribe(&mut table, r).unwrap()
        };
        let (past, future) = (sub(5), sub(50));
        let b = |r: &Resource<DynPollable>| Resource::new_borrow(r.rep());
        assert_eq!(
            ready_indices(&mut table, vec![b(&future), b(&past)]).unwrap(),
            Some(vec![1])
        );
        assert_eq!(ready_indices(&mut table, vec![b(&future)]).unwrap(), None);
    }
}
