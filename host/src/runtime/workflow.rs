//! What a workflow store is made of: virtual WASI that reads workflow time
//! and a seeded random stream, the guest log, and resource limits.
//!
//! A workflow sees no files, sockets, environment or arguments. Its clocks
//! return the time of the activation being processed, so `Date.now()` or
//! `SystemTime::now()` in any language replays identically; its randomness
//! comes from the run's seed, which core keeps in the history. Every
//! function it links is synchronous ([`super::workflow_wasi`]), so its calls
//! need no fiber.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::Engine;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::polyworker::worker::types::LogLevel;
use super::glue::{HostView, HostViewOf};
use super::http::DenyAllHttp;
use super::limits::StoreLimiter;
use super::loader::Limited;
use super::log::GuestLog;

/// Workflow time in nanoseconds since the epoch, set before each activation.
#[derive(Clone, Default)]
pub struct WorkflowClock(Arc<AtomicU64>);

impl WorkflowClock {
    /// Sets workflow time, in nanoseconds since the epoch.
    pub fn set(&self, nanos: u64) {
        self.0.store(nanos, Ordering::Relaxed);
    }
}

impl HostWallClock for WorkflowClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

impl HostMonotonicClock for WorkflowClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        // Go's runtime refuses to start on a monotonic clock that reads 0,
        // which is what an unset clock (the store that lists a component's
        // types) would read.
        self.0.load(Ordering::Relaxed).max(1)
    }
}

/// The run's random stream; reseeded when core sends a new seed.
#[derive(Clone)]
pub struct SeededRandom(Arc<Mutex<StdRng>>);

impl SeededRandom {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom(Arc::new(Mutex::new(StdRng::seed_from_u64(seed))))
    }

    /// Restarts the stream from `seed`.
    pub fn reseed(&self, seed: u64) {
        *self.lock() = StdRng::seed_from_u64(seed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl rand::TryRng for SeededRandom {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.lock().try_next_u32()
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.lock().try_next_u64()
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.lock().try_fill_bytes(dst)
    }
}

/// The data of one workflow run's store.
pub struct WorkflowState {
    /// When the running guest call must end; checked at every epoch tick.
    pub deadline: Option<std::time::Instant>,
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    deny_http: DenyAllHttp,
    /// The store's bounds.
    pub limits: StoreLimiter,
    /// Workflow time, set before each activation.
    pub clock: WorkflowClock,
    /// The run's random stream.
    pub random: SeededRandom,
    /// The run's log, muted while replaying.
    pub log: GuestLog,
}

impl WorkflowState {
    /// The data of a run's store, seeded with `seed`.
    pub fn new(seed: u64, log: GuestLog, limits: StoreLimiter) -> Self {
        let clock = WorkflowClock::default();
        let random = SeededRandom::new(seed);
        let mut b = WasiCtxBuilder::new();
        b.wall_clock(clock.clone())
            .monotonic_clock(clock.clone())
            .secure_random(random.clone())
            .insecure_random(random.clone())
            .insecure_random_seed(u128::from(seed))
            .stdout(log.stream(LogLevel::Info))
            .stderr(log.stream(LogLevel::Warn))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        let table = limits.bounds().resource_table();
        WorkflowState {
            deadline: None,
            wasi: b.build(),
            table,
            http: WasiHttpCtx::new(),
            deny_http: DenyAllHttp("workflow code"),
            limits,
            clock,
            random,
            log,
        }
    }
}

impl WasiView for WorkflowState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for WorkflowState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.deny_http,
        }
    }
}

impl Limited for WorkflowState {
    fn limiter(&mut self) -> &mut StoreLimiter {
        &mut self.limits
    }
}

impl HostViewOf for WorkflowState {
    /// Workflows get the log, and neither activity calls nor HTTP.
    fn host_view(&mut self) -> HostView<'_> {
        HostView {
            log: &self.log,
            attempt: None,
            http: None,
            body_limit: 0,
        }
    }
}

/// The linker every workflow component is instantiated with: WASI (virtual,
/// as configured per store), `workflow-host`, and the activity-only imports
/// in denying form (`wasi:http` and `http-client` refuse every request,
/// `activity-host` traps), so a component implementing both roles still
/// loads. Any other import fails the load with its name. Every function is
/// synchronous: no workflow call needs a fiber.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<WorkflowState>> {
    let mut l = Linker::new(engine);
    super::workflow_wasi::add_to_linker(&mut l)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut l)?;
    super::glue::add_workflow_to_linker(&mut l)?;
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::TryRng;

    #[test]
    fn same_seed_gives_same_stream_and_reseed_restarts_it() {
        let mut a = SeededRandom::new(7);
        let mut b = SeededRandom::new(7);
        let xs: Vec<u64> = (0..4).map(|_| a.try_next_u64().unwrap()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.try_next_u64().unwrap()).collect();
        assert_eq!(xs, ys);
        a.reseed(7);
        assert_eq!(a.try_next_u64().unwrap(), xs[0]);
        assert_ne!(SeededRandom::new(8).try_next_u64().unwrap(), xs[0]);
    }

    #[test]
    fn clock_reads_what_was_set() {
        let c = WorkflowClock::default();
        c.set(1_700_000_000_123_000_000);
        assert_eq!(
            HostWallClock::now(&c),
            Duration::from_nanos(1_700_000_000_123_000_000)
        );
        assert_eq!(HostMonotonicClock::now(&c), 1_700_000_000_123_000_000);
    }
}
