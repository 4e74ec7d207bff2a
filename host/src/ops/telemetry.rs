//! Logging setup for the binary: human-readable by default, JSON on request.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` overrides the default filter;
/// `quiet` keeps only warnings of our own (for commands whose output is a
/// report). Calling it twice is harmless (the first subscriber stays).
pub fn init(json: bool, quiet: bool) {
    let default = if quiet {
        "warn,temporalio_sdk_core=error,polyworker_host::temporal::workflow_runner=error"
    } else {
        "info,temporalio_sdk_core=warn,temporalio_client=warn,wasmtime=warn,cranelift=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// An error and its causes on one line (`a: b: c`), for logs and replies.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
