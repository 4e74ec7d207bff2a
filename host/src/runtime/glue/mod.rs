//! The host side of each `polyworker:worker` interface, one file each.
//!
//! As in `wasmtime-wasi`, the glue is implemented on a view type,
//! [`HostView`], that borrows what an interface needs from the store's
//! data; each kind of store says what it grants by how it fills the view
//! ([`HostViewOf`]). Workflow and activity stores therefore share one
//! implementation of every interface and differ only in their grants:
//!
//! | interface | workflow store | activity store |
//! |---|---|---|
//! | `workflow-host` | log | log (components with both roles) |
//! | `activity-host` | traps (activity-only) | heartbeat, cancellation, log |
//! | `http-client` | `denied` | behind the queue's allowlist |

mod activity_host;
mod http_client;
mod workflow_host;

pub use http_client::{DEFAULT_TIMEOUT, send};

use wasmtime::component::{HasData, Linker};

use super::activity::AttemptControl;
use super::bindings::polyworker::worker;
use super::http::Allowlist;
use super::log::GuestLog;

/// What the `polyworker:worker` imports may use in one store.
pub struct HostView<'a> {
    /// The store's log.
    pub log: &'a GuestLog,
    /// The running attempt's heartbeat and cancellation; `None` in workflow
    /// stores, where activity-only calls trap.
    pub attempt: Option<&'a AttemptControl>,
    /// Hosts `http-client` may reach; `None` refuses every request.
    pub http: Option<&'a Allowlist>,
    /// The largest response body `http-client` may read into the store.
    pub body_limit: usize,
}

/// Store data that grants the `polyworker:worker` imports through a view.
pub trait HostViewOf: Send + 'static {
    /// The view of this store's grants.
    fn host_view(&mut self) -> HostView<'_>;
}

struct Glue;

impl HasData for Glue {
    type Data<'a> = HostView<'a>;
}

/// Adds every `polyworker:worker` import to an activity store's `linker`.
pub fn add_to_linker<T: HostViewOf>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    worker::workflow_host::add_to_linker::<T, Glue>(linker, T::host_view)?;
    worker::activity_host::add_to_linker::<T, Glue>(linker, T::host_view)?;
    worker::http_client::add_to_linker::<T, Glue>(linker, T::host_view)?;
    Ok(())
}

/// Adds every `polyworker:worker` import to a workflow store's `linker`,
/// all synchronous: `http-client.send`, the one async import, is replaced by
/// a synchronous refusal, so no workflow call ever needs a fiber.
pub fn add_workflow_to_linker<T: HostViewOf>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    worker::workflow_host::add_to_linker::<T, Glue>(linker, T::host_view)?;
    worker::activity_host::add_to_linker::<T, Glue>(linker, T::host_view)?;
    http_client::add_refusal_to_linker(linker)
}
