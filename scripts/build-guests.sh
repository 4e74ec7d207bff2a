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
js_sdk=sdk/js
mkdir -p target/guests/js
for d in examples/*-js/ examples/*-ts/ tests/fixtures-js/*/; do
  d=${d%/}
  name=$(basename "$d")
  out="target/guests/js/${name}.wasm"
  entry=""
  for e in "$d/src/index.js" "$d/src/index.ts"; do [ -f "$e" ] && entry=$e; done
  if [ -n "$entry" ]; then
    if stale "$out" "$d/src" "$js_sdk/src" "$js_sdk/bin" wit sdk/wit; then
      [ "$js_sdk/node_modules/.package-lock.json" -nt "$js_sdk/package-lock.json" ] ||
        (cd "$js_sdk" && npm install --silent --no-audit --no-fund >&2)
      (cd "$d" && npm install --silent --no-audit --no-fund >&2)
      node "$js_sdk/bin/polyworker-js.mjs" build "$entry" -o "$out"
    fi
    # JavaScript sources also on SpiderMonkey (componentize-js), for the suites.
    sm="target/guests/js/${name}-spidermonkey.wasm"
    if [ "${entry##*.}" = js ] && stale "$sm" "$d/src" "$js_sdk/src" "$js_sdk/bin" wit sdk/wit; then
      node "$js_sdk/bin/polyworker-js.mjs" build "$entry" -o "$sm" --engine spidermonkey
    fi
  elif stale "$out" "$d/activities.js" wit; then
    (cd "$d" && npm install --silent --no-audit --no-fund >&2)
    "$d/node_modules/.bin/componentize-qjs" --sync --wit wit \
      --world polyworker:worker/activity-module --js "$d/activities.js" -o "$out" >/dev/null
  fi
done

# Components from the thin SDKs' build scripts, one output per directory:
#   build_each OUT_DIR MARKER SDK_DIR BUILDER NEEDS_TOOLS DIRS...
# builds each DIR that has a MARKER file into OUT_DIR/<dir name>.wasm when
# its sources, the SDK or the WIT changed. C and Go also need
# polyworker-guest-tools, built only then, so that a test run calling this
# script with nothing to do never waits for cargo's lock.
build_each() {
  local out_dir=$1 marker=$2 sdk=$3 builder=$4 needs_tools=$5
  shift 5
  mkdir -p "$out_dir"
  for d in "$@"; do
    d=${d%/}
    compgen -G "$d/$marker" >/dev/null || continue
    local out
    out="$out_dir/$(basename "$d").wasm"
    if stale "$out" "$d" "$sdk" wit sdk/wit tools/guest-tools/src; then
      [ "$needs_tools" = 0 ] || cargo build --quiet -p polyworker-guest-tools >&2
      "$builder" build "$d" -o "$out"
    fi
  done
}

# Python: an app.py, through componentize-py (from .venv; setup.sh installs it).
build_each target/guests/py app.py sdk/python sdk/python/polyworker-py 0 \
  examples/*-py/ tests/fixtures-py/*/
# C: C files, through zig cc (from .venv) and polyworker-guest-tools.
build_each target/guests/c '*.c' sdk/c sdk/c/polyworker-c 1 \
  examples/*-c/ tests/fixtures-c/*/
# The C SDK fixture once more with DWARF and no optimisation: the replay
# test steps through it in gdb.
if stale target/guests/c/sdk-debug.wasm tests/fixtures-c/sdk sdk/c wit sdk/wit tools/guest-tools/src; then
  cargo build --quiet -p polyworker-guest-tools >&2
  sdk/c/polyworker-c build tests/fixtures-c/sdk -o target/guests/c/sdk-debug.wasm --debug
fi
# Go: Go files of package main, through go (from .venv) and polyworker-guest-tools.
build_each target/guests/go '*.go' sdk/go sdk/go/polyworker-go 1 \
  examples/*-go/ tests/fixtures-go/*/
