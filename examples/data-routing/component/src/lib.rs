//! The data-routing example as one component: a workflow that routes a
//! packet through route providers, and the two activities it calls.
//!
//! - `GetRouteActivity` asks the route service for the best provider not yet
//!   tried; the service fails with a network error now and then (the chance
//!   comes from the task queue's `ROUTE_ERROR_CHANCE` environment), and
//!   Temporal retries it.
//! - `TransmitActivity` hands the packet and the activity's task token to the
//!   transmit service over HTTP and returns "pending": the service completes
//!   the activity later through a Temporal client, or never, and then the
//!   start-to-close timeout fires and the workflow tries the next provider.

mod activities;
mod input;
mod model;
mod workflow;

pub use model::{PROVIDERS, Packet, RoutingOptions, TransmitReceipt};

polyworker_sdk::component!(|r| {
    r.workflow("DataRoutingWorkflow", workflow::data_routing);
    r.activity("GetRouteActivity", activities::get_route);
    r.activity("TransmitActivity", activities::transmit);
});
