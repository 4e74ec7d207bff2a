//! What an activity store is made of: real clocks and randomness, the
//! task queue's environment, `wasi:http` behind the allowlist, the guest log,
//! and the attempt's heartbeat and cancellation channel.

use std::sync::{Arc, Mutex};

use temporalio_common::protos::temporal::api::common::v1::Payload as CorePayload;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::http::{Allowlist, AllowlistHooks};
use crate::bindings::polyworker::worker::activity_types::CancelReason;
use crate::bindings::polyworker::worker::types::LogLevel;
use crate::bindings::polyworker::worker::{activity_host, http_client, workflow_host};
use crate::guest_log::{GuestLog, LogTags};
use crate::metrics::{Kind, MeteredLimits, ModuleMeter};

/// Sends a heartbeat for the running attempt.
pub type HeartbeatFn = Box<dyn Fn(Vec<CorePayload>) + Send + Sync>;

/// Shared between the store (the guest's view) and the runner (which learns
/// of cancellation from core).
pub struct AttemptControl {
    pub heartbeat: HeartbeatFn,
    cancel: Mutex<Option<CancelReason>>,
    pub cancelled: tokio::sync::Notify,
    last_heartbeat: Mutex<std::time::Instant>,
}

impl AttemptControl {
    pub fn new(heartbeat: HeartbeatFn) -> Arc<Self> {
        Arc::new(AttemptControl {
            heartbeat,
            cancel: Mutex::new(None),
            cancelled: tokio::sync::Notify::new(),
            last_heartbeat: Mutex::new(std::time::Instant::now()),
        })
    }

    /// Called on every guest heartbeat.
    pub fn beat(&self, details: Vec<CorePayload>) {
        *self
            .last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
        (self.heartbeat)(details);
    }

    pub fn last_heartbeat(&self) -> std::time::Instant {
        *self
            .last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn cancel(&self, reason: CancelReason) {
        *self.cancel.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        self.cancelled.notify_waiters();
        self.cancelled.notify_one();
    }

    pub fn reason(&self) -> Option<CancelReason> {
        *self.cancel.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How to build one attempt's store.
pub struct ActivitySandbox<'a> {
    pub env: &'a [(String, String)],
    pub preopens: &'a [crate::config::Preopen],
    pub allowlist: Allowlist,
    pub memory_bytes: usize,
    pub meter: ModuleMeter,
    pub tags: LogTags,
    pub control: Arc<AttemptControl>,
    pub max_payload_bytes: usize,
}

/// The data of one activity attempt's store.
pub struct ActivityState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: AllowlistHooks,
    pub limits: MeteredLimits,
    pub log: GuestLog,
    pub control: Arc<AttemptControl>,
    pub max_payload_bytes: usize,
}

impl ActivityState {
    /// Builds the store data; fails only if a granted directory cannot be opened.
    pub fn new(s: ActivitySandbox<'_>) -> Result<Self, String> {
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
                .map_err(|e| format!("cannot open {}: {e}", p.host.display()))?;
        }
        Ok(ActivityState {
            wasi: b.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: AllowlistHooks {
                allowlist: s.allowlist,
                activity_type: s.tags.activity_type.clone().unwrap_or_default(),
            },
            limits: s.meter.limits(
                StoreLimitsBuilder::new()
                    .memory_size(s.memory_bytes)
                    .instances(32)
                    .tables(32)
                    .memories(8)
                    .trap_on_grow_failure(true)
                    .build(),
            ),
            log,
            control: s.control,
            max_payload_bytes: s.max_payload_bytes,
        })
    }

    /// The task queue's HTTP allowlist (shared by `wasi:http` and `http-client`).
    pub fn allowlist(&self) -> &Allowlist {
        &self.hooks.allowlist
    }

    /// A store for asking a component which types it has: no grants at all.
    pub fn for_inspection(_engine: &Engine) -> Self {
        ActivityState::new(ActivitySandbox {
            env: &[],
            preopens: &[],
            allowlist: Allowlist::default(),
            memory_bytes: 64 << 20,
            meter: ModuleMeter::disabled(Kind::Activity),
            tags: LogTags::default(),
            control: AttemptControl::new(Box::new(|_| {})),
            max_payload_bytes: 0,
        })
        .unwrap_or_else(|_| unreachable!("no directories to open"))
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
    activity_host::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
    workflow_host::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
    http_client::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
    Ok(l)
}
