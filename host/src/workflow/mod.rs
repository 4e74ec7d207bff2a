//! Workflow tasks: core's activations delivered to workflow components.
//!
//! - [`sandbox`]: the deterministic store (virtual clocks, seeded random).
//! - [`instance`]: one cached run's store and guest resource.
//! - [`runner`]: the poll loop and the activation → completion logic.

pub mod instance;
pub mod runner;
pub mod sandbox;

pub use instance::{GuestFault, RunInstance, RunLimits};
pub use runner::{RunObserver, run_workflows};
pub use sandbox::WorkflowState;
