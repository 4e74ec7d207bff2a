//! How a guest call that did not return becomes words an operator can act
//! on: by wasmtime's trap codes and the host's own typed errors, never by
//! matching error text.

use std::time::Duration;

use wasmtime::component::ResourceTableError;

use super::limits::LimitExceeded;
use super::meter::ModuleMeter;
use super::workflow_wasi::Blocked;

/// How a guest call ended abnormally. The store is unusable afterwards.
#[derive(Debug, thiserror::Error)]
pub enum GuestFault {
    /// Interrupted at the epoch deadline.
    #[error(
        "workflow activation exceeded its {0:?} deadline and was interrupted (an infinite loop or a long computation in workflow code?)"
    )]
    Deadline(Duration),
    /// A store limit refused growth.
    #[error("{0}")]
    Limit(LimitExceeded),
    /// Workflow code waited on something that cannot happen.
    #[error("{0}")]
    Blocked(Blocked),
    /// The guest trapped; with the guest's frames, at source lines where
    /// the component has debug info.
    #[error("{0}{1}")]
    Trap(TrapKind, GuestBacktrace),
    /// A host function failed in a way the guest cannot handle.
    #[error("{message}")]
    Host {
        /// The host function's error, first line.
        message: String,
        /// The whole error.
        #[source]
        source: super::WasmError,
    },
    /// The component could not be instantiated.
    #[error("cannot instantiate the {role} component: {source}")]
    Instantiate {
        /// Which export was being instantiated.
        role: super::Role,
        /// wasmtime's error.
        #[source]
        source: super::WasmError,
    },
}

/// A wasm trap, in the guest author's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrapKind {
    /// Wasm's own stack ran out.
    #[error("stack overflow (runaway recursion?)")]
    StackOverflow,
    /// `unreachable`: Rust panics, C aborts.
    #[error(
        "unreachable code reached (a panic or abort in the guest; see the guest's stderr above)"
    )]
    Unreachable,
    /// An access outside linear memory.
    #[error(
        "out of bounds memory access (in Rust and C guests usually a stack overflow: \
         runaway recursion exhausted the stack in linear memory)"
    )]
    MemoryOutOfBounds,
    /// Any other trap code.
    #[error("{0}")]
    Other(wasmtime::Trap),
}

/// The guest frames of a trap, innermost first, as text: empty when the
/// trap has no backtrace, else a line per frame (`at func (file:line)`
/// where the component has DWARF line tables, else the function).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestBacktrace(String);

/// At most this many frames are reported (a stack overflow has thousands).
const MAX_FRAMES: usize = 20;

impl GuestBacktrace {
    fn of(e: &wasmtime::Error) -> GuestBacktrace {
        let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() else {
            return GuestBacktrace::default();
        };
        let mut text = String::from("\nguest backtrace:");
        for frame in bt.frames().iter().take(MAX_FRAMES) {
            let name = frame.func_name().unwrap_or("<unnamed>");
            let mut located = false;
            // Several symbols: functions inlined into this frame, innermost
            // first.
            for s in frame.symbols().iter().filter(|s| s.file().is_some()) {
                located = true;
                text.push_str(&format!(
                    "\n  at {} ({}:{})",
                    demangle(s.name().unwrap_or(name)),
                    s.file().unwrap_or_default(),
                    s.line().unwrap_or(0)
                ));
            }
            if !located {
                text.push_str(&format!("\n  at {}", demangle(name)));
            }
        }
        if bt.frames().len() > MAX_FRAMES {
            text.push_str(&format!(
                "\n  … {} more frames",
                bt.frames().len() - MAX_FRAMES
            ));
        }
        GuestBacktrace(text)
    }
}

/// A Rust symbol as its author wrote it (without the hash); any other
/// name as it is.
fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

impl std::fmt::Display for GuestBacktrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The per-store settings a fault is explained with.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// How long one guest call may run.
    pub deadline: Duration,
    /// Linear memory of the store, all memories together.
    pub memory_bytes: usize,
    /// Host-side resources the store may hold at once.
    pub resources: usize,
}

/// Turns a failed guest call into what happened.
pub fn classify(e: wasmtime::Error, limits: RunLimits) -> GuestFault {
    if let Some(l) = e.chain().find_map(|c| c.downcast_ref::<LimitExceeded>()) {
        return GuestFault::Limit(*l);
    }
    if let Some(b) = e.chain().find_map(|c| c.downcast_ref::<Blocked>()) {
        return GuestFault::Blocked(*b);
    }
    let full = |c: &(dyn std::error::Error + 'static)| {
        matches!(c.downcast_ref(), Some(ResourceTableError::Full))
    };
    if e.chain().any(full) {
        return GuestFault::Limit(LimitExceeded::Resources {
            limit: limits.resources,
        });
    }
    let trap = |kind| GuestFault::Trap(kind, GuestBacktrace::of(&e));
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => GuestFault::Deadline(limits.deadline),
        Some(wasmtime::Trap::StackOverflow) => trap(TrapKind::StackOverflow),
        Some(wasmtime::Trap::UnreachableCodeReached) => trap(TrapKind::Unreachable),
        Some(wasmtime::Trap::MemoryOutOfBounds) => trap(TrapKind::MemoryOutOfBounds),
        Some(t) => trap(TrapKind::Other(*t)),
        // A host function's own error, under wasmtime's backtrace context.
        None => GuestFault::Host {
            message: e
                .root_cause()
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            source: super::WasmError(e),
        },
    }
}

impl ModuleMeter {
    /// Counts the faults that have a metric of their own (the store's
    /// limiter counts its own refusals as they happen).
    pub fn count_fault(&self, f: &GuestFault) {
        match f {
            GuestFault::Deadline(_) => self.epoch_interrupted(),
            GuestFault::Limit(l @ LimitExceeded::Resources { .. }) => self.limit_hit(l.name()),
            GuestFault::Blocked(_) => self.limit_hit("wait"),
            _ => {}
        }
    }
}

impl GuestFault {
    /// Interrupted at its deadline (counted in the metrics).
    pub fn is_deadline(&self) -> bool {
        matches!(self, GuestFault::Deadline(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RunLimits = RunLimits {
        deadline: Duration::from_secs(2),
        memory_bytes: 64 << 20,
        resources: 16,
    };

    #[test]
    fn faults_are_classified_by_type() {
        let f = classify(wasmtime::Error::new(wasmtime::Trap::Interrupt), LIMITS);
        assert!(f.is_deadline(), "{f}");
        let f = classify(
            wasmtime::Error::new(LimitExceeded::Memory { limit: 64 << 20 })
                .context("while growing"),
            LIMITS,
        );
        assert!(matches!(f, GuestFault::Limit(_)), "{f:?}");
        assert!(f.to_string().contains("past the 64 MiB limit"), "{f}");
        let f = classify(wasmtime::Error::new(wasmtime::Trap::StackOverflow), LIMITS);
        assert!(
            matches!(f, GuestFault::Trap(TrapKind::StackOverflow, _)),
            "{f:?}"
        );
        let f = classify(
            wasmtime::Error::new(ResourceTableError::Full).context("in subscribe"),
            LIMITS,
        );
        assert!(
            matches!(f, GuestFault::Limit(LimitExceeded::Resources { limit: 16 })),
            "{f:?}"
        );
        let f = classify(
            wasmtime::Error::new(Blocked {
                call: "wasi:io/poll.poll",
            }),
            LIMITS,
        );
        assert!(f.to_string().contains("durable timer"), "{f}");
        let f = classify(wasmtime::format_err!("a host call failed\nmore"), LIMITS);
        assert_eq!(f.to_string(), "a host call failed");
    }

    #[test]
    fn faults_with_a_metric_are_counted_under_their_limit() {
        use std::sync::{Arc, Mutex};
        #[derive(Default)]
        struct Seen(Mutex<Vec<&'static str>>);
        struct Sink(Arc<Seen>);
        impl crate::runtime::meter::GuestMetrics for Sink {
            fn instantiated(&self, _: Duration) {}
            fn activated(&self, _: Duration) {}
            fn epoch_interrupted(&self) {
                self.0.0.lock().unwrap().push("deadline");
            }
            fn limit_hit(&self, limit: &'static str) {
                self.0.0.lock().unwrap().push(limit);
            }
            fn linear_memory(&self, _: u64) {}
            fn instances(&self, _: u64) {}
        }
        let seen = Arc::new(Seen::default());
        let meter = ModuleMeter::new(Box::new(Sink(seen.clone())));
        for f in [
            GuestFault::Deadline(Duration::from_secs(2)),
            GuestFault::Limit(LimitExceeded::Resources { limit: 16 }),
            GuestFault::Blocked(Blocked {
                call: "wasi:io/poll.poll",
            }),
            GuestFault::Trap(TrapKind::Unreachable, GuestBacktrace::default()),
        ] {
            meter.count_fault(&f);
        }
        assert_eq!(*seen.0.lock().unwrap(), ["deadline", "resources", "wait"]);
    }
}
