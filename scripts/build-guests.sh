#!/usr/bin/env bash
# Builds every guest component (wasm32-wasip2, release) into target/guests.
# Guests get their own target dir under target/ so that a test run can build
# them while cargo holds the lock on the host build.
set -euo pipefail
cd "$(dirname "$0")/.."
guests=(data-routing)
for d in tests/fixtures/*/; do
  [ -f "$d/Cargo.toml" ] && guests+=("$(sed -n 's/^name = "\(.*\)"/\1/p' "$d/Cargo.toml" | head -1)")
done
args=()
for g in "${guests[@]}"; do args+=(-p "$g"); done
cargo build --quiet --release --target wasm32-wasip2 --target-dir target/guests "${args[@]}" >&2
