//! Logging setup for the binary: human-readable by default, JSON on request.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
/// Calling it twice is harmless (the second call keeps the first subscriber).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(
            "info,temporalio_sdk_core=warn,temporalio_client=warn,wasmtime=warn,cranelift=warn",
        )
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
