//! Generated bindings for the `polyworker:worker/versioned-worker-module` world.
//!
//! Hidden from the docs: guests use the wrappers in this crate; the `component!`
//! macro wires the exports to them.

// Generated code: the WIT files document these items.
#![allow(missing_docs)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "polyworker:worker/versioned-worker-module",
    pub_export_macro: true,
    default_bindings_module: "polyworker_sdk::wit",
    export_macro_name: "__export_worker_module",
    generate_all,
});
