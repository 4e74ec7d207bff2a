//! The one `bindgen!` for the `polyworker:worker` package.
//!
//! Generated for the `versioned-worker-module` world, which includes both
//! roles and the optional `versioning` export; the host uses each exported
//! interface on its own (`workflows` in workflow stores, `activities` in
//! activity stores, `versioning` when present), so a component may implement
//! any of them.

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
    exports: { default: async },
    additional_derives: [PartialEq],
});
