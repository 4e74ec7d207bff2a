//! The one `bindgen!` for the `polyworker:worker` package.
//!
//! Generated for the `worker-module` world, which includes both roles; the
//! host uses each exported interface on its own (`workflows` in workflow
//! stores, `activities` in activity stores), so a component may implement
//! either or both.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "polyworker:worker/worker-module",
    imports: {
        // The one import that waits on the network.
        "polyworker:worker/http-client.send": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    additional_derives: [PartialEq],
});
