// The data-routing example's unit tests, against its built component
// (target/guests/go/data-routing-go.wasm):   go test ./...
module datarouting_test

go 1.25

require polyworker/testsuite v0.0.0

replace polyworker/testsuite => ../../../sdk/go/testsuite
