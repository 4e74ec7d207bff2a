//! What an activity store is made of: real clocks and randomness, the
//! task queue's environment, `wasi:http` behind the allowlist, the guest log,
//! and the attempt's heartbeat and cancellation channel.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use wasmtime::Engine;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::polyworker::worker::activity_types::CancelReason;
use super::bindings::polyworker::worker::types::{LogLevel, Payload};
use super::glue::{HostView, HostViewOf};
use super::http::{Allowlist, AllowlistHooks};
use super::limits::{StoreBounds, StoreLimiter};
use super::loader::Limited;
use super::log::{GuestLog, LogTags};
use super::meter::{ModuleMeter, Role};

/// One directory granted to a task queue's activities.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preopen {
    /// The host directory, relative to the config file.
    pub host: PathBuf,
    /// Where the guest sees it, e.g. `/data`.
    pub guest: String,
    /// Read-only unless set to false.
    #[serde(default = "yes")]
    pub read_only: bool,
}

fn yes() -> bool {
    true
}

/// Why a heartbeat was not sent (its details too large, for one).
pub type HeartbeatError = Box<dyn std::error::Error + Send + Sync>;

/// Sends a heartbeat for the running attempt.
pub type HeartbeatFn = Box<dyn Fn(Vec<Payload>) -> Result<(), HeartbeatError> + Send + Sync>;

/// Shared between the store (the guest's view) and the runner (which learns
/// of cancellation from core).
pub struct AttemptControl {
    heartbeat: HeartbeatFn,
    cancel: Mutex<Option<CancelReason>>,
    /// Notified when the attempt is cancelled.
    pub cancelled: tokio::sync::Notify,
    last_heartbeat: Mutex<std::time::Instant>,
    /// The attempt's W3C `traceparent`, set before the guest runs.
    trace_parent: std::sync::OnceLock<String>,
}

impl AttemptControl {
    /// The control of a new attempt, heartbeating through `heartbeat`.
    pub fn new(heartbeat: HeartbeatFn) -> Arc<Self> {
        Arc::new(AttemptControl {
            heartbeat,
            cancel: Mutex::new(None),
            cancelled: tokio::sync::Notify::new(),
            last_heartbeat: Mutex::new(std::time::Instant::now()),
            trace_parent: std::sync::OnceLock::new(),
        })
    }

    /// Sets the attempt's `traceparent` (once).
    pub fn set_trace_parent(&self, traceparent: String) {
        let _ = self.trace_parent.set(traceparent);
    }

    /// The attempt's `traceparent`, if it has a trace.
    pub fn trace_parent(&self) -> Option<String> {
        self.trace_parent.get().cloned()
    }

    /// Called on every guest heartbeat.
    pub fn beat(&self, details: Vec<Payload>) -> Result<(), HeartbeatError> {
        *self
            .last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
        (self.heartbeat)(details)
    }

    /// When the guest last heartbeat (or the attempt started).
    pub fn last_heartbeat(&self) -> std::time::Instant {
        *self
            .last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels the attempt for `reason`.
    pub fn cancel(&self, reason: CancelReason) {
        *self.cancel.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        self.cancelled.notify_waiters();
        self.cancelled.notify_one();
    }

    /// Why the attempt was cancelled, if it was.
    pub fn reason(&self) -> Option<CancelReason> {
        *self.cancel.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A granted directory could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {}", .dir.display())]
pub struct PreopenError {
    /// The directory.
    pub dir: PathBuf,
    /// Why.
    #[source]
    pub source: super::WasmError,
}

/// How to build one attempt's store.
pub struct ActivitySandbox<'a> {
    /// Environment variables the attempt sees.
    pub env: &'a [(String, String)],
    /// Directories it may open.
    pub preopens: &'a [Preopen],
    /// Hosts it may reach over HTTP.
    pub allowlist: Allowlist,
    /// Linear memory per memory.
    pub memory_bytes: usize,
    /// The share of the host's memory budget it is charged to.
    pub account: Option<Arc<super::budget::Account>>,
    /// Where its measurements go.
    pub meter: ModuleMeter,
    /// What its log lines are tagged with.
    pub tags: LogTags,
    /// Its heartbeat and cancellation channel.
    pub control: Arc<AttemptControl>,
}

/// The data of one activity attempt's store.
pub struct ActivityState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: AllowlistHooks,
    /// The store's bounds.
    pub limits: StoreLimiter,
    /// The attempt's log.
    pub log: GuestLog,
    /// The attempt's heartbeat and cancellation channel.
    pub control: Arc<AttemptControl>,
}

impl ActivityState {
    /// Builds the store data; fails only if a granted directory cannot be opened.
    pub fn new(s: ActivitySandbox<'_>) -> Result<Self, PreopenError> {
        let log = GuestLog::new(s.tags.clone());
        let mut b = WasiCtxBuilder::new();
        b.envs(s.env)
            .stdout(log.stream(LogLevel::Info))
            .stderr(log.stream(LogLevel::Warn))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for p in s.preopens {
            let perms = if p.read_only {
                FsPerms::ReadOnly
            } else {
                FsPerms::ReadWrite
            };
            // cap-std underneath: paths resolve only beneath the directory.
            b.preopened_dir(&p.host, &p.guest, perms)
                .map_err(|e| PreopenError {
                    dir: p.host.clone(),
                    source: super::WasmError(e),
                })?;
        }
        let bounds = StoreBounds::new(Role::Activity, s.memory_bytes);
        Ok(ActivityState {
            wasi: b.build(),
            table: bounds.resource_table(),
            http: WasiHttpCtx::new(),
            hooks: AllowlistHooks {
                allowlist: s.allowlist,
                activity_type: s.tags.activity_type.clone().unwrap_or_default(),
            },
            limits: bounds.limiter(s.meter).charged_to(s.account, false),
            log,
            control: s.control,
        })
    }

    /// The task queue's HTTP allowlist (shared by `wasi:http` and `http-client`).
    pub fn allowlist(&self) -> &Allowlist {
        &self.hooks.allowlist
    }

    /// A store for asking a component which types it has: no grants at all.
    pub fn for_inspection() -> Self {
        let log = GuestLog::new(LogTags::default());
        ActivityState {
            wasi: WasiCtxBuilder::new()
                .stdout(log.stream(LogLevel::Info))
                .stderr(log.stream(LogLevel::Warn))
                .allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false)
                .build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: AllowlistHooks {
                allowlist: Allowlist::default(),
                activity_type: String::new(),
            },
            limits: StoreBounds::new(Role::Activity, 64 << 20).limiter(ModuleMeter::disabled()),
            log,
            control: AttemptControl::new(Box::new(|_| Ok(()))),
        }
    }
}

impl Limited for ActivityState {
    fn limiter(&mut self) -> &mut StoreLimiter {
        &mut self.limits
    }
}

impl HostViewOf for ActivityState {
    /// Activities get the log, their attempt's calls and HTTP behind the
    /// allowlist.
    fn host_view(&mut self) -> HostView<'_> {
        HostView {
            log: &self.log,
            attempt: Some(&self.control),
            http: Some(&self.hooks.allowlist),
            body_limit: self.limits.memory_room(),
        }
    }
}

impl WasiView for ActivityState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ActivityState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The linker every activity component is instantiated with: WASI,
/// `wasi:http` (behind each store's allowlist), `activity-host`, and
/// `workflow-host` (log only) for components that implement both roles.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<ActivityState>> {
    let mut l = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut l)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut l)?;
    super::glue::add_to_linker(&mut l)?;
    Ok(l)
}
