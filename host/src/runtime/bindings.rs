//! The one `bindgen!` for the `polyworker:worker` package.
//!
//! Generated for the `versioned-worker-module` world, which includes both
//! roles and the optional `versioning` export; the host uses each exported
//! interface on its own (`workflows` in workflow stores, `activities` in
//! activity stores, `versioning` when present), so a component may implement
//! any of them. Only the `activities` exports and `http-client.send` are
//! async: workflow stores have no async function, so their calls run
//! synchronously and wasmtime allocates them no fiber stack.

// Generated code: the WIT files document these items.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "polyworker:worker/versioned-worker-module",
    imports: {
        // The one import that waits on the network.
        "polyworker:worker/http-client.send": async | trappable,
        default: trappable,
    },
    // Workflow calls are synchronous (no fiber per store, run on the
    // workflow threads); activities do real I/O and stay async.
    exports: { "polyworker:worker/activities": async },
    additional_derives: [PartialEq],
});
