#!/usr/bin/env bash
# Passes the tests: installs what is missing, builds the guest components,
# then runs every unit and end-to-end test (the e2e tests start their own
# Temporal dev server on a free port). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The JavaScript SDK's own unit tests (node's built-in runner).
node --test guest-sdk/js/test/
cargo test --workspace --no-fail-fast "$@"
