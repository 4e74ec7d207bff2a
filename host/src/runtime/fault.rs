//! How a guest call that did not return becomes words an operator can act
//! on: by wasmtime's trap codes and the host's own typed errors, never by
//! matching error text.

use std::time::Duration;

use super::limits::LimitExceeded;

/// How a guest call ended abnormally. The store is unusable afterwards.
#[derive(Debug, thiserror::Error)]
pub enum GuestFault {
    /// Interrupted at the epoch deadline.
    #[error(
        "workflow activation exceeded its {0:?} deadline and was interrupted (an infinite loop or a blocking call in workflow code?)"
    )]
    Deadline(Duration),
    /// A store limit refused growth.
    #[error("{0}")]
    Limit(LimitExceeded),
    /// The guest trapped.
    #[error("{0}")]
    Trap(TrapKind),
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

/// The per-store settings a fault is explained with.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// How long one guest call may run.
    pub deadline: Duration,
    /// Linear memory per memory.
    pub memory_bytes: usize,
}

/// Turns a failed guest call into what happened.
pub fn classify(e: wasmtime::Error, limits: RunLimits) -> GuestFault {
    if let Some(l) = e.chain().find_map(|c| c.downcast_ref::<LimitExceeded>()) {
        return GuestFault::Limit(*l);
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => GuestFault::Deadline(limits.deadline),
        Some(wasmtime::Trap::StackOverflow) => GuestFault::Trap(TrapKind::StackOverflow),
        Some(wasmtime::Trap::UnreachableCodeReached) => GuestFault::Trap(TrapKind::Unreachable),
        Some(wasmtime::Trap::MemoryOutOfBounds) => GuestFault::Trap(TrapKind::MemoryOutOfBounds),
        Some(t) => GuestFault::Trap(TrapKind::Other(*t)),
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
            matches!(f, GuestFault::Trap(TrapKind::StackOverflow)),
            "{f:?}"
        );
        let f = classify(wasmtime::format_err!("a host call failed\nmore"), LIMITS);
        assert_eq!(f.to_string(), "a host call failed");
    }
}
