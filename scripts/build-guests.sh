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

# Newer than $1, any of the files under the other arguments?
stale() {
  local out=$1; shift
  [ ! -f "$out" ] || [ -n "$(find "$@" \( -name node_modules -o -name __pycache__ \) -prune -o -type f -newer "$out" -print | head -1)" ]
}

# JavaScript components: examples and fixtures with a src/index.js use the
# JavaScript SDK (esbuild + componentize-qjs); a fixture with activities.js
# implements the WIT interface directly, with no SDK (componentize-qjs alone).
js_sdk=guest-sdk/js
mkdir -p target/guests/js
for d in examples/*-js/ tests/fixtures-js/*/; do
  d=${d%/}
  name=$(basename "$d")
  out="target/guests/js/${name}.wasm"
  if [ -f "$d/src/index.js" ]; then
    if stale "$out" "$d/src" "$js_sdk/src" "$js_sdk/bin" wit guest-sdk/wit; then
      [ "$js_sdk/node_modules/.package-lock.json" -nt "$js_sdk/package-lock.json" ] ||
        (cd "$js_sdk" && npm install --silent --no-audit --no-fund >&2)
      (cd "$d" && npm install --silent --no-audit --no-fund >&2)
      node "$js_sdk/bin/polyworker-js.mjs" build "$d/src/index.js" -o "$out"
    fi
    # The same sources on SpiderMonkey (componentize-js), for the suites.
    sm="target/guests/js/${name}-spidermonkey.wasm"
    if stale "$sm" "$d/src" "$js_sdk/src" "$js_sdk/bin" wit guest-sdk/wit; then
      node "$js_sdk/bin/polyworker-js.mjs" build "$d/src/index.js" -o "$sm" --engine spidermonkey
    fi
  elif stale "$out" "$d/activities.js" wit; then
    (cd "$d" && npm install --silent --no-audit --no-fund >&2)
    "$d/node_modules/.bin/componentize-qjs" --sync --wit wit \
      --world polyworker:worker/activity-module --js "$d/activities.js" -o "$out" >/dev/null
  fi
done

# Python components: examples and fixtures with an app.py, through the Python
# SDK (componentize-py from .venv; scripts/setup.sh installs it).
mkdir -p target/guests/py
for d in examples/*-py/ tests/fixtures-py/*/; do
  d=${d%/}
  [ -f "$d/app.py" ] || continue
  out="target/guests/py/$(basename "$d").wasm"
  if stale "$out" "$d" guest-sdk/python wit guest-sdk/wit; then
    guest-sdk/python/polyworker-py build "$d" -o "$out"
  fi
done

# C components: examples and fixtures of C files, through the C SDK (zig cc
# from .venv, bindings and componentizing by polyworker-guest-tools).
mkdir -p target/guests/c
for d in examples/*-c/ tests/fixtures-c/*/; do
  d=${d%/}
  ls "$d"/*.c >/dev/null 2>&1 || continue
  out="target/guests/c/$(basename "$d").wasm"
  if stale "$out" "$d" guest-sdk/c wit guest-sdk/wit tools/guest-tools/src; then
    cargo build --quiet -p polyworker-guest-tools >&2
    guest-sdk/c/polyworker-c build "$d" -o "$out"
  fi
done

# Go components: examples and fixtures of Go files (package main), through
# the Go SDK (go from .venv, bindings and componentizing by
# polyworker-guest-tools).
mkdir -p target/guests/go
for d in examples/*-go/ tests/fixtures-go/*/; do
  d=${d%/}
  ls "$d"/*.go >/dev/null 2>&1 || continue
  out="target/guests/go/$(basename "$d").wasm"
  if stale "$out" "$d" guest-sdk/go wit guest-sdk/wit tools/guest-tools/src; then
    cargo build --quiet -p polyworker-guest-tools >&2
    guest-sdk/go/polyworker-go build "$d" -o "$out"
  fi
done
