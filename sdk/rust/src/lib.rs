//! # polyworker-sdk
//!
//! Write Temporal workflows and activities in Rust, compiled to a
//! WebAssembly component (`wasm32-wasip2`) that the polyworker host runs.
//!
//! ```ignore
//! use polyworker_sdk::prelude::*;
//!
//! async fn greet(ctx: WorkflowContext, (name,): (String,)) -> Result<String, WorkflowError> {
//!     let opts = ActivityOptions::start_to_close(Duration::from_secs(10));
//!     let greeting: String = ctx.activity("Greet", (name,), opts).await?;
//!     Ok(greeting)
//! }
//!
//! async fn greet_activity(_ctx: ActivityContext, (name,): (String,)) -> Result<String, ActivityError> {
//!     Ok(format!("Hello, {name}!"))
//! }
//!
//! polyworker_sdk::component!(|r| {
//!     r.workflow("Greeting", greet);
//!     r.activity("Greet", greet_activity);
//! });
//! ```
//!
//! # Layout
//! - [`workflow`]: the workflow context, options, and the deterministic executor.
//! - [`activity`]: the activity context (heartbeat, cancellation, info).
//! - [`payload`]: JSON payloads compatible with every Temporal SDK.
//! - [`failure`]: Temporal failures and activity errors.
//! - [`http`]: a blocking HTTP client for activities (`wasi:http`).
//! - `registry` / `export`: what [`component!`] wires together.

#![warn(missing_docs)]

pub mod activity;
mod export;
pub mod failure;
pub mod http;
pub mod payload;
mod registry;
pub mod workflow;

#[doc(hidden)]
pub mod wit;

pub use activity::ActivityContext;
pub use failure::{ActivityError, Failure};
pub use payload::Payload;
pub use registry::{Registry, VersioningBehavior};
pub use workflow::{WorkflowContext, WorkflowError};

/// A random number from the host. In a workflow it is drawn from the run's
/// seeded generator and replays identically; in an activity it is real
/// randomness.
pub fn random_u64() -> u64 {
    wasi::random::random::get_random_u64()
}

/// Everything a component usually needs.
pub mod prelude {
    pub use crate::activity::ActivityContext;
    pub use crate::failure::{ActivityError, Failure};
    pub use crate::payload::Payload;
    pub use crate::registry::{Registry, VersioningBehavior};
    pub use crate::workflow::{
        ActivityOptions, LocalActivityOptions, RetryPolicy, WorkflowContext, WorkflowError,
    };
    pub use std::time::Duration;
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::{Component, Exports};
}

/// Declares the component's workflows and activities and exports them.
///
/// Takes a closure (or function) that fills a [`Registry`]; invoke it once,
/// at the crate root of a `cdylib` crate built for `wasm32-wasip2`.
#[macro_export]
macro_rules! component {
    ($register:expr) => {
        #[doc(hidden)]
        pub struct __PolyworkerComponent;
        impl $crate::__private::Component for __PolyworkerComponent {
            fn register(registry: &mut $crate::Registry) {
                let f: fn(&mut $crate::Registry) = $register;
                f(registry)
            }
        }
        #[doc(hidden)]
        #[allow(dead_code)]
        type __PolyworkerExports = $crate::__private::Exports<__PolyworkerComponent>;
        // Component exports exist only on wasm; a native build (unit tests,
        // clippy) compiles the same code without them.
        #[cfg(target_family = "wasm")]
        $crate::wit::__export_worker_module!(__PolyworkerExports with_types_in $crate::wit);
    };
}
