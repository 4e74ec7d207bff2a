// The Go SDK's module. Its name is the one wit-bindgen's Go generator gives
// the bindings (`wit_component`), so the SDK, its generated bindings and an
// app build as one module. `polyworker-go generate` writes the bindings
// packages here (they are not committed) and the runtime package they
// import into .witpkg, from the wit-bindgen-go crate: nothing comes from
// the Go module proxy.
module wit_component

go 1.25

require go.bytecodealliance.org/pkg v0.2.1

replace go.bytecodealliance.org/pkg => ./.witpkg
