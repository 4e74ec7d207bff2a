#!/usr/bin/env bash
# Passes the tests: installs what is missing (every language's toolchain,
# the benchmark contestants), builds the guest components, then runs the
# SDKs' own checks and unit tests and every Rust unit and end-to-end test
# (the e2e tests start their own Temporal dev server on a free port).
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The test environment the SDKs' testing helpers drive (polyworker-test).
cargo build --quiet -p polyworker-testing
# The JavaScript SDK's unit tests (node's built-in runner) and its type
# declarations, checked by compiling the TypeScript example.
node --test sdk/js/test/
[ -x examples/data-routing-ts/node_modules/.bin/tsc ] ||
  (cd examples/data-routing-ts && npm install --silent --no-audit --no-fund >&2)
examples/data-routing-ts/node_modules/.bin/tsc --noEmit -p examples/data-routing-ts
# The Go SDK as a Go module: go vet (its unit tests run in cargo test, as
# tests/e2e/go_sdk.rs).
sdk/go/polyworker-go vet
# Each language's unit tests of its data-routing example, through the test
# environment (polyworker-test, the time-skipping test server from .venv),
# and the testing helpers' own tests.
PYTHONPATH=sdk/python .venv/bin/python -m pytest -q -p no:cacheprovider sdk/python/tests examples/data-routing-py
node --test examples/data-routing-js/test/
(cd examples/data-routing-go/test && ../../../.venv/bin/go test -count=1 ./...)
(cd sdk/go/testsuite && ../../../.venv/bin/go vet ./... && ../../../.venv/bin/go test -count=1 ./...)
target/debug/polyworker-test scenario examples/data-routing-c/tests.json
cargo test --workspace --no-fail-fast "$@"
